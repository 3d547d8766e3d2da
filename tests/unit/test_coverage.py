import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import Domain, Enterprise, Level, Platform, Point, Registry, Zone
from streams.coverage import (
    Completeness,
    Rate,
    RegistryView,
    UnitState,
    completeness,
    completeness_by_arrival,
    unit_coverage,
    zone_coverage,
)
from streams.point_state import PointStatus

NOW = 1_800_000_000.0
ON, OFF, MAINT, STOP, FAULT = (PointStatus.ONLINE, PointStatus.OFFLINE, PointStatus.MAINTENANCE,
                               PointStatus.STOPPED, PointStatus.FAULT)


def point(pid: str, ent: str, *, required: bool = True,
          domain: Domain = Domain.ENVIRONMENT) -> Point:
    return Point(id=pid, enterprise=ent, domain=domain, kind="wastewater", interval_s=60,
                 required=required, factors=["w01018"])


def registry() -> Registry:
    """Zone jn: 4 key polluter units (u1 has two points), one plain enterprise; zone empty-z."""
    ents = [Enterprise(id=f"u{i}", zone="jn", name=f"单位{i}", key_polluter=True,
                       assessment_required=i <= 2) for i in range(1, 5)]
    ents.append(Enterprise(id="plain", zone="jn", name="一般企业", assessment_required=True))
    points = [point("u1-a", "u1"), point("u1-b", "u1"), point("u2-a", "u2"),
              point("u3-a", "u3"), point("u4-a", "u4"), point("u4-opt", "u4", required=False),
              point("u4-gas", "u4", domain=Domain.SAFETY), point("plain-a", "plain")]
    return Registry(
        zones=[Zone(id="jn", name="江宁", level=Level.NATIONAL),
               Zone(id="empty-z", name="空", level=Level.PROVINCIAL)],
        enterprises=ents, points=points,
        platforms=[Platform(id="jn-safety", zone="jn", heartbeat_s=60),
                   Platform(id="jn-backup", zone="jn", heartbeat_s=60)],
    )


ALL_ON = {p: ON for p in ("u1-a", "u1-b", "u2-a", "u3-a", "u4-a", "plain-a")}


def cover(statuses: dict[str, PointStatus], **kw: object) -> dict:
    args = {"heartbeats": {}, "assessments": {}, "now": NOW} | kw
    return zone_coverage(registry(), statuses, **args)  # type: ignore[arg-type]


# --- units ----------------------------------------------------------------------------------

def test_unit_covered_only_when_every_required_point_is_online() -> None:
    pts = [point("a", "u"), point("b", "u"), point("c", "u", required=False)]
    assert unit_coverage("u", pts, {"a": ON, "b": ON}).state is UnitState.COVERED
    dark = unit_coverage("u", pts, {"a": ON, "b": FAULT})
    assert (dark.state, dict(dark.points)) == (UnitState.DARK, {"b": FAULT})


def test_unit_in_maintenance_is_excused_not_online() -> None:
    pts = [point("a", "u"), point("b", "u")]
    for excuse in (MAINT, STOP):
        unit = unit_coverage("u", pts, {"a": ON, "b": excuse})
        assert (unit.state, dict(unit.points)) == (UnitState.EXCUSED, {"b": excuse})


def test_point_without_status_never_reported_so_the_unit_is_dark() -> None:
    unit = unit_coverage("u", [point("a", "u")], {})
    assert (unit.state, dict(unit.points)) == (UnitState.DARK, {"a": OFF})


def test_unit_with_no_required_point_is_dark() -> None:
    assert unit_coverage("u", [point("a", "u", required=False)], {}).state is UnitState.DARK


def test_dark_beats_excused_in_one_unit() -> None:
    unit = unit_coverage("u", [point("a", "u"), point("b", "u")], {"a": MAINT, "b": OFF})
    assert unit.state is UnitState.DARK


# --- zones ----------------------------------------------------------------------------------

def test_three_of_four_units_covered_is_75_percent() -> None:
    jn = cover(ALL_ON | {"u3-a": OFF})["jn"]
    assert jn.monitoring == Rate(3, 4)
    assert jn.online_rate == 0.75
    assert [(u.enterprise, dict(u.points)) for u in jn.dark_units] == [("u3", {"u3-a": OFF})]


def test_unit_in_maintenance_counted_as_excused_not_covered() -> None:
    jn = cover(ALL_ON | {"u1-b": MAINT})["jn"]
    assert (jn.covered, len(jn.excused_units), len(jn.dark_units)) == (3, 1, 0)
    assert jn.excused_units[0].enterprise == "u1"
    assert jn.online_rate == 0.75


def test_safety_and_optional_points_do_not_count_toward_monitoring() -> None:
    assert cover(ALL_ON)["jn"].online_rate == 1.0  # u4-opt and u4-gas have no status
    everything = zone_coverage(RegistryView.of(registry(), domain=None), ALL_ON, {}, {}, NOW)
    assert everything["jn"].monitoring == Rate(3, 4)


def test_zone_with_no_key_polluter_units_has_no_rate() -> None:
    empty = cover({})["empty-z"]
    assert empty.monitoring == Rate(0, 0)
    assert (empty.online_rate, empty.assessment.value, empty.platforms.value) == (None,) * 3


def test_everything_registered_and_silent_is_zero_not_missing() -> None:
    jn = cover({})["jn"]
    assert (jn.online_rate, jn.assessment.value, jn.platforms.value) == (0.0, 0.0, 0.0)
    assert len(jn.dark_units) == 4


def test_assessment_rate_needs_completed_and_unexpired() -> None:
    assessments = {"u1": ("completed", NOW + 86400), "u2": ("completed", NOW - 1),
                   "plain": ("in_progress", None)}
    jn = cover(ALL_ON, assessments=assessments)["jn"]
    assert jn.assessment == Rate(1, 3)
    assert jn.unassessed == ("u2", "plain")
    no_expiry = cover(ALL_ON, assessments={"u2": ("completed", None)})["jn"]
    assert no_expiry.assessment == Rate(1, 3)


def test_platform_rate_counts_heartbeats_within_three_intervals() -> None:
    jn = cover(ALL_ON, heartbeats={"jn-safety": NOW - 179, "jn-backup": NOW - 180})["jn"]
    assert jn.platforms == Rate(1, 2)
    assert jn.platforms_offline == ("jn-backup",)


def test_view_can_be_reused_across_passes() -> None:
    view = RegistryView.of(registry())
    assert zone_coverage(view, ALL_ON, {}, {}, NOW)["jn"].online_rate == 1.0
    assert view.zones == ["empty-z", "jn"]


# --- completeness ---------------------------------------------------------------------------

def test_completeness_counts_each_interval_once() -> None:
    times = [0, 5, 5, 59, 60, 180, 299.9, 300, -1]  # 300 and -1 are outside [0, 300)
    assert completeness(60, [NOW + t for t in times], NOW, NOW + 300) == 4 / 5


def test_completeness_of_an_empty_period_is_an_error() -> None:
    with pytest.raises(ValueError):
        completeness(60, [], NOW, NOW)


def test_late_backfill_raises_completeness_and_is_marked_filled_late() -> None:
    start, end = NOW, NOW + 600  # 10 one-minute intervals
    live = [(start + 60 * k, start + 60 * k + 5) for k in range(10) if not 3 <= k < 7]
    before = completeness_by_arrival(60, live, start, end, allowance_s=120)
    assert before == Completeness(expected=10, on_time=6, filled_late=0)
    assert before.missing == 4
    backfill = [(start + 60 * k, start + 3600) for k in range(3, 7)]  # 补发 an hour later
    after = completeness_by_arrival(60, live + backfill + backfill, start, end, allowance_s=120)
    assert (after.on_time, after.filled_late, after.missing) == (6, 4, 0)
    assert (before.rate, after.rate, after.on_time_rate) == (0.6, 1.0, 0.6)
    assert completeness(60, [t for t, _ in live + backfill], start, end) == after.rate


def test_reading_within_allowance_is_on_time() -> None:
    got = completeness_by_arrival(60, [(NOW + 10, NOW + 60 + 30)], NOW, NOW + 60, 30)
    assert (got.on_time, got.filled_late) == (1, 0)
    late = completeness_by_arrival(60, [(NOW + 10, NOW + 60 + 31)], NOW, NOW + 60, 30)
    assert (late.on_time, late.filled_late) == (0, 1)


@settings(deadline=None)
@given(st.lists(st.floats(-100, 3700, allow_nan=False)), st.integers(10, 900))
def test_completeness_matches_a_brute_force_count(offsets: list[float], interval: int) -> None:
    times = [NOW + o for o in offsets]
    got = completeness(interval, times, NOW, NOW + 3600)
    n = -(-3600 // interval)
    hit = sum(any(NOW + k * interval <= t < NOW + (k + 1) * interval and t < NOW + 3600
                  for t in times) for k in range(n))
    assert got == hit / n
    assert 0.0 <= got <= 1.0
