"""The readings agent: batches from `zw.readings` into InfluxDB, then lets the offsets move."""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import faust
from faust.types import EventT
from pydantic import ValidationError

from schemas import DeadLetter, ReadingEvent
from schemas.errors import describe
from streams.config import StreamSettings
from streams.storage import InfluxWriter, Rejected, WriteAborted, reading_point

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


def register(app: faust.App, settings: StreamSettings, writer: InfluxWriter) -> None:
    """Add the readings agent to `app`."""
    readings = app.topic(settings.topics.readings, key_type=bytes, value_type=bytes,
                         value_serializer="raw", key_serializer="raw")
    deadletters = app.topic(settings.topics.deadletter, key_type=bytes, value_type=bytes,
                            value_serializer="raw", key_serializer="raw")

    async def send_dead(letters: list[DeadLetter]) -> None:
        for letter in letters:
            await deadletters.send(key=letter.topic.encode(),
                                   value=letter.model_dump_json().encode())

    @app.agent(readings, name="readings")
    async def store_readings(stream: faust.StreamT[bytes]) -> None:
        await writer.start()
        try:
            async for batch in stream.take_events(settings.batch_max,
                                                  within=settings.batch_within_s):
                readings, bad = decode_batch([e.value for e in batch])
                await send_dead(bad)
                try:
                    await writer.write([reading_point(r) for r in readings])
                except Rejected as r:
                    await send_dead([_refused(p, r.reason) for p in r.points])
                except WriteAborted:
                    abandon(batch)
                    raise
        finally:
            await writer.stop()


def abandon(batch: Sequence[EventT]) -> None:
    """Keep these offsets from being committed: the batch is read again after a restart.

    `take_events()` acks its batch when the loop body exits, even by an exception; a message
    already marked acked is skipped there without reaching the consumer's commit bookkeeping.
    """
    for event in batch:
        event.message.acked = True


def _refused(point: object, reason: str) -> DeadLetter:
    line = point.to_line_protocol() if hasattr(point, "to_line_protocol") else str(point)
    return DeadLetter(reason=reason, code="influx_rejected", topic="influxdb:reading",
                      received_at=datetime.now(UTC),
                      raw_b64=base64.b64encode(line.encode()).decode(), stage="worker")
