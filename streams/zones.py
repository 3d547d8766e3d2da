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
from schemas.pipeline import AlertSignal, PointStatusChange, instant
from streams.coverage import RegistryView, ZoneCoverage

EXPIRING_S = 30 * 86400
"""An assessment that lapses within this is `assessment_expiring`."""


def apply_status(table: dict | Any, change: PointStatusChange) -> None:
    since = change.since.timestamp() if change.since else None
    table[change.point.encode()] = [change.status, since]


def apply_event(beats: Any, assessments: Any, hazards: Any, event: SafetyEvent) -> None:
    """Fold one safety event into its table; older news never overwrites newer, by the
    event's own time: a heartbeat's and a hazard's `ts`; of two completed assessments the
    later `completed_at` (news without one carries no time of its own: the last to arrive
    stands, but an assessment in progress, a renewal, never displaces a completed one).
    Platforms resend after an outage, so the last to arrive is not the latest."""
    if event.heartbeat is not None:
        hb = event.heartbeat
        key = hb.platform.encode()
        beats[key] = max(beats.get(key) or 0.0, hb.ts.timestamp())
    elif event.assessment is not None:
        a = event.assessment
        key = a.enterprise.encode()
        at = a.completed_at.timestamp() if a.completed_at else None
        held = assessments.get(key)
        renewing = a.status is AssessmentStatus.IN_PROGRESS and bool(held) and \
            held[0] == AssessmentStatus.COMPLETED  # the completed one holds until it lapses
        if not renewing and (at is None or _not_older(
                at, held[2] if held and len(held) > 2 else None)):
            assessments[key] = [a.status.value,
                                a.valid_until.timestamp() if a.valid_until else None, at]
    elif event.hazard is not None:
        h = event.hazard
        key = h.id.encode()
        held = hazards.get(key)
        if _not_older(h.ts.timestamp(), held.get("ts") if held else None):
            hazards[key] = {
                "enterprise": h.enterprise, "zone": event.zone, "status": h.status.value,
                "ts": h.ts.timestamp(), "due": h.due.timestamp() if h.due else None}


def _not_older(at: float, held_at: float | None) -> bool:
    """Whether news of time `at` may replace what is held (of `held_at`; None: unknown)."""
    return held_at is None or at >= held_at


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
        status, until = (assessments.get(e) or [None, None])[:2]
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


Said = dict[str, set[tuple[str, str]]]
"""Per zone owned, the (kind, subject) of each incident the board has said is open."""


def diff_signals(wanted: list[Wanted], said: Said, zones: Iterable[str],
                 candidates: Iterable[tuple[AlertKind, str, str]], at: datetime
                 ) -> tuple[list[AlertSignal], Said]:
    """Per zone owned: raise what is wanted and not yet said; clear what was said and is no
    longer wanted.

    A zone with nothing said yet (a fresh worker, a zone just gained) clears each of its
    `candidates` that is not wanted: it may have been raised before, here or by the zone's
    previous owner, and the book ignores a clear of what is not open (and a raise of what is).
    Zones no longer owned are forgotten, never cleared: their incidents are their new
    owner's, and a clear from here would resolve an alert the new owner raises again under
    a new id."""
    now: Said = {z: set() for z in zones}
    for w in wanted:
        now.setdefault(w.zone, set()).add((w.kind.value, w.subject))
    signals = [_raise(w, at) for w in wanted
               if (w.kind.value, w.subject) not in said.get(w.zone, ())]
    held = {key for keys in now.values() for key in keys}  # a subject moved zones stays
    stale = sorted({(z, k.value, s) for k, s, z in candidates
                    if z in now and z not in said and (k.value, s) not in held} |
                   {(z, k, s) for z in now if z in said for k, s in said[z] - held})
    signals += [AlertSignal(op="clear", kind=k, subject=s, zone=z, at=at) for z, k, s in stale]
    return signals, now


def _raise(w: Wanted, at: datetime) -> AlertSignal:
    return AlertSignal(op="raise", kind=w.kind.value, subject=w.subject, zone=w.zone,
                       enterprise=w.enterprise, incident_start=instant(w.start), at=at,
                       detail=dict(w.detail))
