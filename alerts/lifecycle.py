"""The alert lifecycle, open → acknowledged → resolved, as pure functions and a small book.

No I/O and no clock of its own: every function takes `now`, so the worker drives it from event
time or its timer, and tests never sleep. Each transition returns the new frozen `Alert` and a
`Change`, or None when nothing changed, so the caller stores and publishes real changes only,
each exactly once (SPEC "Alerts").

One alert per incident: its id is a hash of (kind, subject, incident start), the same on every
worker and after every restart, and `AlertBook` keeps at most one live alert per (kind, subject),
so a gap seen again (a replay, a rebalance, a timer firing twice) raises nothing new.

Times: pass aware datetimes (any zone) or epoch seconds; alerts store UTC. Clocks of different
workers may disagree a little, so a transition never moves an alert's times backwards.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from alerts.exceptions import (
    AlreadyResolvedError,
    BadEntryError,
    InvalidInputError,
    UnknownAlertError,
)
from schemas import (
    Alert,
    AlertKind,
    AlertStatus,
    Audience,
    Domain,
    Enterprise,
    Point,
    Severity,
    Summary,
)

Instant = datetime | float
"""An aware datetime, or epoch seconds as the stream processor keeps them."""

SYSTEM_ZONE = "_system"
"""Zone of alerts about zonewatch itself; registry ids cannot start with `_`, so no clash."""

_K, _S, _A = AlertKind, Severity, Audience

_PREFIX: Mapping[AlertKind, str] = {
    _K.DATA_GAP: "dg", _K.INVALID_DATA: "iv", _K.EXCEEDANCE: "ex", _K.SUSPECT_DATA: "sd",
    _K.PLATFORM_OFFLINE: "po", _K.ASSESSMENT_MISSING: "am", _K.ASSESSMENT_EXPIRING: "ae",
    _K.HAZARD_OVERDUE: "ho", _K.COVERAGE_BELOW_TARGET: "cb", _K.PIPELINE_STALLED: "ps",
}
"""Per-kind id prefix, so a person reading `dg-…` in a URL knows what it is about."""


def alert_id(kind: AlertKind, subject: str, incident_start: Instant | None,
             after: str | None = None) -> str:
    """The id of one incident: the same on every worker and after every restart.

    `after` is the id of the resolved alert of the same (kind, subject) that this one follows:
    chaining on it keeps ids unique even when an incident's start repeats an earlier one (a gap
    that comes back after being cleared, a hazard deadline moved back), and it is as stable as
    the book every worker shares. 16 hex digits (64 bits) keep the odds of any collision among
    a million alerts near 1 in 30 million, and stay short in URLs.
    """
    start = "-" if incident_start is None else _utc(incident_start).isoformat()
    parts = [AlertKind(kind).value, subject, start, *([after] if after else [])]
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
    return f"{_PREFIX[AlertKind(kind)]}-{digest}"


def entry_key(kind: AlertKind, subject: str) -> str:
    """Key of the book entry and of the Faust table row: `kind:subject`."""
    return f"{AlertKind(kind).value}:{subject}"


class Scope(StrEnum):
    """What kind of subject an alert is about, beside its kind: decides severity and audience."""

    ENV_COUNTED = "env_counted"
    """An environment point that counts toward coverage: required, of a key polluter."""
    ENV_OTHER = "env_other"
    SAFETY_GAS = "safety_gas"
    """A gas detector: while it is silent or stuck, a leak goes unseen."""
    SAFETY_OTHER = "safety_other"
    NONE = "none"
    """Not a point: a platform, enterprise, hazard, zone or pipeline stage."""


GAS_KINDS = frozenset({"gas_detector"})
"""Point kinds (registry `kind`) that are gas detectors."""


@dataclass(frozen=True, slots=True)
class Policy:
    severity: Severity
    audience: tuple[Audience, ...]


_ENV = (_A.ECOLOGY, _A.ZONE)
_SAFE = (_A.EMERGENCY, _A.ZONE)
_OPS = (_A.OPERATOR,)

POLICY: Mapping[tuple[AlertKind, Scope], Policy] = {
    (_K.DATA_GAP, Scope.ENV_COUNTED): Policy(_S.WARNING, _ENV),
    (_K.DATA_GAP, Scope.ENV_OTHER): Policy(_S.INFO, _ENV),
    (_K.DATA_GAP, Scope.SAFETY_GAS): Policy(_S.CRITICAL, _SAFE),
    (_K.DATA_GAP, Scope.SAFETY_OTHER): Policy(_S.WARNING, _SAFE),
    (_K.INVALID_DATA, Scope.ENV_COUNTED): Policy(_S.WARNING, _ENV),
    (_K.INVALID_DATA, Scope.ENV_OTHER): Policy(_S.INFO, _ENV),
    (_K.INVALID_DATA, Scope.SAFETY_GAS): Policy(_S.CRITICAL, _SAFE),
    (_K.INVALID_DATA, Scope.SAFETY_OTHER): Policy(_S.WARNING, _SAFE),
    (_K.EXCEEDANCE, Scope.ENV_COUNTED): Policy(_S.WARNING, _ENV),
    (_K.EXCEEDANCE, Scope.ENV_OTHER): Policy(_S.WARNING, _ENV),
    (_K.EXCEEDANCE, Scope.SAFETY_GAS): Policy(_S.CRITICAL, _SAFE),
    (_K.EXCEEDANCE, Scope.SAFETY_OTHER): Policy(_S.CRITICAL, _SAFE),
    (_K.SUSPECT_DATA, Scope.ENV_COUNTED): Policy(_S.INFO, _ENV),
    (_K.SUSPECT_DATA, Scope.ENV_OTHER): Policy(_S.INFO, _ENV),
    (_K.SUSPECT_DATA, Scope.SAFETY_GAS): Policy(_S.WARNING, _SAFE),
    (_K.SUSPECT_DATA, Scope.SAFETY_OTHER): Policy(_S.INFO, _SAFE),
    (_K.PLATFORM_OFFLINE, Scope.NONE): Policy(_S.CRITICAL, _SAFE),
    (_K.ASSESSMENT_MISSING, Scope.NONE): Policy(_S.WARNING, _SAFE),
    (_K.ASSESSMENT_EXPIRING, Scope.NONE): Policy(_S.INFO, _SAFE),
    (_K.HAZARD_OVERDUE, Scope.NONE): Policy(_S.CRITICAL, _SAFE),
    (_K.COVERAGE_BELOW_TARGET, Scope.NONE): Policy(_S.WARNING, _ENV),
    (_K.PIPELINE_STALLED, Scope.NONE): Policy(_S.CRITICAL, _OPS),
}
"""Default severity and audience: the whole policy, in one place (SPEC "Users")."""


def policy(kind: AlertKind, scope: Scope = Scope.NONE) -> Policy:
    """The row of `POLICY`; point kinds need the point's scope (see `scope_of`)."""
    try:
        return POLICY[(AlertKind(kind), Scope(scope))]
    except (KeyError, ValueError):
        raise InvalidInputError(f"no alert policy for kind {kind!r} about {scope!r}; point "
                                "kinds need the point's scope, others Scope.NONE") from None


def scope_of(point: Point, key_polluter: bool) -> Scope:
    """The scope of a point alert, from the registry: domain, kind, and whether it is counted."""
    if point.domain == Domain.SAFETY:
        return Scope.SAFETY_GAS if point.kind in GAS_KINDS else Scope.SAFETY_OTHER
    return Scope.ENV_COUNTED if point.required and key_polluter else Scope.ENV_OTHER


@dataclass(frozen=True, slots=True)
class Incident:
    """What is wrong, about what, since when: everything that identifies one alert.

    `subject` is the id the alert is about, unique within its kind: a point (`point/factor`
    for per-factor kinds), platform, enterprise, hazard, zone or pipeline stage. `start` is the
    event time the incident began, e.g. the last valid reading before a gap; None if unknown.
    """

    kind: AlertKind
    subject: str
    zone: str
    start: Instant | None = None
    enterprise: str | None = None
    point: str | None = None
    factor: str | None = None
    scope: Scope = Scope.NONE

    def __post_init__(self) -> None:
        if not self.subject or not self.zone:
            raise InvalidInputError("an incident needs a subject and a zone")
        try:
            object.__setattr__(self, "kind", AlertKind(self.kind))
        except ValueError:
            raise InvalidInputError(f"unknown alert kind {self.kind!r}") from None
        if self.start is not None:
            object.__setattr__(self, "start", _utc(self.start))

    @classmethod
    def at_point(cls, kind: AlertKind, point: Point, enterprise: Enterprise,
                 start: Instant | None, factor: str | None = None) -> Incident:
        """An incident of a registry point, or of one of its factors (exceedance, suspect)."""
        subject = point.id if factor is None else f"{point.id}/{factor}"
        return cls(kind, subject, enterprise.zone, start, enterprise.id, point.id, factor,
                   scope_of(point, enterprise.key_polluter))

    @property
    def key(self) -> str:
        return entry_key(self.kind, self.subject)


@dataclass(frozen=True, slots=True)
class Change:
    """One real status change: store `entry()` under `key`, publish `alert`, once."""

    alert: Alert
    previous: AlertStatus | None
    """The status before; None when the alert was just opened."""

    @property
    def key(self) -> str:
        return entry_key(self.alert.kind, _subject(self.alert))

    def entry(self) -> dict[str, Any]:
        return to_entry(self.alert)


def open_alert(incident: Incident, summary: Summary, now: Instant, *, after: str | None = None,
               severity: Severity | None = None,
               audience: Iterable[Audience] | None = None) -> Alert:
    """A new open alert; severity and audience default to `POLICY`. See `alert_id` for `after`."""
    at = _utc(now)
    rule = policy(incident.kind, incident.scope)
    since = None if incident.start is None else _utc(incident.start)
    return Alert(
        id=alert_id(incident.kind, incident.subject, since, after), kind=incident.kind,
        status=AlertStatus.OPEN, severity=severity or rule.severity, zone=incident.zone,
        enterprise=incident.enterprise, point=incident.point, opened_at=at, updated_at=at,
        summary=summary, audience=list(rule.audience if audience is None else audience),
        subject=incident.subject, since=since, factor=incident.factor,
    )


def acknowledge(alert: Alert, by: str, now: Instant) -> tuple[Alert, Change | None]:
    """Record who took the alert in hand, and when. Again: no change (the first ack stands).
    A resolved alert cannot be acknowledged: `AlreadyResolvedError`."""
    who = by.strip()
    if not who:
        raise InvalidInputError("acknowledging needs who: `by` is empty")
    if alert.status is AlertStatus.RESOLVED:
        raise AlreadyResolvedError(alert.id, alert.resolved_at)
    if alert.status is AlertStatus.ACKNOWLEDGED:
        return alert, None
    at = _not_before(alert, now)
    new = alert.model_copy(update={"status": AlertStatus.ACKNOWLEDGED, "acknowledged_by": who,
                                   "acknowledged_at": at, "updated_at": at})
    return new, Change(new, alert.status)


def resolve(alert: Alert, now: Instant) -> tuple[Alert, Change | None]:
    """Close the alert, from open or acknowledged; resolving again changes nothing."""
    if alert.status is AlertStatus.RESOLVED:
        return alert, None
    at = _not_before(alert, now)
    new = alert.model_copy(update={"status": AlertStatus.RESOLVED, "resolved_at": at,
                                   "updated_at": at})
    return new, Change(new, alert.status)


def to_entry(alert: Alert) -> dict[str, Any]:
    """The book entry / table value: the alert as JSON-able data."""
    return alert.model_dump(mode="json")


def from_entry(key: str, entry: Mapping[str, Any]) -> Alert:
    """The inverse of `to_entry`, checked against its key: `BadEntryError` if it does not fit."""
    try:
        alert = Alert.model_validate(entry)
    except ValidationError as e:
        raise BadEntryError(key, str(e).splitlines()[0]) from e
    if entry_key(alert.kind, _subject(alert)) != key:
        raise BadEntryError(key, f"it is {entry_key(alert.kind, _subject(alert))!r}")
    if alert.updated_at.tzinfo is None:
        raise BadEntryError(key, "its times are naive")
    return alert


class AlertBook:
    """The alerts of one worker: per (kind, subject) the live alert or, once resolved, the last.

    Keeping the resolved one lets an ack of it fail clearly, and the next incident's id chains
    on it (see `alert_id`), so no id is ever reused. The worker mirrors the book in a Faust
    table: `change.entry()` under `change.key` for each change, `from_dicts(table)` after a
    restart or rebalance.
    """

    def __init__(self, alerts: Iterable[Alert] = ()) -> None:
        self._by_key: dict[str, Alert] = {}
        self._key_of: dict[str, str] = {}
        for alert in alerts:
            self._put(alert)

    def raise_(self, incident: Incident, summary: Summary, now: Instant, *,
               severity: Severity | None = None) -> Change | None:
        """Open an alert for the incident, unless one for its (kind, subject) is live: then
        None, however often the signal repeats and whatever start it now reports."""
        current = self._by_key.get(incident.key)
        if current is not None and current.status is not AlertStatus.RESOLVED:
            return None
        after = None if current is None else current.id
        alert = open_alert(incident, summary, now, severity=severity, after=after)
        self._put(alert)
        return Change(alert, None)

    def clear(self, kind: AlertKind, subject: str, now: Instant) -> Change | None:
        """Resolve the live alert of (kind, subject), if there is one."""
        current = self._by_key.get(entry_key(kind, subject))
        if current is None:
            return None
        new, change = resolve(current, now)
        self._put(new)
        return change

    def ack(self, alert_id: str, by: str, now: Instant) -> Change | None:
        """Acknowledge by id (the API's path). Unknown id: `UnknownAlertError`."""
        current = self.get(alert_id)
        if current is None:
            raise UnknownAlertError(alert_id)
        new, change = acknowledge(current, by, now)
        self._put(new)
        return change

    def get(self, alert_id: str) -> Alert | None:
        key = self._key_of.get(alert_id)
        return None if key is None else self._by_key[key]

    def open(self) -> list[Alert]:
        """Live alerts (open or acknowledged), oldest first."""
        live = [a for a in self._by_key.values() if a.status is not AlertStatus.RESOLVED]
        return sorted(live, key=lambda a: (a.opened_at, a.id))

    def prune(self, resolved_before: Instant) -> list[str]:
        """Forget alerts resolved before the given time; returns their keys, to delete from the
        table. Bounds the state; the next incident of such a key starts a new chain of ids,
        which repeats an old id only if it starts exactly when the key's first incident did."""
        cutoff = _utc(resolved_before)
        keys = [k for k, a in self._by_key.items()
                if a.resolved_at is not None and a.resolved_at < cutoff]
        for key in keys:
            del self._key_of[self._by_key.pop(key).id]
        return keys

    def to_dicts(self) -> dict[str, dict[str, Any]]:
        return {key: to_entry(alert) for key, alert in self._by_key.items()}

    @classmethod
    def from_dicts(cls, entries: Mapping[str, Mapping[str, Any]]) -> AlertBook:
        """Rebuild from stored entries (`BadEntryError` names a bad one)."""
        return cls(from_entry(key, entry) for key, entry in entries.items())

    def __len__(self) -> int:
        return len(self._by_key)

    def _put(self, alert: Alert) -> None:
        key = entry_key(alert.kind, _subject(alert))
        old = self._by_key.get(key)
        if old is not None and old.id != alert.id:
            self._key_of.pop(old.id, None)
        self._by_key[key] = alert
        self._key_of[alert.id] = key


def _subject(alert: Alert) -> str:
    """Alerts built here always carry a subject; older ones fall back to what they name."""
    return alert.subject or alert.point or alert.enterprise or alert.zone


def _not_before(alert: Alert, now: Instant) -> datetime:
    """`now`, but never before the alert's last change: its record reads in order."""
    return max(_utc(now), alert.updated_at)


def _utc(t: Instant) -> datetime:
    """An aware datetime in UTC; naive datetimes are refused, their zone is a guess."""
    if isinstance(t, datetime):
        if t.tzinfo is None or t.utcoffset() is None:
            raise InvalidInputError(f"naive datetime {t.isoformat()}: give it a time zone")
        return t.astimezone(UTC)
    if isinstance(t, int | float) and not isinstance(t, bool):
        try:
            return datetime.fromtimestamp(t, UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidInputError(f"not a usable epoch time: {t!r}") from None
    raise InvalidInputError(f"expected a datetime or epoch seconds, got {t!r}")
