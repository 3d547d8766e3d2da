"""The readings agent: batches into InfluxDB, then into point states; and the gap timer."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import faust
from faust.types import EventT
from influxdb_client import WritePrecision
from pydantic import ValidationError

from alerts.lifecycle import SYSTEM_ZONE
from schemas import DeadLetter, ReadingEvent
from schemas.errors import describe
from schemas.pipeline import TICK_KEY, AlertSignal, Tick
from streams.context import WorkerContext
from streams.emit import Emitter
from streams.metrics import WorkerMetrics
from streams.points import PointTracker
from streams.storage import InfluxWriter, Rejected, WriteAborted, reading_line

log = logging.getLogger(__name__)


def decode_batch(raw: list[bytes]) -> tuple[list[ReadingEvent], list[DeadLetter]]:
    """Split a batch into readings and dead letters; a bad record never stops the stream."""
    good: list[ReadingEvent] = []
    bad: list[DeadLetter] = []
    for value in raw:
        try:
            good.append(ReadingEvent.model_validate_json(value))
        except ValidationError as e:
            bad.append(DeadLetter.of(value, topic="kafka:zw.readings", code="invalid",
                                     reason=f"ReadingEvent: {describe(e)}",
                                     received_at=datetime.now(UTC), stage="worker"))
    return good, bad


def split_ticks(batch: Sequence[EventT]) -> tuple[list[EventT], list[tuple[int, Tick]]]:
    records, ticks = [], []
    for event in batch:
        if event.key == TICK_KEY:
            try:
                ticks.append((event.message.partition, Tick.model_validate_json(event.value)))
            except ValidationError:
                log.warning("malformed tick at %s", event.message.tp)
        else:
            records.append(event)
    return records, ticks


def register(app: faust.App, ctx: WorkerContext, writer: InfluxWriter, tracker: PointTracker,
             emit: Emitter, metrics: WorkerMetrics) -> None:
    """Add the readings agent and the gap timer to `app`."""
    settings = ctx.settings

    @app.agent(emit.topics.readings, name="readings")
    async def store_readings(stream: faust.StreamT[bytes]) -> None:
        # Iterate from the start and wait for the registry inside the loop: events that reach
        # an agent before it iterates have been seen to be acked without being processed.
        async for batch in stream.take_events(settings.batch_max,
                                              within=settings.batch_within_s):
            await ctx.ready.wait()
            await _process(batch)

    async def _process(batch: Sequence[EventT]) -> None:
        records, ticks = split_ticks(batch)
        readings, bad = decode_batch([e.value for e in records])
        await emit.dead_letters(bad)
        for letter in bad:
            metrics.deadletters.labels(code=letter.code).inc()
        try:
            await writer.write([reading_line(r) for r in readings], WritePrecision.S)
            metrics.readings_stored.inc(len(readings))
        except Rejected as r:
            await emit.dead_letters([_refused(p, r.reason) for p in r.points])
        except WriteAborted:
            abandon(batch)
            raise
        await emit.outputs(tracker.apply(readings))
        for partition, tick in ticks:
            ts = tick.tick.timestamp()
            ctx.watermarks[partition] = max(ctx.watermarks.get(partition, ts), ts)

    stall = StallWatch(settings.stall_after_s)
    flush_due = [0.0]

    @app.timer(interval=settings.sweep_interval_s, name="gap-sweep")
    async def sweep_gaps() -> None:
        if not ctx.ready.is_set():
            return
        ctx.assigned = frozenset(tp.partition for tp in app.assignor.assigned_actives()
                                 if tp.topic == settings.topics.readings)
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
        if stalled == self._stalled:
            return None
        self._stalled = stalled
        at = datetime.now(UTC)
        since = None if trusted is None else datetime.fromtimestamp(trusted, UTC)
        return AlertSignal(op="raise" if stalled else "clear", kind="pipeline_stalled",
                           subject="pipeline", zone=SYSTEM_ZONE, incident_start=since, at=at,
                           detail={"threshold_s": self._after,
                                   "influx_write_failures": write_failures})


def abandon(batch: Sequence[EventT]) -> None:
    """Keep these offsets from being committed: the batch is read again after a restart.

    `take_events()` acks its batch when the loop body exits, even by an exception; a message
    already marked acked is skipped there without reaching the consumer's commit bookkeeping.
    """
    for event in batch:
        event.message.acked = True


def _refused(point: object, reason: str) -> DeadLetter:
    line = point if isinstance(point, str) else point.to_line_protocol()
    return DeadLetter.of(line.encode(), topic="influxdb:reading", code="influx_rejected",
                         reason=reason, received_at=datetime.now(UTC), stage="worker")
