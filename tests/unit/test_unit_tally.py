"""The unit tally gives, after any sequence of status changes, what a full recount gives."""

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.pipeline import PointStatusChange
from streams.app import rules_of
from streams.config import StreamSettings
from streams.context import WorkerContext
from streams.coverage import RegistryView, UnitSummary, unit_coverage
from streams.point_state import PointStatus
from streams.unit_tally import UnitTally
from streams.zone_agent import ZoneBoard
from streams.zones import apply_status
from tests.factories import tiny_registry
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


def test_the_zone_board_follows_its_agent_and_rereads_the_table_after_a_rebalance() -> None:
    reg = tiny_registry(units=2)
    zone = reg.zones[0].id
    config = StreamSettings()
    ctx = WorkerContext(config, rules_of(config))
    ctx.use_registry(reg)
    ctx.assigned = frozenset(range(config.readings_partitions))
    board = ZoneBoard(ctx, None, None, None)  # type: ignore[arg-type]
    table: dict[bytes, list] = {}
    now = datetime.now(UTC)

    def change(pid: str, status: str) -> PointStatusChange:
        return PointStatusChange(point=pid, zone=zone, enterprise=reg.point_by_id[pid].enterprise,
                                 status=status, since=None, at=now)

    def covered() -> int:
        return board.tally(table).summaries([zone])[zone].covered

    assert covered() == 0
    for p in reg.points:  # as the agent does: the table, then the board
        apply_status(table, c := change(p.id, "online"))
        board.note(c)
    assert covered() == 2
    apply_status(table, change(reg.points[0].id, "offline"))  # a restore, not the agent
    assert covered() == 2  # the tally cannot know …
    ctx.rebalances += 1
    assert covered() == 1  # … until a rebalance has it read the table again
