import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import Domain, Point
from streams.point_state import (
    DEFAULT_RULES,
    FlagClass,
    PointState,
    PointStatus,
    Rules,
    apply_reading,
    deadline,
    exceedances,
    exceeding,
    fault_persists,
    flag_class,
    status_at,
    suspect,
)

T0 = 1_800_000_000.0
POINT = Point(id="jn-0001-ww1", enterprise="jn-0001", domain=Domain.ENVIRONMENT,
              kind="wastewater", interval_s=60, factors=["w01018", "w21003"],
              limits={"w01018": 50.0})
THR = POINT.threshold_s  # 180


def feed(readings: list[tuple[float, dict[str, float], dict[str, str]]],
         rules: Rules = DEFAULT_RULES) -> PointState:
    state = PointState()
    for ts, values, flags in readings:
        state = apply_reading(state, ts, values, flags, POINT, rules)
    return state


def one(ts: float, flag: str = "N", value: float = 20.0) -> PointState:
    return feed([(ts, {"w01018": value}, {"w01018": flag})])


# --- status -----------------------------------------------------------------------------

def test_never_reported_point_is_offline_and_already_past_its_deadline() -> None:
    assert status_at(PointState(), POINT, T0) is PointStatus.OFFLINE
    assert deadline(PointState(), POINT) == -math.inf


@pytest.mark.parametrize(("flag", "status"), [
    ("N", PointStatus.ONLINE), ("T", PointStatus.ONLINE),
    ("M", PointStatus.MAINTENANCE), ("C", PointStatus.MAINTENANCE),
    ("F", PointStatus.STOPPED), ("D", PointStatus.FAULT), ("B", PointStatus.FAULT),
    ("S", PointStatus.OFFLINE),
])
def test_status_follows_the_latest_flag_within_the_threshold(flag: str,
                                                             status: PointStatus) -> None:
    assert status_at(one(T0, flag), POINT, T0 + 60) is status


@pytest.mark.parametrize("flag", ["N", "M", "F", "D"])
def test_everything_ages_out_to_offline(flag: str) -> None:
    state = one(T0, flag)
    assert status_at(state, POINT, T0 + THR - 1) is not PointStatus.OFFLINE
    assert status_at(state, POINT, T0 + THR) is PointStatus.OFFLINE


def test_online_ends_exactly_at_the_deadline() -> None:
    state = one(T0)
    assert deadline(state, POINT) == T0 + THR
    assert status_at(state, POINT, T0 + THR - 0.001) is PointStatus.ONLINE
    assert status_at(state, POINT, deadline(state, POINT)) is PointStatus.OFFLINE


def test_recent_valid_data_keeps_online_even_after_a_newer_fault() -> None:
    state = feed([(T0, {"w01018": 1.0}, {}), (T0 + 60, {"w01018": 1.0}, {"w01018": "D"})])
    assert status_at(state, POINT, T0 + 120) is PointStatus.ONLINE
    assert status_at(state, POINT, T0 + THR) is PointStatus.FAULT
    assert deadline(state, POINT) == T0 + 60 + THR  # fault holds until that reading ages out


def test_custom_gap_threshold_is_used() -> None:
    slow = POINT.model_copy(update={"gap_threshold_s": 900})
    state = apply_reading(PointState(), T0, {"w01018": 1.0}, {}, slow)
    assert status_at(state, slow, T0 + 600) is PointStatus.ONLINE
    assert deadline(state, slow) == T0 + 900


def test_manual_values_are_not_valid_and_give_no_deadline_of_their_own() -> None:
    state = feed([(T0, {"w01018": 1.0}, {}), (T0 + 60, {"w01018": 1.0}, {"w01018": "S"})])
    assert state.last_valid_ts == T0
    assert deadline(state, POINT) == T0 + THR
    assert status_at(state, POINT, T0 + THR + 10) is PointStatus.OFFLINE


def test_worst_factor_decides_the_reading_class() -> None:
    assert flag_class({"a": 1.0, "b": 2.0}, {"a": "N", "b": "M"}) is FlagClass.MAINTENANCE
    assert flag_class({"a": 1.0, "b": 2.0}, {"a": "F", "b": "D"}) is FlagClass.FAULT
    assert flag_class({"a": 1.0}, {}) is FlagClass.VALID


# --- event time ---------------------------------------------------------------------------

def test_late_reading_never_moves_latest_backwards() -> None:
    state = feed([(T0 + 600, {"w01018": 1.0}, {}), (T0, {"w01018": 1.0}, {"w01018": "D"})])
    assert state.last_ts == T0 + 600
    assert state.last_class is FlagClass.VALID
    assert state.last_valid_ts == T0 + 600


def test_late_valid_reading_can_bring_a_point_back_for_its_own_time() -> None:
    state = feed([(T0, {"w01018": 1.0}, {"w01018": "M"}), (T0 - 30, {"w01018": 1.0}, {})])
    assert state.last_class is FlagClass.MAINTENANCE
    assert state.last_valid_ts == T0 - 30
    assert status_at(state, POINT, T0 + 60) is PointStatus.ONLINE


reading_st = st.tuples(
    st.integers(0, 40).map(lambda i: T0 + 60 * i),
    st.sampled_from(["N", "T", "M", "C", "F", "D", "B", "S"]),
    st.sampled_from([10.0, 60.0]),
)


@given(st.lists(reading_st, min_size=1, max_size=25), st.randoms(use_true_random=False))
def test_arrival_order_does_not_change_latest_status_or_deadline(readings, rnd) -> None:
    shuffled = list(readings)
    rnd.shuffle(shuffled)
    a = feed([(ts, {"w01018": v}, {"w01018": f}) for ts, f, v in readings])
    b = feed([(ts, {"w01018": v}, {"w01018": f}) for ts, f, v in shuffled])
    assert (a.last_ts, a.last_class, a.last_valid_ts) == (b.last_ts, b.last_class, b.last_valid_ts)
    assert deadline(a, POINT) == deadline(b, POINT)
    for now in (T0, T0 + 1200, T0 + 2400, T0 + 2500, T0 + 9999):
        assert status_at(a, POINT, now) is status_at(b, POINT, now)


@given(st.lists(reading_st, min_size=1, max_size=25, unique_by=lambda r: r[0]),
       st.randoms(use_true_random=False))
def test_late_readings_never_lengthen_a_run(readings, rnd) -> None:
    in_order = sorted(readings)
    shuffled = list(readings)
    rnd.shuffle(shuffled)
    a = feed([(ts, {"w01018": v}, {"w01018": f}) for ts, f, v in in_order])
    b = feed([(ts, {"w01018": v}, {"w01018": f}) for ts, f, v in shuffled])
    assert b.fault_n <= a.fault_n
    if b.fault_n:
        assert b.fault_last - b.fault_since <= a.fault_last - a.fault_since
    for k, fb in b.factors.items():
        fa = a.factors[k]
        assert fb.ts == fa.ts
        assert fb.same_since >= fa.same_since
        assert fb.over_since is None or (fa.over_since is not None
                                         and fb.over_since >= fa.over_since)


# --- invalid_data -------------------------------------------------------------------------

def faults(*times: float) -> list[tuple[float, dict[str, float], dict[str, str]]]:
    return [(t, {"w01018": 1.0}, {"w01018": "D"}) for t in times]


def test_fault_persists_after_n_consecutive_fault_readings() -> None:
    rules = Rules(fault_readings=3, fault_after_s=10_000)
    assert not fault_persists(feed(faults(T0, T0 + 60), rules), rules)
    state = feed(faults(T0, T0 + 60, T0 + 120), rules)
    assert fault_persists(state, rules)
    assert state.fault_since == T0


def test_fault_persists_after_t_seconds_of_event_time() -> None:
    rules = Rules(fault_readings=100, fault_after_s=600)
    assert fault_persists(feed(faults(T0, T0 + 600), rules), rules)
    assert not fault_persists(feed(faults(T0, T0 + 599), rules), rules)


def test_a_good_reading_ends_the_fault_run_and_duplicates_do_not_count() -> None:
    rules = Rules(fault_readings=2)
    state = feed([*faults(T0), (T0 + 60, {"w01018": 1.0}, {}), *faults(T0 + 120, T0 + 120)])
    assert state.fault_n == 1
    assert not fault_persists(state, rules)


def test_late_good_reading_inside_a_fault_run_cuts_it() -> None:
    rules = Rules(fault_readings=3)
    state = feed([*faults(T0, T0 + 60, T0 + 120), (T0 + 90, {"w01018": 1.0}, {})], rules)
    assert (state.fault_since, state.fault_n) == (T0 + 120, 1)
    assert not fault_persists(state, rules)


def test_late_fault_readings_never_start_a_run() -> None:
    state = feed([(T0 + 600, {"w01018": 1.0}, {}), *faults(T0, T0 + 60, T0 + 120)])
    assert state.fault_n == 0


# --- exceedance ---------------------------------------------------------------------------

def test_exceedance_tracked_from_first_value_over_the_limit_until_back_within() -> None:
    state = feed([(T0, {"w01018": 40.0}, {}), (T0 + 60, {"w01018": 55.0}, {}),
                  (T0 + 120, {"w01018": 70.0}, {})])
    assert exceeding(state) == {"w01018": T0 + 60}
    assert exceeding(apply_reading(state, T0 + 180, {"w01018": 49.0}, {}, POINT)) == {}


def test_over_range_flag_counts_as_exceedance_and_invalid_values_do_not() -> None:
    assert exceeding(one(T0, "T", value=10.0)) == {"w01018": T0}
    assert exceeding(one(T0, "C", value=90.0)) == {}  # calibration gas, not an emission
    assert exceedances({"w01018": 10.0, "w21003": 99.0}, {"w01018": "T"}, POINT) == {
        "w01018": 10.0}  # w21003 has no limit


def test_exceedance_of_a_late_reading_is_found_by_reading() -> None:
    state = feed([(T0 + 600, {"w01018": 10.0}, {}), (T0, {"w01018": 90.0}, {})])
    assert exceeding(state) == {}
    assert exceedances({"w01018": 90.0}, {}, POINT) == {"w01018": 90.0}


# --- suspect_data ---------------------------------------------------------------------------

def test_value_stuck_for_hours_is_suspect() -> None:
    rules = Rules(suspect_after_s=4 * 3600)
    steady = [(T0 + 600 * i, {"w01018": 12.5}, {}) for i in range(25)]  # 4 h
    assert suspect(feed(steady[:-1], rules), rules) == {}
    assert suspect(feed(steady, rules), rules) == {"w01018": T0}
    moved = feed([*steady, (T0 + 600 * 25, {"w01018": 12.6}, {})], rules)
    assert suspect(moved, rules) == {}


def test_value_pinned_at_detection_limit_is_suspect() -> None:
    rules = Rules(suspect_after_s=3600, detection_limits={"w01018": 4.0})
    low = [(T0 + 600 * i, {"w01018": v}, {}) for i, v in enumerate([4.0, 3.0, 0.5, 4.0, 1, 2, 3])]
    assert suspect(feed(low, rules), rules) == {"w01018": T0}


def test_a_points_own_detection_limit_comes_before_the_rules_default() -> None:
    rules = Rules(suspect_after_s=3600, detection_limits={"w01018": 0.1})
    point = POINT.model_copy(update={"detection_limits": {"w01018": 4.0}})
    state = PointState()
    for i, v in enumerate([4.0, 3.0, 0.5, 4.0, 1, 2, 3]):
        state = apply_reading(state, T0 + 600 * i, {"w01018": v}, {}, point, rules)
    assert suspect(state, rules) == {"w01018": T0}
    assert suspect(feed([(T0 + 600 * i, {"w01018": v}, {}) for i, v in
                         enumerate([4.0, 3.0, 0.5, 4.0, 1, 2, 3])], rules), rules) == {}


def test_late_different_value_breaks_a_stuck_run() -> None:
    rules = Rules(suspect_after_s=3600)
    steady = [(T0 + 600 * i, {"w01018": 7.0}, {}) for i in range(7)]
    state = feed([*steady, (T0 + 1800, {"w01018": 8.0}, {})], rules)
    assert suspect(state, rules) == {}


# --- storage ------------------------------------------------------------------------------

def test_state_round_trips_through_a_small_json_dict() -> None:
    state = feed([(T0, {"w01018": 60.0, "w21003": 1.0}, {}), *faults(T0 + 60, T0 + 120)])
    text = json.dumps(state.to_dict(), separators=(",", ":"))
    assert PointState.from_dict(json.loads(text)) == state
    assert len(text) < 200
    assert PointState.from_dict(PointState().to_dict()) == PointState()


def test_apply_does_not_mutate_its_input_and_ignores_unregistered_factors() -> None:
    before = one(T0)
    after = apply_reading(before, T0 + 60, {"w01018": 3.0, "x99": 1.0}, {}, POINT)
    assert before.factors["w01018"].value == 20.0
    assert set(after.factors) == {"w01018"}


def test_non_finite_event_time_is_refused() -> None:
    with pytest.raises(ValueError):
        apply_reading(PointState(), math.nan, {"w01018": 1.0}, {}, POINT)
