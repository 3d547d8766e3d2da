"""Alert agents: the book (signals → changes) and the sink (changes → InfluxDB and MQTT)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import faust
from faust.types import EventT
from pydantic import ValidationError

from schemas import Alert
from schemas.pipeline import AlertSignal
from streams.alerting import apply_signal
from streams.context import WorkerContext
from streams.storage import InfluxWriter, alert_point
from streams.topics import StreamTopics
from zonewatch.mqtt import Publisher

log = logging.getLogger(__name__)


def mqtt_topic(alert: Alert) -> str:
    return f"zw/v1/alerts/{alert.zone}/{alert.kind.value}"


def register(app: faust.App, ctx: WorkerContext, topics: StreamTopics, writer: InfluxWriter,
             publisher: Publisher) -> None:
    book = app.Table("alert-book", partitions=ctx.settings.readings_partitions,
                     key_type=bytes)

    @app.agent(topics.alert_signals, name="alert-book")
    async def keep_book(stream: faust.StreamT[bytes]) -> None:
        await ctx.ready.wait()
        async for event in stream.events():
            try:
                sig = AlertSignal.model_validate_json(event.value)
            except ValidationError as e:
                log.warning("bad alert signal: %s", e)
                continue
            try:
                change = apply_signal(book.get(event.key), sig, ctx.registry)
            except Exception:  # a bug for one signal must not wedge every alert behind it
                log.exception("alert signal %s not applied", event.key)
                continue
            if change is not None:
                book[event.key] = change.entry()
                await topics.alerts.send(key=change.alert.id.encode(),
                                         value=change.alert.model_dump_json().encode())

    @app.agent(topics.alerts, name="alert-sink")
    async def deliver(stream: faust.StreamT[bytes]) -> None:
        await publisher.start()
        try:
            async for batch in stream.take_events(500, within=0.2):
                await _deliver(batch)
        finally:
            await publisher.stop()

    async def _deliver(batch: Sequence[EventT]) -> None:
        alerts = []
        for event in batch:
            try:
                alerts.append(Alert.model_validate_json(event.value))
            except ValidationError as e:
                log.warning("bad alert record: %s", e)
        await writer.write([alert_point(a) for a in alerts])
        messages = [(mqtt_topic(a), a.model_dump_json().encode()) for a in alerts]
        while True:  # at-least-once: receivers de-duplicate on (id, status)
            try:
                await publisher.publish(messages)
                return
            except TimeoutError:
                log.warning("MQTT did not acknowledge %d alert messages; retrying",
                            len(messages))
                await asyncio.sleep(1)
