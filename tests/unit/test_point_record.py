"""judge(): what a point's state says now, compared with what was already said."""

from dataclasses import replace

from schemas import AlertKind
from streams.point_record import PointRecord, judge
from streams.point_state import PointStatus, Rules, apply_reading
from tests.factories import tiny_registry

REG = tiny_registry(interval_s=60)
POINT = REG.point_by_id["jn-0001-ww1"]
T0 = 1_800_000_000.0


def fed(*readings: tuple[float, float, str]) -> PointRecord:
    state = PointRecord().state
    for ts, value, flag in readings:
        state = apply_reading(state, ts, {"w01018": value}, {"w01018": flag}, POINT)
    return PointRecord(state)


def test_never_reported_point_is_offline_and_raises_one_gap() -> None:
    j = judge(PointRecord(), POINT, T0)
    assert j.record.published is PointStatus.OFFLINE and j.status_changed
    assert [(s.op, s.kind) for s in j.signals] == [("raise", AlertKind.DATA_GAP)]
    again = judge(j.record, POINT, T0 + 60)
    assert not again.status_changed and again.signals == []


def test_gap_opens_after_threshold_and_clears_when_data_resumes() -> None:
    online = judge(fed((T0, 10.0, "N")), POINT, T0 + 1)
    assert online.record.published is PointStatus.ONLINE and online.signals == []
    gap = judge(online.record, POINT, T0 + POINT.threshold_s)
    assert [(s.op, s.start) for s in gap.signals] == [("raise", T0)]
    state = apply_reading(gap.record.state, T0 + 200, {"w01018": 10.0}, {}, POINT)
    back = judge(replace(gap.record, state=state), POINT, T0 + 201)
    assert [(s.op, s.kind) for s in back.signals] == [("clear", AlertKind.DATA_GAP)]


def test_unknown_time_judges_no_status_and_no_gap() -> None:
    j = judge(PointRecord(), POINT, None)
    assert j.record.published is None and j.signals == [] and not j.status_changed


def test_exceedance_raised_once_per_factor_and_cleared() -> None:
    over = judge(fed((T0, 80.0, "N")), POINT, T0 + 1)
    assert [(s.op, s.kind, s.factor) for s in over.signals] == [
        ("raise", AlertKind.EXCEEDANCE, "w01018")]
    assert over.signals[0].facts == {"value": 80.0, "limit": 50.0}
    state = apply_reading(over.record.state, T0 + 60, {"w01018": 80.0}, {}, POINT)
    assert judge(replace(over.record, state=state), POINT, T0 + 61).signals == []
    state = apply_reading(state, T0 + 120, {"w01018": 20.0}, {}, POINT)
    cleared = judge(replace(over.record, state=state), POINT, T0 + 121)
    assert [(s.op, s.kind) for s in cleared.signals] == [("clear", AlertKind.EXCEEDANCE)]


def test_maintenance_is_not_a_gap_and_fault_run_is_invalid_data() -> None:
    m = judge(fed((T0, 10.0, "M")), POINT, T0 + 1)
    assert m.record.published is PointStatus.MAINTENANCE and m.signals == []
    d = judge(fed((T0, 1.0, "D"), (T0 + 60, 1.0, "D"), (T0 + 120, 1.0, "D")), POINT, T0 + 121)
    assert d.record.published is PointStatus.FAULT
    assert [(s.op, s.kind) for s in d.signals] == [("raise", AlertKind.INVALID_DATA)]


def test_value_pinned_at_its_detection_limit_raises_suspect_data_once() -> None:
    point = POINT.model_copy(update={"detection_limits": {"w01018": 2.0}})
    rules = Rules(suspect_after_s=3600)
    record, said = PointRecord(), []
    for i in range(8):  # 70 min at or below 2.0, as a blocked sampler reads
        state = apply_reading(record.state, T0 + 600 * i, {"w01018": [2.0, 0.3, 1.1][i % 3]},
                              {}, point, rules)
        j = judge(replace(record, state=state), point, T0 + 600 * i + 1, rules)
        record, said = j.record, said + [(s.op, s.kind, s.factor, s.start) for s in j.signals]
    assert said == [("raise", AlertKind.SUSPECT_DATA, "w01018", T0)]
    state = apply_reading(record.state, T0 + 4900, {"w01018": 9.5}, {}, point, rules)
    back = judge(replace(record, state=state), point, T0 + 4901, rules)
    assert [(s.op, s.kind) for s in back.signals] == [("clear", AlertKind.SUSPECT_DATA)]


def test_record_round_trips_through_its_dict() -> None:
    j = judge(fed((T0, 80.0, "N")), POINT, T0 + POINT.threshold_s + 1)
    assert PointRecord.from_dict(j.record.to_dict()) == j.record


def test_record_bytes_round_trip_and_stay_small() -> None:
    """The `points` table holds records as bytes; a million of them must stay small."""
    now = 1_795_000_000.0
    rec = judge(PointRecord(), POINT, None).record
    values = {f: 12.5 for f in POINT.factors}
    for t in (0.0, 60.0, 120.0):
        state = apply_reading(rec.state, now + t, values, {}, POINT)
        rec = judge(PointRecord(state, rec.published, rec.gap_open), POINT, now + t + 1).record
    raw = rec.to_json()
    assert PointRecord.from_json(raw) == rec
    assert PointRecord.from_json(None) == PointRecord()
    assert len(raw) < 200


def test_a_record_from_an_older_changelog_is_its_dict_and_reads_as_it_is() -> None:
    """Before records were kept as text, the `points` changelog held the dict itself."""
    rec = fed((T0, 12.5, "N"), (T0 + 60, 13.0, "N"))
    assert PointRecord.from_json(rec.to_dict()) == rec == PointRecord.from_json(rec.to_json())
