"""Gather one zone's report from InfluxDB into a pure `ReportData`.

Each part comes from the source that is right about it:

- The three rates come from the `coverage` figures: what the worker judged live and the bureaus
  saw. Each figure counts for as long as it held (until the next, at most `HOLD_S`), so a burst
  of changes does not outweigh a quiet day, and time without figures (no worker) is reported as
  such rather than stretched.
- How long units and points were not online comes from the stored readings (`timeline.py`), not
  from the `dark_json` history of `coverage`. That history is sampled (about once a minute), has
  holes while no worker ran, and is never rewritten: a device's resend (HJ 212 补发) leaves a
  unit "dark" there although its data is now complete. SPEC says figures for the past are
  corrected by late data, so the readings decide, to the second; what was filled late is shown
  beside, from `query.completeness` (on time / filled late / missing per interval). The rate
  rebuilt from the readings is shown next to the live one.
- The alerts are those alive during the period, each as it stood at the period's end, so the
  report on a past month reads the same whenever it is made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from schemas import Registry
from schemas.registry_check import registry_digest
from streams.coverage import Completeness, RegistryView
from zonewatch import query
from zonewatch.report.model import (
    MEASURES,
    Day,
    Figure,
    PointRow,
    ReportData,
    UnitRow,
)
from zonewatch.report.period import Period, local_date
from zonewatch.report.timeline import Segment, Timelines, shortfall, unit_segments

HOLD_S = 300
"""A coverage figure holds until the next one, but for no longer than this (5 × the worker's
one-minute write)."""

Progress = Callable[[str], None]


def gather(api: Any, bucket: str, registry: Registry, zone: str, period: Period,
           now: datetime, progress: Progress = lambda _: None) -> ReportData:
    """Read everything the report shows; `api` is influxdb-client's sync QueryApi."""
    zone_points = {p.id: p for p in registry.points if registry.zone_of_point(p) == zone}
    progress("coverage figures")
    days = query.execute(api, query.coverage_days_query(bucket, zone, period.start, period.end,
                                                        HOLD_S))
    last = query.execute(api, query.coverage_at_query(bucket, zone, period.start, period.end))
    timelines, completeness = _scan(api, bucket, registry, zone, period, zone_points, progress)
    progress("alerts")
    alerts = query.execute(api, query.alerts_during_query(bucket, zone, period.start,
                                                          period.end))
    at_end = last.get(zone)
    segments = {pid: timelines.segments(pid, period.start.timestamp(), period.end.timestamp())
                for pid in zone_points}
    units = _units(registry, zone, period, segments, completeness)
    z = registry.zone_by_id[zone]
    return ReportData(
        zone=zone, zone_name=z.name, zone_name_en=z.name_en, period=period,
        generated_at=now, registry_digest=registry_digest(registry),
        figures=_figures(registry, zone, days, at_end.rates if at_end else {}),
        recomputed_rate=_recomputed(units, period.seconds), days=_days(period, days),
        completeness=completeness.total if completeness.total.expected else None,
        units=units, points=_points(registry, zone_points, segments, completeness, period),
        unassessed=tuple(at_end.gaps["unassessed"]) if at_end else (),
        platforms_offline=tuple(at_end.gaps["platforms_offline"]) if at_end else (),
        alerts=tuple(alerts), names=_names(registry, zone))


def _scan(api: Any, bucket: str, registry: Registry, zone: str, period: Period,
          zone_points: Mapping[str, Any], progress: Progress
          ) -> tuple[Timelines, query.ZoneCompleteness]:
    """Read the readings once, chunk by chunk: completeness and the timelines together."""
    longest = max((p.threshold_s for p in zone_points.values()), default=60)
    before = query.execute(api, query.last_valid_before_query(bucket, zone, period.start,
                                                              longest))
    timelines = Timelines(zone_points, {k: t.timestamp() for k, t in before.items()})
    parts = []
    chunks = list(period.chunks())
    for i, (start, end) in enumerate(chunks, 1):
        progress(f"readings {local_date(start)} … ({i}/{len(chunks)})")
        parts.append(query.scan_period(api, bucket, registry, zone, start, end, timelines))
        timelines.end_chunk()
    return timelines, query.merge_completeness(parts)


def _figures(registry: Registry, zone: str, days: Mapping[str, Mapping[datetime, tuple]],
             at_end: Mapping[str, float | None]) -> tuple[Figure, ...]:
    view = RegistryView.of(registry)
    registered = {"monitoring_rate": len(view.units.get(zone, {})),
                  "assessment_rate": len(view.assessed.get(zone, ())),
                  "platform_rate": len(view.platforms.get(zone, ()))}
    out = []
    for m in MEASURES:
        cells = list(days.get(m, {}).values())
        seconds = sum(c[1] for c in cells)
        average = sum(c[0] for c in cells) / seconds if seconds else None
        low = min((c[2] for c in cells if c[1] > 0), default=None)
        out.append(Figure(m, registered[m], average, low, at_end.get(m), seconds))
    return tuple(out)


def _days(period: Period, days: Mapping[str, Mapping[datetime, tuple]]) -> tuple[Day, ...]:
    by_date = {m: {local_date(k): v for k, v in days.get(m, {}).items()} for m in MEASURES}
    out = []
    for start in period.day_starts():
        d = local_date(start)
        cells = {m: by_date[m].get(d) for m in MEASURES}
        out.append(Day(d, {m: c[0] / c[1] if c and c[1] else None for m, c in cells.items()},
                       {m: c[2] if c and c[1] else None for m, c in cells.items()}))
    return tuple(out)


def _units(registry: Registry, zone: str, period: Period, segments: Mapping[str, list[Segment]],
           completeness: query.ZoneCompleteness) -> tuple[UnitRow, ...]:
    start, end = period.start.timestamp(), period.end.timestamp()
    rows = []
    for ent, points in RegistryView.of(registry).units.get(zone, {}).items():
        required = [p.id for p in points if p.required]
        segs = unit_segments([segments[pid] for pid in required], start, end)
        parts = [completeness.points[pid] for pid in required if pid in completeness.points]
        rows.append(UnitRow(ent, registry.enterprise_by_id[ent].name, tuple(required),
                            shortfall(segs, end), _total(parts)))
    return tuple(sorted(rows, key=lambda r: (-r.shortfall.dark_s, -r.shortfall.excused_s,
                                             r.enterprise)))


def _points(registry: Registry, zone_points: Mapping[str, Any],
            segments: Mapping[str, list[Segment]], completeness: query.ZoneCompleteness,
            period: Period) -> tuple[PointRow, ...]:
    counted = {p.id for units in RegistryView.of(registry).units.values()
               for points in units.values() for p in points if p.required}
    end = period.end.timestamp()
    rows = [PointRow(pid, p.enterprise, p.kind, p.interval_s, pid in counted,
                     shortfall(segments[pid], end), completeness.points.get(pid))
            for pid, p in zone_points.items()]
    return tuple(sorted(rows, key=lambda r: (not r.counted, -r.shortfall.dark_s,
                                             -r.shortfall.excused_s, r.point)))


def _total(parts: Iterable[Completeness]) -> Completeness | None:
    parts = list(parts)
    if not parts:
        return None
    return Completeness(sum(c.expected for c in parts), sum(c.on_time for c in parts),
                        sum(c.filled_late for c in parts))


def _recomputed(units: Iterable[UnitRow], period_s: float) -> float | None:
    """Share of unit-time covered: 1 - (dark + excused) / (units × period)."""
    units = list(units)
    if not units or period_s <= 0:
        return None
    short = sum(u.shortfall.dark_s + u.shortfall.excused_s for u in units)
    return max(0.0, 1 - short / (len(units) * period_s))


def _names(registry: Registry, zone: str) -> dict[str, str]:
    names = {e.id: e.name for e in registry.enterprises if e.zone == zone}
    names.update({p.id: p.name or p.id for p in registry.platforms if p.zone == zone})
    return names
