"""The unit tally gives, after any sequence of status changes, what a full recount gives."""

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.coverage import RegistryView, UnitSummary, unit_coverage
from streams.point_state import PointStatus
from streams.unit_tally import UnitTally
from tests.unit.test_coverage import registry

VIEW = RegistryView.of(registry())
POINTS = ["u1-a", "u1-b", "u2-a", "u3-a", "u4-a", "u4-opt", "u4-gas", "plain-a", "nobody"]


def recount(statuses: dict[str, PointStatus], zone: str) -> UnitSummary:
    return UnitSummary.of(unit_coverage(e, ps, statuses)
                          for e, ps in VIEW.units.get(zone, {}).items())


def test_a_point_going_dark_moves_its_unit_from_covered_to_dark() -> None:
    tally = UnitTally(VIEW, dict.fromkeys(POINTS, PointStatus.ONLINE))
    assert tally.summaries(["jn"])["jn"].covered == 4
    tally.set("u1-b", PointStatus.FAULT)
    jn = tally.summaries(["jn"])["jn"]
    assert (jn.covered, jn.total) == (3, 4)
    assert [(u.enterprise, dict(u.points)) for u in jn.dark] == [
        ("u1", {"u1-b": PointStatus.FAULT})]


def test_points_that_do_not_count_change_nothing() -> None:
    tally = UnitTally(VIEW, dict.fromkeys(POINTS, PointStatus.ONLINE))
    before = tally.summaries(["jn"])["jn"]
    for pid in ("u4-gas", "u4-opt", "plain-a", "nobody"):
        tally.set(pid, PointStatus.OFFLINE)
    assert tally.summaries(["jn"])["jn"] is before  # kept, not recounted


changes = st.lists(st.tuples(st.sampled_from(POINTS), st.sampled_from(list(PointStatus))),
                   max_size=40)


@settings(max_examples=200)
@given(start=st.dictionaries(st.sampled_from(POINTS), st.sampled_from(list(PointStatus))),
       batches=st.lists(changes, max_size=5))
def test_tally_matches_a_full_recount(start: dict, batches: list) -> None:
    tally = UnitTally(VIEW, start)
    statuses = dict(start)
    for batch in batches:
        for pid, status in batch:
            tally.set(pid, status)
            statuses[pid] = status
        got = tally.summaries(["jn", "empty-z"])
        assert got == {z: recount(statuses, z) for z in ("jn", "empty-z")}
