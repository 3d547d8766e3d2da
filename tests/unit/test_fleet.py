"""The simulated fleet, on a fixed clock: a day of a fleet runs in well under a second."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from ingest.hj212 import DATA_FLAGS, Hj212Error, parse_frame
from schemas import Assessment, Hazard, Heartbeat, Reading, Registry
from tests.factories import fleet_registry
from zonewatch.fleet import SCENARIOS, BadMessage, Fleet, IncidentKind, Message
from zonewatch.simulate_cmd import SimClock

T0 = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
SEC, MIN, HOUR = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)
CALM_HJ212 = replace(SCENARIOS["calm"], hj212_share=1.0, minute_data_share=0.0)
CALM_JSON = replace(SCENARIOS["calm"], hj212_share=0.0)


def point_of(registry: Registry, message: Message) -> str:
    """The point a reading message is about, whichever protocol it speaks."""
    if message.kind == "hj212":
        return registry.point_by_mn[parse_frame(message.payload).mn].id
    return json.loads(message.payload)["point"]


def times_by_point(registry: Registry, messages: Iterable[Message]) -> dict[str, list[datetime]]:
    times: dict[str, list[datetime]] = defaultdict(list)
    for m in messages:
        if m.kind in ("readings", "hj212"):
            times[point_of(registry, m)].append(m.event_time)
    return times


def readings_of(registry: Registry, messages: Iterable[Message], point: str) -> list[Reading]:
    return [Reading.model_validate_json(m.payload) for m in messages
            if m.kind == "readings" and point_of(registry, m) == point]


def gaps(times: list[datetime]) -> set[float]:
    return {(b - a).total_seconds() for a, b in pairwise(times)}


# -- cadence ----------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", ["calm", CALM_HJ212, CALM_JSON])
def test_every_point_reports_at_its_interval(scenario: object) -> None:
    registry = fleet_registry()
    fleet = Fleet(registry, start=T0, seed=7, scenario=scenario)
    times = times_by_point(registry, fleet.due(T0 + 2 * HOUR))
    assert set(times) == {p.id for p in registry.points}
    for point in registry.points:
        got = times[point.id]
        assert gaps(got) == {point.interval_s}, point.id
        assert T0 - MIN <= got[0] < T0 + point.interval_s * SEC  # minute data: the minute before
        assert len(got) in (7200 // point.interval_s, 7200 // point.interval_s + 1)


def test_platforms_heartbeat_every_heartbeat_s() -> None:
    registry = fleet_registry()
    fleet = Fleet(registry, start=T0, seed=7, scenario="calm")
    beats: dict[str, list[datetime]] = defaultdict(list)
    for m in fleet.due(T0 + HOUR):
        if m.kind == "heartbeat":
            hb = Heartbeat.model_validate_json(m.payload)
            assert m.topic == f"zw/v1/{registry.platform_by_id[hb.platform].zone}/heartbeat"
            beats[hb.platform].append(hb.ts)
    assert {p: gaps(t) for p, t in beats.items()} == {p.id: {30.0} for p in registry.platforms}


def test_messages_come_in_sending_order_and_never_from_the_future() -> None:
    registry = fleet_registry()
    fleet = Fleet(registry, start=T0, seed=2, scenario="stormy")
    until = T0 + HOUR
    for step in range(1, 13):
        for m in fleet.due(T0 + step * 5 * MIN):
            assert m.event_time <= T0 + step * 5 * MIN <= until
    assert fleet.next_due() is not None and fleet.next_due() > until


# -- outages and backfill (补发) ----------------------------------------------------------------

def test_silenced_hj212_point_backfills_missed_frames_with_original_times() -> None:
    registry = fleet_registry(2)
    fleet = Fleet(registry, start=T0, seed=3, scenario=CALM_HJ212)
    point, start, end = "jn-0001-ww1", T0 + 10 * MIN, T0 + 25 * MIN
    assert fleet.protocol(point) == "hj212"
    fleet.silence(point, start, end, backfill=True)

    before = times_by_point(registry, fleet.due(end - SEC))[point]
    assert before and not [t for t in before if start <= t < end]  # silent during the outage

    burst = [m for m in fleet.due(end + 3 * MIN) if m.kind == "hj212"
             and point_of(registry, m) == point]
    resent = [m for m in burst if m.event_time < end]
    assert len(resent) == 15 and burst[:15] == resent  # the resend comes first, in one burst
    for m in resent:
        frame = parse_frame(m.payload)
        assert frame.cn == "2011" and frame.data_time == m.event_time
        assert start <= m.event_time < end
    assert gaps(before + [m.event_time for m in burst]) == {60.0}  # nothing lost


def test_silence_without_backfill_leaves_a_gap() -> None:
    registry = fleet_registry(2)
    fleet = Fleet(registry, start=T0, seed=3, scenario=CALM_HJ212)
    fleet.silence("jn-0001-ww1", T0 + 10 * MIN, T0 + 25 * MIN)
    got = times_by_point(registry, fleet.due(T0 + HOUR))["jn-0001-ww1"]
    assert not [t for t in got if T0 + 10 * MIN <= t < T0 + 25 * MIN]
    assert max(gaps(got)) >= 15 * 60


def test_silenced_platform_skips_heartbeats() -> None:
    registry = fleet_registry(2)
    fleet = Fleet(registry, start=T0, seed=3, scenario="calm")
    fleet.silence("jn-safety", T0 + 5 * MIN, T0 + 10 * MIN)
    beats = [Heartbeat.model_validate_json(m.payload).ts for m in fleet.due(T0 + 20 * MIN)
             if m.kind == "heartbeat" and b'"jn-safety"' in m.payload]
    assert not [t for t in beats if T0 + 5 * MIN <= t < T0 + 10 * MIN]
    assert [t for t in beats if t >= T0 + 10 * MIN]


# -- payloads ---------------------------------------------------------------------------------

def assert_valid(registry: Registry, m: Message) -> None:
    """Each payload is what SPEC "Inputs" says, on its subject's own zone's topic."""
    zone = m.topic.split("/")[2]
    if m.kind == "readings":
        r = Reading.model_validate_json(m.payload)
        assert r.ts == m.event_time
        point = registry.point_by_id[r.point]
        assert registry.zone_of_point(point) == zone and set(r.values) == set(point.factors)
    elif m.kind == "hj212":
        frame = parse_frame(m.payload)
        point = registry.point_by_mn[frame.mn]
        assert frame.cn in ("2011", "2051") and frame.data_time == m.event_time
        assert registry.zone_of_point(point) == zone and set(frame.values) == set(point.factors)
        assert set(frame.flags.values()) <= DATA_FLAGS
    elif m.kind == "heartbeat":
        assert registry.platform_by_id[Heartbeat.model_validate_json(m.payload).platform].zone \
            == zone
    else:
        model = {"assessment": Assessment, "hazard": Hazard}[m.kind]
        body = model.model_validate_json(m.payload)
        assert registry.enterprise_by_id[body.enterprise].zone == zone


@pytest.mark.parametrize("scenario", ["calm", "realistic", "stormy"])
def test_payloads_validate_against_the_schemas(scenario: str) -> None:
    registry = fleet_registry()
    kinds = set()
    for m in Fleet(registry, start=T0, seed=11, scenario=scenario).due(T0 + 6 * HOUR):
        kinds.add(m.kind)
        if not isinstance(m, BadMessage):
            assert_valid(registry, m)
    assert {"readings", "hj212", "heartbeat", "assessment"} <= kinds


def test_values_are_plausible() -> None:
    registry = fleet_registry(2)
    messages = list(Fleet(registry, start=T0, seed=1, scenario=CALM_JSON).due(T0 + 6 * HOUR))
    ww = readings_of(registry, messages, "jn-0001-ww1")
    assert all(6 < r.values["w01001"] < 8.5 for r in ww)  # pH around 7
    assert all(r.values["w01018"] < 50 and r.values["w00000"] >= 0 for r in ww)
    gas = readings_of(registry, messages, "jn-0001-gd1")
    assert all(0 <= r.values["gas_lel"] < 25 * 0.3 for r in gas)  # far from the alarm
    assert len({r.values["w01018"] for r in ww}) > len(ww) // 2  # noise: rarely the same value


# -- scenarios --------------------------------------------------------------------------------

def test_same_seed_same_messages_other_seed_others() -> None:
    registry = fleet_registry()

    def run(seed: int) -> list[tuple[str, bytes, datetime]]:
        fleet = Fleet(registry, start=T0, seed=seed, scenario="stormy")
        return [tuple(m) for m in fleet.due(T0 + 3 * HOUR)]

    first = run(5)
    assert first == run(5)
    assert first != run(6)


def test_calm_has_no_bad_input_no_dark_points_no_odd_flags() -> None:
    registry = fleet_registry()
    fleet = Fleet(registry, start=T0, seed=9, scenario="calm")
    assert fleet.bad_rate == 0 and not fleet.dark
    for m in fleet.due(T0 + 4 * HOUR):
        assert not isinstance(m, BadMessage)
        if m.kind == "readings":
            assert "flags" not in json.loads(m.payload)
        elif m.kind == "hj212":
            assert set(parse_frame(m.payload).flags.values()) == {"N"}


def test_bad_input_is_bad_in_each_way_ingest_must_dead_letter() -> None:
    registry = fleet_registry()
    fleet = Fleet(registry, start=T0, seed=4, scenario="realistic", bad_rate=0.2)
    reasons = set()
    for m in fleet.due(T0 + 2 * HOUR):
        if isinstance(m, BadMessage):
            assert m.kind == "bad"
            reasons.add(_why_bad(registry, m))
    assert reasons == {"bad_json", "bad_crc", "unknown_point"}
    assert not any(isinstance(m, BadMessage) for m in
                   Fleet(registry, start=T0, seed=4, scenario="stormy", bad_rate=0)
                   .due(T0 + 2 * HOUR))


def _why_bad(registry: Registry, m: Message) -> str:
    if m.topic.endswith("/hj212"):
        with pytest.raises(Hj212Error) as e:
            parse_frame(m.payload)
        return e.value.code
    try:
        reading = Reading.model_validate_json(m.payload)
    except ValueError:
        return "bad_json"
    assert reading.point not in registry.point_by_id
    return "unknown_point"


def test_realistic_has_dark_points_and_one_dark_platform_that_never_report() -> None:
    registry = fleet_registry(40)
    fleet = Fleet(registry, start=T0, seed=1, scenario="realistic")
    dark_platforms = fleet.dark & set(registry.platform_by_id)
    assert len(dark_platforms) == 1 and fleet.dark - dark_platforms
    for m in fleet.due(T0 + HOUR):
        if m.kind in ("readings", "hj212") and not isinstance(m, BadMessage):
            assert point_of(registry, m) not in fleet.dark
        if m.kind == "heartbeat":
            assert json.loads(m.payload)["platform"] not in fleet.dark


def test_stormy_raises_incidents_of_every_kind() -> None:
    registry = fleet_registry(10)
    fleet = Fleet(registry, start=T0, seed=1, scenario="stormy", bad_rate=0)
    flags = set()
    for m in fleet.due(T0 + 12 * HOUR):
        if m.kind == "hj212":
            flags |= set(parse_frame(m.payload).flags.values())
        elif m.kind == "readings":
            flags |= set(Reading.model_validate_json(m.payload).flags.values())
    assert {"N", "T", "D", "B", "M", "C", "F"} <= flags


# -- scripted incidents -----------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "flag"), [("fault", "D"), ("fault", "B"), ("maintenance", "M"),
                                            ("maintenance", "C"), ("stopped", "F")])
def test_scripted_flag_incidents(kind: str, flag: str) -> None:
    registry = fleet_registry(2)
    fleet = Fleet(registry, start=T0, seed=1, scenario=CALM_JSON)
    fleet.incident("jn-0001-ww1", kind, T0 + 10 * MIN, T0 + 20 * MIN, flag=flag)
    for r in readings_of(registry, fleet.due(T0 + 30 * MIN), "jn-0001-ww1"):
        inside = T0 + 10 * MIN <= r.ts < T0 + 20 * MIN
        assert set(r.flags.values()) == ({flag} if inside else set())
        if inside and kind == "stopped":
            assert r.values["w00000"] == 0  # no production, no flow


def test_scripted_exceedance_goes_over_the_limit_with_flag_t() -> None:
    registry = fleet_registry(2)
    fleet = Fleet(registry, start=T0, seed=1, scenario=CALM_JSON)
    fleet.incident("jn-0001-ww1", IncidentKind.EXCEEDANCE, T0 + 10 * MIN, T0 + 20 * MIN,
                   flag="T", factor="w21003")
    over = [r for r in readings_of(registry, fleet.due(T0 + 30 * MIN), "jn-0001-ww1")
            if r.values["w21003"] > 5.0]
    assert len(over) == 10 and all(r.flags == {"w21003": "T"} for r in over)


def test_scripted_stuck_values_repeat_exactly() -> None:
    registry = fleet_registry(2)
    fleet = Fleet(registry, start=T0, seed=1, scenario=CALM_JSON)
    fleet.incident("jn-0001-tk1", "stuck", T0 + 10 * MIN, T0 + 70 * MIN)
    stuck = [r.values for r in readings_of(registry, fleet.due(T0 + 90 * MIN), "jn-0001-tk1")
             if T0 + 10 * MIN <= r.ts < T0 + 70 * MIN]
    assert len(stuck) == 30 and all(v == stuck[0] for v in stuck)


# -- safety side ------------------------------------------------------------------------------

def test_assessments_at_start_most_valid_some_expiring_some_missing() -> None:
    registry = fleet_registry(40)
    calm = [Assessment.model_validate_json(m.payload) for m in
            Fleet(registry, start=T0, seed=1, scenario="calm").due(T0)
            if m.kind == "assessment"]
    assert len(calm) == 40 and all(a.valid_until > T0 + timedelta(days=30) for a in calm)
    stormy = [Assessment.model_validate_json(m.payload) for m in
              Fleet(registry, start=T0, seed=1, scenario="stormy").due(T0)
              if m.kind == "assessment"]
    expiring = [a for a in stormy if a.valid_until < T0 + timedelta(days=30)]
    assert 20 < len(stormy) < 40 and 0 < len(expiring) < len(stormy) / 2
    assert all(a.status == "completed" and a.completed_at < T0 for a in stormy)


def test_hazards_are_remediated_before_due_or_left_overdue() -> None:
    registry = fleet_registry(40)
    fleet = Fleet(registry, start=T0, seed=2, scenario="stormy", points=0)  # no points: faster
    reported: dict[str, Hazard] = {}
    remediated: dict[str, Hazard] = {}
    for m in fleet.due(T0 + 24 * HOUR):
        if m.kind == "hazard":
            h = Hazard.model_validate_json(m.payload)
            (reported if h.status == "reported" else remediated)[h.id] = h
    assert remediated and set(remediated) <= set(reported)
    assert all(h.ts <= h.due for h in remediated.values())
    overdue = [h for i, h in reported.items() if i not in remediated and h.due < T0 + 20 * HOUR]
    assert overdue and any(h.ts < T0 for h in overdue)  # the backlog, reported before start


# -- subsets, and the simulate command's clock ------------------------------------------------

def test_first_n_points_and_shards() -> None:
    registry = fleet_registry()
    assert Fleet(registry, start=T0, scenario="calm", points=3).point_ids == \
        [p.id for p in registry.points[:3]]
    shards = [Fleet(registry, start=T0, scenario="calm", shard=(k, 3)) for k in range(3)]
    ids = [p for fleet in shards for p in fleet.point_ids]
    assert sorted(ids) == sorted(p.id for p in registry.points)
    kinds = [{m.kind for m in fleet.due(T0 + 5 * MIN)} for fleet in shards]
    assert "heartbeat" in kinds[0] and "heartbeat" not in kinds[1] | kinds[2]


def test_sim_clock_replays_history_faster_then_runs_live() -> None:
    wall0, sim0 = 1_800_000_000.0, 1_800_000_000.0 - 600
    clock = SimClock(wall0, sim0, speedup=10)
    assert clock.now(wall0 + 1) == sim0 + 10
    assert clock.now(wall0 + 100) == wall0 + 100  # caught up: live
    assert clock.wall_of(sim0 + 10) == wall0 + 1
    assert SimClock(wall0, sim0, speedup=0).now(wall0 + 5) == wall0 + 5
