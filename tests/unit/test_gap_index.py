import math
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import Domain, Point
from streams.gap_index import GapIndex


def point(pid: str, interval_s: int = 60) -> Point:
    return Point(id=pid, enterprise="e", domain=Domain.ENVIRONMENT, kind="wastewater",
                 interval_s=interval_s, factors=["w01018"])


def test_due_pops_expired_deadlines_earliest_first_and_forgets_them() -> None:
    idx = GapIndex()
    idx.update("b", 20.0)
    idx.update("a", 10.0)
    idx.update("c", 30.0)
    assert idx.due(5.0) == []
    assert idx.due(20.0) == ["a", "b"]
    assert idx.due(25.0) == []
    assert len(idx) == 1 and "c" in idx


def test_moved_deadline_leaves_a_stale_entry_that_is_skipped() -> None:
    idx = GapIndex()
    idx.update("p", 10.0)
    idx.update("p", 100.0)  # a new reading moved it on
    assert idx.heap_size == 2
    assert idx.due(50.0) == []
    assert idx.heap_size == 1  # the stale entry went with the pop
    assert idx.due(100.0) == ["p"]


def test_deadline_moved_back_and_forth_is_due_once() -> None:
    idx = GapIndex()
    for d in (10.0, 20.0, 10.0):
        idx.update("p", d)
    assert idx.due(30.0) == ["p"]
    assert idx.heap_size == 0


def test_removed_point_is_never_due() -> None:
    idx = GapIndex()
    idx.update("p", 10.0)
    idx.remove("p")
    idx.remove("never-there")
    assert idx.due(math.inf) == []


def test_minus_infinity_is_due_at_once_and_nan_is_refused() -> None:
    idx = GapIndex()
    idx.update("p", -math.inf)
    assert idx.due(0.0) == ["p"]
    with pytest.raises(ValueError):
        idx.update("q", math.nan)


def test_seed_gives_unseen_points_one_threshold_of_grace() -> None:
    idx = GapIndex()
    idx.update("known", 5.0)
    idx.seed([point("known"), point("never", 60), point("slow", 3600)], now=1000.0)
    assert idx.deadline_of("known") == 5.0
    assert idx.deadline_of("never") == 1000.0 + 180
    assert idx.due(1180.0) == ["known", "never"]
    assert idx.due(1000.0 + 3 * 3600) == ["slow"]


def test_compaction_drops_stale_entries_once_they_outnumber_live_ones() -> None:
    idx = GapIndex(min_compact=10)
    for p in range(5):
        idx.update(f"p{p}", 0.0)
    for step in range(1, 100):
        for p in range(5):
            idx.update(f"p{p}", float(step))
        assert idx.heap_size <= max(10, 2 * len(idx)) + 1
    assert sorted(idx.due(99.0)) == [f"p{p}" for p in range(5)]
    for p in range(20):
        idx.update(f"q{p}", 1.0)
    for p in range(20):
        idx.remove(f"q{p}")
    assert idx.heap_size <= 10


def test_memory_stays_well_under_a_kibibyte_per_point() -> None:
    ids = [f"jn-{i:06d}-ww1" for i in range(20_000)]
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    idx = GapIndex()
    for rnd in range(5):  # each point moved on five times: stale entries pile up, then go
        for i, pid in enumerate(ids):
            idx.update(pid, 1e9 + rnd * 60 + i)
    used = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(base, "filename"))
    tracemalloc.stop()
    assert used / len(ids) < 1024


ops = st.lists(st.one_of(
    st.tuples(st.just("update"), st.sampled_from("abcdefgh"), st.integers(-5, 60)),
    st.tuples(st.just("remove"), st.sampled_from("abcdefgh"), st.just(0)),
    st.tuples(st.just("due"), st.just(""), st.integers(-5, 60)),
), max_size=80)


@given(ops, st.integers(0, 8))
def test_due_matches_a_brute_force_scan(script: list[tuple[str, str, int]], mc: int) -> None:
    idx, model = GapIndex(min_compact=mc), {}
    for op, pid, t in script:
        if op == "update":
            idx.update(pid, float(t))
            model[pid] = float(t)
        elif op == "remove":
            idx.remove(pid)
            model.pop(pid, None)
        else:
            expect = sorted((d, p) for p, d in model.items() if d <= t)
            assert idx.due(float(t)) == [p for _, p in expect]
            model = {p: d for p, d in model.items() if d > t}
        assert len(idx) == len(model)
