"""The notification log: what was sent to which channel for which (alert id, status), kept per
subject with the subject's latest alert and its recent opens (for flap damping).

Pure data, serialisable to a dict: the worker keeps one `NotifyState` per subject in a Faust
table, so dedup survives restarts and rebalances. Like Alertmanager's nflog, it is written after
the send, so a crash in between sends again (at-least-once; payloads carry id and status).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from schemas import Alert, AlertStatus

FLAPPING = "flapping"
"""The `what` of a flapping notice, beside the statuses."""

Key = tuple[str, str, str]
"""(alert id, what: a status or `flapping`, channel)."""


@dataclass(frozen=True, slots=True)
class Sent:
    at: float
    """Epoch seconds of the last send: repeats count from here."""
    count: int = 1
    """Sends so far: the first, then each repeat or refresh."""
    reason: str = "change"
    dead: bool = False
    """The last send gave up (dead letter): not retried, but the channel counts as told."""
    first: float | None = None
    """Epoch seconds of the first send; None: same as `at`."""


@dataclass(frozen=True, slots=True)
class NotifyLog:
    entries: Mapping[Key, Sent] = field(default_factory=dict)

    def get(self, alert_id: str, what: str, channel: str) -> Sent | None:
        return self.entries.get((alert_id, what, channel))

    def told(self, alert_id: str) -> list[str]:
        """Channels that heard anything of this alert, in the order they first did."""
        return list(dict.fromkeys(ch for (i, _, ch) in self.entries if i == alert_id))

    def first_told(self, alert_id: str, what: str) -> float | None:
        """When any channel was first sent this (alert, what): escalation counts from here."""
        return min((s.first or s.at for (i, w, _), s in self.entries.items()
                    if i == alert_id and w == what), default=None)

    def record(self, alert_id: str, what: str, channel: str, at: float, reason: str,
               dead: bool = False) -> NotifyLog:
        old = self.get(alert_id, what, channel)
        first = at if old is None else old.first or old.at
        sent = Sent(at, 1 if old is None else old.count + 1, reason, dead, first)
        return NotifyLog({**self.entries, (alert_id, what, channel): sent})

    def prune(self, keep: str | None) -> NotifyLog:
        """Forget other alerts once every channel told of them was told they resolved."""
        done = {i for (i, _, _) in self.entries if i != keep and self._settled(i)}
        return NotifyLog({k: v for k, v in self.entries.items() if k[0] not in done})

    def _settled(self, alert_id: str) -> bool:
        resolved = AlertStatus.RESOLVED.value
        return all(self.get(alert_id, resolved, ch) is not None for ch in self.told(alert_id))

    def to_dict(self) -> dict[str, Any]:
        """`{id: {what: {channel: {at, n, reason, dead}}}}`: JSON-able."""
        out: dict[str, Any] = {}
        for (alert_id, what, channel), s in self.entries.items():
            out.setdefault(alert_id, {}).setdefault(what, {})[channel] = {
                "at": s.at, "n": s.count, "reason": s.reason, "dead": s.dead,
                "first": s.first}
        return out

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> NotifyLog:
        return cls({(alert_id, what, channel): Sent(s["at"], s["n"], s["reason"], s["dead"],
                                                          s.get("first"))
                    for alert_id, whats in doc.items() for what, chans in whats.items()
                    for channel, s in chans.items()})


@dataclass(frozen=True, slots=True)
class FlapHistory:
    opens: Mapping[str, float] = field(default_factory=dict)
    """Recent alert ids of the subject → their opened_at, epoch seconds."""
    since: float | None = None
    """When the subject started flapping; None when it is not."""


@dataclass(frozen=True, slots=True)
class NotifyState:
    """Everything delivery remembers about one subject (one alert-book key)."""

    alert: Alert | None = None
    """The subject's latest alert: the timer re-checks it for repeats and escalations."""
    log: NotifyLog = field(default_factory=NotifyLog)
    flap: FlapHistory = field(default_factory=FlapHistory)

    def with_alert(self, alert: Alert) -> NotifyState:
        """Keep the newest alert; a stale change (an older incident, an older status) does not
        replace it."""
        old = self.alert
        if old is not None and (old.opened_at, old.updated_at) > (alert.opened_at,
                                                                  alert.updated_at):
            return self
        return replace(self, alert=alert)

    def expired(self, now: datetime, keep_s: float) -> bool:
        """Resolved longer than `keep_s` ago (keep it ≥ the flap window): safe to delete."""
        a = self.alert
        return a is None or (a.resolved_at is not None
                             and (now - a.resolved_at).total_seconds() > keep_s)

    def to_dict(self) -> dict[str, Any]:
        return {"alert": None if self.alert is None else self.alert.model_dump(mode="json"),
                "log": self.log.to_dict(),
                "flap": {"opens": dict(self.flap.opens), "since": self.flap.since}}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any] | None) -> NotifyState:
        """The inverse of `to_dict`; None (no row yet) is the empty state."""
        if not doc:
            return cls()
        alert = None if doc.get("alert") is None else Alert.model_validate(doc["alert"])
        flap = doc.get("flap") or {}
        return cls(alert, NotifyLog.from_dict(doc.get("log") or {}),
                   FlapHistory(dict(flap.get("opens") or {}), flap.get("since")))
