"""The readings agent: batches into InfluxDB, then into point states; and the gap timer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import faust
from faust.types import EventT
from pydantic import ValidationError

from alerts.lifecycle import SYSTEM_ZONE
from schemas import DeadLetter, ReadingBatch, ReadingEvent, Registry
from schemas.errors import describe
from schemas.pipeline import TICK_KEY, AlertSignal, Tick
from streams.acks import all_done_before, unless_finished
from streams.context import WorkerContext
from streams.emit import Emitter
from streams.metrics import WorkerMetrics
from streams.points import PointTracker
from streams.storage import (
    MEASUREMENT,
    InfluxWriter,
    lines_of,
    reading_line,
    refused_line,
    store,
)

log = logging.getLogger(__name__)


def decode_batch(raw: list[bytes]) -> tuple[list[ReadingEvent], list[DeadLetter]]:
    """Readings out of `ReadingBatch` records, and a dead letter (with the record's bytes) for
    each record that is not one: a bad record never stops the stream."""
    good: list[ReadingEvent] = []
    bad: list[DeadLetter] = []
    for value in raw:
        try:
            good.extend(ReadingBatch.model_validate_json(value).readings)
        except ValidationError as e:
            bad.append(DeadLetter.of(value, topic="kafka:zw.readings", code="invalid",
                                     reason=f"ReadingBatch: {describe(e)}",
                                     received_at=datetime.now(UTC), stage="worker"))
    return good, bad


def reading_lines(readings: list[ReadingEvent], registry: Registry
                  ) -> tuple[list[tuple[ReadingEvent, str]], list[DeadLetter]]:
    """Each reading's line, its arrival lag classed by its point's gap threshold, or a dead
    letter for one that cannot be written as a line."""
    points = registry.point_by_id

    def line(r: ReadingEvent) -> str:
        point = points.get(r.point)
        return reading_line(r, point.threshold_s if point else None)
    return lines_of(readings, line, MEASUREMENT)


def split_ticks(batch: Sequence[EventT]) -> tuple[list[EventT], list[tuple[EventT, Tick]]]:
    records, ticks = [], []
    for event in batch:
        if event.key == TICK_KEY:
            try:
                ticks.append((event, Tick.model_validate_json(event.value)))
            except ValidationError:
                log.warning("malformed tick at %s", event.message.tp)
        else:
            records.append(event)
    return records, ticks


def register(app: faust.App, ctx: WorkerContext, writer: InfluxWriter, tracker: PointTracker,
             emit: Emitter, metrics: WorkerMetrics) -> None:
    """Add the readings agent and the gap timer to `app`."""
    settings = ctx.settings
    judging = asyncio.Lock()
    """The agent and the timer both judge points: each judges and sends what it said as one
    step, so a point's signals reach Kafka in the order they were said (a raise overtaken
    by its clear would stay open for good: the book ignores a clear of nothing)."""

    @app.agent(emit.topics.readings, name="readings")
    async def store_readings(stream: faust.StreamT[bytes]) -> None:
        # Iterate from the start and wait for the registry inside the loop: events that reach
        # an agent before it iterates have been seen to be acked without being processed.
        async for batch in stream.take_events(settings.batch_records,
                                              within=settings.batch_within_s):
            with unless_finished(batch):
                await ctx.ready.wait()
                await _process(batch)

    async def _process(batch: Sequence[EventT]) -> None:
        started = time.monotonic()
        records, ticks = split_ticks(batch)
        readings, bad = decode_batch([e.value for e in records])
        written, unwritable = reading_lines(readings, ctx.registry)
        refused = await store(writer, [line for _, line in written], settings.batch_max)
        await emit.dead_letters([*bad, *unwritable, *(refused_line(line, why, MEASUREMENT)
                                                      for line, why in refused)])
        refused_lines = {line for line, _ in refused}
        stored = [r for r, line in written if line not in refused_lines]
        metrics.readings_stored.inc(len(stored))
        stored_at = time.monotonic()
        metrics.batch_seconds.labels(stage="store").observe(stored_at - started)
        async with judging:
            await emit.outputs(tracker.apply(stored))
        here: dict[int, set[int]] = {}
        for e in batch:
            here.setdefault(e.message.partition, set()).add(e.message.offset)
        trusted = ctx.trusted_now()
        advance_watermarks(ticks, here)
        if ticks and (ctx.trusted_now() or 0.0) > (trusted or 0.0):
            # judge at once what the new watermark makes due, not at the timer's next turn
            async with judging:
                await emit.outputs(tracker.sweep())
        metrics.batch_seconds.labels(stage="judge").observe(time.monotonic() - stored_at)

    def advance_watermarks(ticks: list[tuple[EventT, Tick]], here: dict[int, set[int]]) -> None:
        for event, tick in ticks:
            # A tick vouches for what came before it in its partition: only once all of that
            # is done (an event lost on its way here is read again first, see streams.acks).
            # Nor does a tick fetched before the last rebalance: the partition is being read
            # again from its committed offset, into a restored state.
            tp, offset = event.message.tp, event.message.offset
            if event.message.generation_id != app.consumer_generation_id or \
                    not all_done_before(app.consumer, tp, offset, here[tp.partition]):
                continue
            ts = tick.tick.timestamp()
            ctx.note_tick(event.message.partition, tick.ingest, ts, time.time())
            metrics.tick_age.observe(time.time() - ts)

    stall = StallWatch(settings.stall_after_s)
    flush_due = [0.0]

    @app.timer(interval=settings.sweep_interval_s, name="gap-sweep")
    async def sweep_gaps() -> None:
        if not ctx.ready.is_set():
            return
        ctx.assigned = frozenset(tp.partition for tp in app.assignor.assigned_actives()
                                 if tp.topic == settings.topics.readings)
        ctx.settle_watermarks(time.time())
        async with judging:
            await emit.outputs(tracker.sweep())
        if time.monotonic() >= flush_due[0]:
            tracker.flush()
            flush_due[0] = time.monotonic() + settings.state_flush_s
        metrics.write_failures.set(writer.failures)
        trusted = ctx.trusted_now()
        if trusted is not None:
            metrics.watermark_lag.set(max(0.0, time.time() - trusted))
        signal = stall.check(ctx, writer.failures)
        if signal is not None:
            await emit.signal(signal)


class StallWatch:
    """One `pipeline_stalled` alert when the watermark stops, instead of a gap per point."""

    def __init__(self, stall_after_s: float) -> None:
        self._after = stall_after_s
        self._started = time.time()
        self._stalled: bool | None = None

    def check(self, ctx: WorkerContext, write_failures: int) -> AlertSignal | None:
        if not ctx.assigned:
            return None
        now = time.time()
        trusted = ctx.trusted_now()
        stalled = now - (trusted if trusted is not None else self._started) > self._after
        if stalled == self._stalled or (not stalled and trusted is None):
            # A worker that has seen no tick yet has no evidence the pipeline flows: a restart
            # during a stall must not resolve the stall alert (a second one would follow).
            return None
        self._stalled = stalled
        at = datetime.now(UTC)
        since = None if trusted is None else datetime.fromtimestamp(trusted, UTC)
        return AlertSignal(op="raise" if stalled else "clear", kind="pipeline_stalled",
                           subject="pipeline", zone=SYSTEM_ZONE, incident_start=since, at=at,
                           detail={"threshold_s": self._after,
                                   "influx_write_failures": write_failures})
