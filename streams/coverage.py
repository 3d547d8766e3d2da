"""Coverage arithmetic of SPEC "Definitions": pure, the registry is the denominator.

Everything registered is expected: a point, platform or assessment with no data at all counts
as missing, never as absent from the figure. Rates are fractions in [0, 1]; a zone with nothing
of a kind registered gets `None` for that rate — neither 100 % (nothing is monitored) nor 0 %
(nothing is failing), so dashboards show "—" and `coverage_below_target` stays quiet.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from schemas import Domain, Platform, Point, Registry
from schemas.events import AssessmentStatus
from streams.point_state import PointStatus


class UnitState(StrEnum):
    COVERED = "covered"
    EXCUSED = "excused"
    DARK = "dark"


@dataclass(frozen=True, slots=True)
class UnitCoverage:
    """A key polluter unit, and its required points that are not online, with their status."""

    enterprise: str
    state: UnitState
    points: Mapping[str, PointStatus] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rate:
    """A ratio kept as its two counts, so figures can be summed and shown as "3 / 4"."""

    ok: int
    total: int

    @property
    def value(self) -> float | None:
        """ok ÷ total, or None when nothing is registered."""
        return self.ok / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class ZoneCoverage:
    """One zone's figures at time `at` (epoch seconds)."""

    zone: str
    at: float
    monitoring: Rate
    """Covered key polluter units ÷ registered key polluter units."""
    excused_units: tuple[UnitCoverage, ...]
    dark_units: tuple[UnitCoverage, ...]
    assessment: Rate
    unassessed: tuple[str, ...]
    """Enterprises that need an assessment and hold no completed, unexpired one."""
    platforms: Rate
    platforms_offline: tuple[str, ...]

    @property
    def online_rate(self) -> float | None:
        return self.monitoring.value

    @property
    def covered(self) -> int:
        return self.monitoring.ok


def unit_coverage(enterprise: str, points: Iterable[Point],
                  statuses: Mapping[str, PointStatus]) -> UnitCoverage:
    """SPEC: covered when each required point is online; excused when the rest are all in
    maintenance or stopped; dark otherwise. A point missing from `statuses` never reported, so
    it is offline; a unit with no required point is dark, since nothing monitors it."""
    required = [p.id for p in points if p.required]
    gaps = {pid: statuses.get(pid, PointStatus.OFFLINE) for pid in required}
    gaps = {pid: s for pid, s in gaps.items() if s is not PointStatus.ONLINE}
    if not required:
        state = UnitState.DARK
    elif not gaps:
        state = UnitState.COVERED
    elif all(s.excused for s in gaps.values()):
        state = UnitState.EXCUSED
    else:
        state = UnitState.DARK
    return UnitCoverage(enterprise, state, gaps)


@dataclass(frozen=True, slots=True)
class RegistryView:
    """The registry grouped by zone once, so each coverage pass is not a scan per zone."""

    units: Mapping[str, Mapping[str, tuple[Point, ...]]]
    """zone → key polluter enterprise → its points in the counted domain."""
    assessed: Mapping[str, tuple[str, ...]]
    """zone → enterprises with `assessment_required`."""
    platforms: Mapping[str, tuple[Platform, ...]]

    @classmethod
    def of(cls, registry: Registry, domain: Domain | None = Domain.ENVIRONMENT) -> RegistryView:
        """Online-monitoring coverage counts environment points by default: a silent gas
        detector is the emergency bureau's alert, not a hole in the ecology bureau's figure.
        Pass `domain=None` to count every required point."""
        units: dict[str, dict[str, list[Point]]] = {z.id: {} for z in registry.zones}
        assessed: dict[str, list[str]] = {z.id: [] for z in registry.zones}
        platforms: dict[str, list[Platform]] = {z.id: [] for z in registry.zones}
        for e in registry.enterprises:
            if e.key_polluter:
                units.setdefault(e.zone, {})[e.id] = []
            if e.assessment_required:
                assessed.setdefault(e.zone, []).append(e.id)
        for p in registry.points:
            ent = registry.enterprise_by_id.get(p.enterprise)
            if ent and ent.key_polluter and (domain is None or p.domain == domain):
                units[ent.zone][ent.id].append(p)
        for pl in registry.platforms:
            platforms.setdefault(pl.zone, []).append(pl)
        return cls(
            units={z: {e: tuple(ps) for e, ps in u.items()} for z, u in units.items()},
            assessed={z: tuple(v) for z, v in assessed.items()},
            platforms={z: tuple(v) for z, v in platforms.items()},
        )

    @property
    def zones(self) -> list[str]:
        return sorted(self.units.keys() | self.assessed.keys() | self.platforms.keys())


Assessments = Mapping[str, tuple[str, float | None]]
"""enterprise → (assessment status, valid_until in epoch seconds or None)."""


def zone_coverage(registry: Registry | RegistryView, statuses: Mapping[str, PointStatus],
                  heartbeats: Mapping[str, float], assessments: Assessments,
                  now: float, zones: Iterable[str] | None = None) -> dict[str, ZoneCoverage]:
    """Each zone's coverage at `now` (every zone, or those named); pass a `RegistryView` to
    reuse the grouping."""
    view = registry if isinstance(registry, RegistryView) else RegistryView.of(registry)
    wanted = view.zones if zones is None else zones
    return {z: _zone(view, z, statuses, heartbeats, assessments, now) for z in wanted}


@dataclass(frozen=True, slots=True)
class UnitSummary:
    """A zone's key polluter units counted: the monitoring part of its figures."""

    covered: int
    total: int
    excused: tuple[UnitCoverage, ...]
    dark: tuple[UnitCoverage, ...]

    @classmethod
    def of(cls, units: Iterable[UnitCoverage]) -> UnitSummary:
        units = list(units)
        return cls(covered=sum(u.state is UnitState.COVERED for u in units), total=len(units),
                   excused=tuple(u for u in units if u.state is UnitState.EXCUSED),
                   dark=tuple(u for u in units if u.state is UnitState.DARK))


def _zone(view: RegistryView, zone: str, statuses: Mapping[str, PointStatus],
          heartbeats: Mapping[str, float], assessments: Assessments, now: float) -> ZoneCoverage:
    units = UnitSummary.of(unit_coverage(e, ps, statuses)
                           for e, ps in view.units.get(zone, {}).items())
    return zone_of_units(view, zone, units, heartbeats, assessments, now)


def zone_of_units(view: RegistryView, zone: str, units: UnitSummary,
                  heartbeats: Mapping[str, float], assessments: Assessments,
                  now: float) -> ZoneCoverage:
    """A zone's figures from its units already counted (see `streams.unit_tally`)."""
    required = view.assessed.get(zone, ())
    unassessed = tuple(e for e in required if not _assessed(assessments.get(e), now))
    platforms = view.platforms.get(zone, ())
    offline = tuple(p.id for p in platforms if not _beating(p, heartbeats.get(p.id), now))
    return ZoneCoverage(
        zone=zone, at=now, monitoring=Rate(units.covered, units.total),
        excused_units=units.excused, dark_units=units.dark,
        assessment=Rate(len(required) - len(unassessed), len(required)), unassessed=unassessed,
        platforms=Rate(len(platforms) - len(offline), len(platforms)), platforms_offline=offline,
    )


def _assessed(entry: tuple[str, float | None] | None, now: float) -> bool:
    """Completed and unexpired; no `valid_until` means none was declared, so it has not expired."""
    if entry is None:
        return False
    status, valid_until = entry
    return status == AssessmentStatus.COMPLETED and (valid_until is None or valid_until > now)


def _beating(platform: Platform, last: float | None, now: float) -> bool:
    """Heart-beating within 3 × heartbeat_s; like points, the boundary instant is already late."""
    return last is not None and now < last + platform.threshold_s


@dataclass(frozen=True, slots=True)
class Completeness:
    """Expected intervals of a period, split by whether valid data came on time, late or never."""

    expected: int
    on_time: int
    filled_late: int

    @property
    def missing(self) -> int:
        return self.expected - self.on_time - self.filled_late

    @property
    def rate(self) -> float:
        """SPEC transmission completeness: intervals with valid data ÷ expected intervals."""
        return (self.on_time + self.filled_late) / self.expected

    @property
    def on_time_rate(self) -> float:
        return self.on_time / self.expected


def completeness(expected_interval_s: float, valid_event_times: Iterable[float],
                 start: float, end: float) -> float:
    """Intervals [start + k·i, start + (k+1)·i) holding a valid reading ÷ intervals in
    [start, end); several readings in one interval (duplicates, resends) count once."""
    expected = _expected(expected_interval_s, start, end)
    buckets = {_bucket(t, expected_interval_s, start)
               for t in valid_event_times if start <= t < end}
    return len(buckets) / expected


def completeness_by_arrival(expected_interval_s: float,
                            valid_readings: Iterable[tuple[float, float]],
                            start: float, end: float, allowance_s: float) -> Completeness:
    """Like `completeness`, from (event time, arrival time) pairs. An interval is on time when
    some reading for it arrived no later than its end + `allowance_s`, filled late when its
    readings all came after that (a backfill), missing when none came at all."""
    expected = _expected(expected_interval_s, start, end)
    first: dict[int, float] = {}
    for event_ts, arrived in valid_readings:
        if start <= event_ts < end:
            k = _bucket(event_ts, expected_interval_s, start)
            first[k] = min(arrived, first.get(k, math.inf))
    on_time = sum(arrived <= start + (k + 1) * expected_interval_s + allowance_s
                  for k, arrived in first.items())
    return Completeness(expected, on_time, len(first) - on_time)


def _expected(interval_s: float, start: float, end: float) -> int:
    """Intervals in [start, end), a trailing partial one included; an empty period is an error."""
    if interval_s <= 0 or not end > start:
        raise ValueError(f"need interval > 0 and end > start, got {interval_s}, {start}..{end}")
    return math.ceil((end - start) / interval_s)


def _bucket(ts: float, interval_s: float, start: float) -> int:
    return int((ts - start) // interval_s)
