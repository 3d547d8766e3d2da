"""StallWatch: one pipeline_stalled alert, raised when the watermark stops and cleared only
on evidence that it moves again."""

from __future__ import annotations

import time
from types import SimpleNamespace

from streams.readings import StallWatch


def _ctx(trusted: float | None, assigned: frozenset[int] = frozenset({0})) -> SimpleNamespace:
    return SimpleNamespace(assigned=assigned, trusted_now=lambda: trusted)


def test_a_fresh_worker_that_has_seen_no_tick_says_nothing() -> None:
    watch = StallWatch(stall_after_s=30)
    assert watch.check(_ctx(None), 0) is None  # restarted during a stall: no clear


def test_stall_raised_once_then_cleared_when_ticks_move_again() -> None:
    watch = StallWatch(stall_after_s=30)
    old = time.time() - 120
    raised = watch.check(_ctx(old), 2)
    assert raised is not None and (raised.op, raised.kind) == ("raise", "pipeline_stalled")
    assert raised.detail["influx_write_failures"] == 2
    assert watch.check(_ctx(old), 2) is None
    cleared = watch.check(_ctx(time.time()), 2)
    assert cleared is not None and cleared.op == "clear"
    assert watch.check(_ctx(time.time()), 2) is None


def test_a_worker_started_after_a_stall_ended_clears_it_once_ticks_flow() -> None:
    watch = StallWatch(stall_after_s=30)
    cleared = watch.check(_ctx(time.time()), 0)
    assert cleared is not None and cleared.op == "clear"


def test_no_partitions_no_judgement() -> None:
    assert StallWatch(stall_after_s=30).check(_ctx(None, frozenset()), 0) is None
