"""Who hears of an alert, and when: pure functions of (alert, routes, what was sent, now).

Routing is Alertmanager's: routes in order, the first match wins unless it says `continue`;
no match: `default`. On top, per subject: maintenance windows (from the registry and the API,
passed in: they change while the routes do not) hold the kinds they name, flap
damping holds a blinking subject's new alerts after one notice, escalation adds the next
audience's channels to an alert left unacknowledged, and repeats remind while it stays so.
Whoever was told of an alert is told of its every change, held or not: nobody is left with
an alert that never ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from alerts.channels import AlertmanagerConfig, Notice, Reason
from alerts.config import FlapPolicy, Match, Routes
from alerts.notify_log import FLAPPING, FlapHistory, NotifyLog, NotifyState
from schemas import Alert, AlertStatus, Audience, MaintenanceWindow


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message to send: this alert, to this channel, for this reason."""

    channel: str
    alert: Alert
    notice: Notice

    @property
    def what(self) -> str:
        """Its key in the notify log: the status, or `flapping` for the notice."""
        return FLAPPING if self.notice.reason is Reason.FLAPPING else self.alert.status.value


def matches(match: Match, alert: Alert, audience: Iterable[Audience] | None = None,
            escalated: bool = False) -> bool:
    """Every field given in `match` holds; `audience` overrides the alert's (escalation)."""
    heard = set(alert.audience if audience is None else audience)
    return ((match.escalated is None or match.escalated == escalated)
            and (not match.audience or bool(heard & set(match.audience)))
            and (not match.zone or alert.zone in match.zone)
            and (not match.kind or alert.kind in match.kind)
            and (not match.severity or alert.severity in match.severity)
            and match.at_least(alert.severity))


def channels_for(alert: Alert, routes: Routes, audience: Iterable[Audience] | None = None,
                 escalated: bool = False) -> list[str]:
    """Channel names in route order, each once."""
    found: list[str] = []
    hit = False
    for rule in routes.routes:
        if matches(rule.match, alert, audience, escalated):
            hit = True
            found += rule.channels
            if not rule.continue_:
                break
    return list(dict.fromkeys(found if hit else routes.default))


def route(alert: Alert, routes: Routes, at: datetime | None = None) -> list[Delivery]:
    """The change deliveries of an alert, one per routed channel."""
    when = at or alert.updated_at
    return [Delivery(ch, alert, Notice(ch, when)) for ch in channels_for(alert, routes)]


def in_maintenance(alert: Alert, windows: Sequence[MaintenanceWindow], now: datetime) -> bool:
    """Planned work on the alert's point or enterprise, now, for the alert's kind."""
    return any(alert.kind in w.kinds and w.on_at(now)
               and ((w.point is not None and w.point == alert.point)
                    or (w.enterprise is not None and w.enterprise == alert.enterprise))
               for w in windows)


def observe(flap: FlapHistory, alert: Alert, policy: FlapPolicy,
            now: datetime) -> tuple[FlapHistory, bool]:
    """Count the alert's opening (once per id); True when this one starts the flapping."""
    window = policy.window_minutes * 60
    since = flap.since if is_flapping(flap, policy, now) else None
    new = alert.id not in flap.opens
    opens = {**flap.opens, alert.id: alert.opened_at.timestamp()}
    newest = max(opens.values())
    opens = {i: t for i, t in opens.items() if t > newest - window}
    starts = new and since is None and len(opens) > policy.max_opens
    return FlapHistory(opens, now.timestamp() if starts else since), starts


def is_flapping(flap: FlapHistory, policy: FlapPolicy, now: datetime) -> bool:
    """Flapping until the subject has not opened for a whole window."""
    if flap.since is None or not flap.opens:
        return False
    return max(flap.opens.values()) > now.timestamp() - policy.window_minutes * 60


def escalations(alert: Alert, routes: Routes, now: datetime,
                told_at: datetime | None = None) -> list[Delivery]:
    """An open alert past a rule's `after_minutes` goes to the `to` audience's channels too.
    The minutes count from `told_at`, when it was first sent (held in maintenance, nobody
    could act on it), else from its opening."""
    if alert.status is not AlertStatus.OPEN:
        return []
    start = max(alert.opened_at, told_at or alert.opened_at)
    base = set(channels_for(alert, routes))
    out: dict[str, Delivery] = {}
    for rule in routes.escalations:
        if now - start < timedelta(minutes=rule.after_minutes):
            continue
        if not matches(rule.match, alert):
            continue
        for ch in channels_for(alert, routes, [*alert.audience, rule.to], escalated=True):
            if ch not in base and ch not in out:
                notice = Notice(ch, now, Reason.ESCALATION, escalated_to=rule.to)
                out[ch] = Delivery(ch, alert, notice)
    return list(out.values())


def due(alert: Alert, state: NotifyState, routes: Routes, now: datetime,
        windows: Sequence[MaintenanceWindow] = ()) -> tuple[NotifyState, list[Delivery]]:
    """What to send now about `alert`, given what was sent and the maintenance `windows`:
    changes not yet sent, a flapping notice, escalations, repeats and refreshes. Records
    nothing: the caller records what it sent (or gave up on) in `state.log`."""
    flap, starts = observe(state.flap, alert, routes.flapping, now)
    state = replace(state.with_alert(alert), flap=flap)
    if state.alert is not None and state.alert.id == alert.id:
        alert = state.alert  # a replayed older status: work from the newest one
    log, told = state.log, state.log.told(alert.id)
    if starts:
        targets = dict.fromkeys([*channels_for(alert, routes), *told])
        return state, [Delivery(ch, alert, Notice(ch, now, Reason.FLAPPING)) for ch in targets
                       if log.get(alert.id, FLAPPING, ch) is None]
    if alert.status is AlertStatus.RESOLVED:
        return state, _changes(alert, log, told, now)
    held = (in_maintenance(alert, windows, now)
            or is_flapping(flap, routes.flapping, now))
    if held and not told:
        return state, []
    targets = list(dict.fromkeys([*channels_for(alert, routes), *told]))
    out = _changes(alert, log, targets, now)
    if not held:
        first = log.first_told(alert.id, AlertStatus.OPEN.value)
        told_at = (datetime.fromtimestamp(first, now.tzinfo) if first is not None
                   else now if out else None)  # first sent now, or routed nowhere
        out += [d for d in escalations(alert, routes, now, told_at) if d.channel not in targets]
        out += _reminders(alert, log, routes, now)
    return state, out


def _changes(alert: Alert, log: NotifyLog, channels: Sequence[str],
             now: datetime) -> list[Delivery]:
    status = alert.status.value
    return [Delivery(ch, alert, Notice(ch, now)) for ch in channels
            if log.get(alert.id, status, ch) is None]


def _reminders(alert: Alert, log: NotifyLog, routes: Routes, now: datetime) -> list[Delivery]:
    """Repeats of an open alert (repeat rules) and Alertmanager refreshes of a live one."""
    repeat = min((r.every_minutes for r in routes.repeat if matches(r.match, alert)),
                 default=None) if alert.status is AlertStatus.OPEN else None
    out = []
    for ch in log.told(alert.id):
        sent = log.get(alert.id, alert.status.value, ch)
        if sent is None or sent.dead:
            continue
        idle = (now.timestamp() - sent.at) / 60
        config = routes.channels.get(ch)
        resend = config.resend_minutes if isinstance(config, AlertmanagerConfig) else None
        reason = (Reason.REPEAT if repeat is not None and idle >= repeat
                  else Reason.REFRESH if resend is not None and idle >= resend else None)
        if reason is not None:
            out.append(Delivery(ch, alert, Notice(ch, now, reason, seq=sent.count)))
    return out
