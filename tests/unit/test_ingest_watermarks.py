"""A partition is vouched for up to the oldest tick of the ingests still ticking: with a shared
MQTT subscription each ingest holds a share of every partition's points."""

from __future__ import annotations

from streams.app import rules_of
from streams.config import StreamSettings
from streams.context import WorkerContext

T0 = 1_795_000_000.0


def context(gone_s: float = 60) -> WorkerContext:
    settings = StreamSettings(ingest_gone_s=gone_s)
    ctx = WorkerContext(settings, rules_of(settings))
    ctx.assigned = frozenset({0})
    return ctx


def test_a_lagging_ingest_holds_the_partition_back() -> None:
    ctx = context()
    ctx.note_tick(0, "ingest-1", T0, now=T0)
    ctx.note_tick(0, "ingest-2", T0, now=T0)
    ctx.note_tick(0, "ingest-1", T0 + 10, now=T0 + 10)
    ctx.note_tick(0, "ingest-2", T0 + 2, now=T0 + 10)  # its broker backlog is still draining
    assert ctx.trusted_now() == T0 + 2
    ctx.note_tick(0, "ingest-1", T0 + 30, now=T0 + 30)
    assert ctx.trusted_now() == T0 + 2  # not ingest-1's newest: ingest-2 vouches for less
    ctx.note_tick(0, "ingest-2", T0 + 29, now=T0 + 31)
    assert ctx.trusted_now() == T0 + 29


def test_an_ingest_gone_for_long_stops_holding_it_back() -> None:
    ctx = context(gone_s=60)
    ctx.note_tick(0, "ingest-1", T0, now=T0)
    ctx.note_tick(0, "ingest-2", T0, now=T0)
    ctx.note_tick(0, "ingest-1", T0 + 50, now=T0 + 50)
    ctx.settle_watermarks(now=T0 + 55)
    assert ctx.trusted_now() == T0  # ingest-2 may be restarting: wait
    ctx.settle_watermarks(now=T0 + 61)
    assert ctx.trusted_now() == T0 + 50  # scaled down or dead: no longer waited for
    ctx.note_tick(0, "ingest-2", T0 + 5, now=T0 + 62)  # back, with an older claim
    assert ctx.trusted_now() == T0 + 50  # judged time never moves back


def test_one_ingest_and_a_rebalance() -> None:
    ctx = context()
    ctx.note_tick(0, "ingest-1", T0, now=T0)
    ctx.note_tick(0, "ingest-1", T0 - 5, now=T0 + 1)  # an older tick read late moves nothing
    assert ctx.trusted_now() == T0
    ctx.forget_watermarks()
    assert ctx.trusted_now() is None
    ctx.settle_watermarks(now=T0 + 2)
    assert ctx.trusted_now() is None
