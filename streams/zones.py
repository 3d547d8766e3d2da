"""Zone state (point statuses, heartbeats, assessments, hazards) and what follows from it.

Fed by `zw.point-status` and `zw.events`, both keyed by zone, so one worker holds a whole
zone. A timer turns the state into coverage figures and into the zone-level alerts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas import AlertKind, SafetyEvent
from schemas.events import AssessmentStatus, HazardStatus
from schemas.pipeline import AlertSignal, PointStatusChange
from streams.coverage import RegistryView, ZoneCoverage

EXPIRING_S = 30 * 86400
"""An assessment that lapses within this is `assessment_expiring`."""


def apply_status(table: dict | Any, change: PointStatusChange) -> None:
    since = change.since.timestamp() if change.since else None
    table[change.point.encode()] = [change.status, since]


def apply_event(beats: Any, assessments: Any, hazards: Any, event: SafetyEvent) -> None:
    """Fold one safety event into its table; older news never overwrites newer."""
    if event.heartbeat is not None:
        hb = event.heartbeat
        key = hb.platform.encode()
        beats[key] = max(beats.get(key) or 0.0, hb.ts.timestamp())
    elif event.assessment is not None:
        a = event.assessment
        assessments[a.enterprise.encode()] = [a.status.value,
                                     a.valid_until.timestamp() if a.valid_until else None]
    elif event.hazard is not None:
        h = event.hazard
        hazards[h.id.encode()] = {
            "enterprise": h.enterprise, "zone": event.zone, "status": h.status.value,
            "ts": h.ts.timestamp(), "due": h.due.timestamp() if h.due else None}


@dataclass(frozen=True, slots=True)
class Wanted:
    """An incident that should be open now."""

    kind: AlertKind
    subject: str
    zone: str
    enterprise: str | None = None
    start: float | None = None
    detail: tuple[tuple[str, float | str | None], ...] = ()


def wanted_incidents(view: RegistryView, cov: ZoneCoverage, beats: Mapping[str, float],
                     assessments: Mapping[str, list], hazards: Mapping[str, dict[str, Any]],
                     now: float) -> list[Wanted]:
    """Every zone-level incident that holds at `now` for one zone."""
    z = cov.zone
    offline = set(cov.platforms_offline)
    out = [Wanted(AlertKind.PLATFORM_OFFLINE, p.id, z, start=beats.get(p.id),
                  detail=(("threshold_s", p.threshold_s),))
           for p in view.platforms.get(z, ()) if p.id in offline]
    for e in cov.unassessed:
        out.append(Wanted(AlertKind.ASSESSMENT_MISSING, e, z, e))
    for e in view.assessed.get(z, ()):
        status, until = (assessments.get(e) or [None, None])
        if status == AssessmentStatus.COMPLETED and until and now < until < now + EXPIRING_S:
            out.append(Wanted(AlertKind.ASSESSMENT_EXPIRING, e, z, e, until,
                              (("due", datetime.fromtimestamp(until, UTC).isoformat()),)))
    for hid, h in hazards.items():
        if h["zone"] == z and h["status"] == HazardStatus.REPORTED and h["due"] \
                and h["due"] <= now:
            out.append(Wanted(AlertKind.HAZARD_OVERDUE, hid, z, h["enterprise"], h["due"]))
    if cov.monitoring.value is not None and cov.monitoring.value < 1:
        out.append(Wanted(AlertKind.COVERAGE_BELOW_TARGET, z, z, detail=(
            ("covered", cov.monitoring.ok), ("total", cov.monitoring.total))))
    return out


def dark_json(cov: ZoneCoverage) -> str:
    """The dark and excused units with their points, for the zone page and the report."""
    def units(us: Iterable) -> list[dict[str, Any]]:
        return [{"enterprise": u.enterprise, "points": {p: s.value for p, s in u.points.items()}}
                for u in us]
    return json.dumps({"dark": units(cov.dark_units), "excused": units(cov.excused_units),
                       "unassessed": list(cov.unassessed),
                       "platforms_offline": list(cov.platforms_offline)}, ensure_ascii=False)


def diff_signals(wanted: list[Wanted], said: set[tuple[str, str]] | None,
                 candidates: Iterable[tuple[AlertKind, str, str]], at: datetime
                 ) -> tuple[list[AlertSignal], set[tuple[str, str]]]:
    """Raise what is wanted and not yet said; clear what was said and is no longer wanted.
    With nothing said yet (a fresh worker), clear every candidate that is not wanted: the
    book ignores a clear of what is not open."""
    now_keys = {(w.kind.value, w.subject) for w in wanted}
    already = said or set()
    signals = [_raise(w, at) for w in wanted if (w.kind.value, w.subject) not in already]
    stale = ({(k.value, s) for k, s, _ in candidates} if said is None else said) - now_keys
    zone_of = {(k.value, s): z for k, s, z in candidates if (k.value, s) in stale} \
        if stale else {}
    signals += [AlertSignal(op="clear", kind=k, subject=s, zone=zone_of.get((k, s), ""), at=at)
                for k, s in sorted(stale)]
    return signals, now_keys


def _raise(w: Wanted, at: datetime) -> AlertSignal:
    start = None if w.start is None else datetime.fromtimestamp(w.start, UTC)
    return AlertSignal(op="raise", kind=w.kind.value, subject=w.subject, zone=w.zone,
                       enterprise=w.enterprise, incident_start=start, at=at,
                       detail=dict(w.detail))
