"""Alert agents: the book (signals → changes) and the sink (changes → InfluxDB, MQTT and the
routed channels), plus a timer for repeats, escalations and held alerts.

Delivery waits for the registry and for the maintenance windows to be read whole: a window
declared before a restart must hold the alerts replayed after it."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

import aiohttp
import faust
from faust.types import EventT
from pydantic import ValidationError

from alerts.deliver import DeliveryMetrics, Notifier, Outcome, RetryPolicy
from alerts.notify_log import NotifyState
from schemas import Alert, AlertKind
from schemas.pipeline import SignalBatch
from streams.acks import unless_finished
from streams.alerting import apply_signal
from streams.context import WorkerContext
from streams.maintenance import MaintenanceBook
from streams.metrics import WorkerMetrics
from streams.storage import InfluxWriter, alert_point
from streams.topics import StreamTopics
from zonewatch.mqtt import Publisher
from zonewatch.topics import partition_of

log = logging.getLogger(__name__)

KEEP_RESOLVED_S = 2 * 3600
"""How long a resolved subject's delivery state is kept (≥ the flap window)."""


def mqtt_topic(alert: Alert) -> str:
    return f"zw/v1/alerts/{alert.zone}/{alert.kind.value}"


class Delivery:
    """What the sink needs to deliver: MQTT, the routed channels and their per-subject state."""

    def __init__(self, publisher: Publisher, routes, policy: RetryPolicy,
                 metrics: DeliveryMetrics, maintenance: MaintenanceBook,
                 tick_s: float = 30.0) -> None:
        self.publisher = publisher
        self.routes, self.policy, self.metrics = routes, policy, metrics
        self.maintenance, self.tick_s = maintenance, tick_s
        self.notifier: Notifier | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        await self.publisher.start()
        self._session = aiohttp.ClientSession()
        self.notifier = Notifier(self.routes, self._session, self.metrics, self.policy,
                                 windows=self.maintenance.windows)

    async def stop(self) -> None:
        await self.publisher.stop()
        if self._session is not None:
            await self._session.close()

    async def publish(self, alerts: list[Alert]) -> None:
        messages = [(mqtt_topic(a), a.model_dump_json().encode()) for a in alerts]
        while True:  # at-least-once: receivers de-duplicate on (id, status)
            try:
                await self.publisher.publish(messages)
                return
            except TimeoutError:
                log.warning("MQTT did not acknowledge %d alert messages; retrying",
                            len(messages))
                await asyncio.sleep(1)


def register(app: faust.App, ctx: WorkerContext, topics: StreamTopics, writer: InfluxWriter,
             delivery: Delivery, metrics: WorkerMetrics) -> None:
    n = ctx.settings.readings_partitions
    book = app.Table("alert-book", partitions=n, key_type=bytes)
    notify = app.Table("alert-notify", partitions=n, key_type=bytes, use_partitioner=True)

    async def dead(outcome: Outcome) -> None:
        for letter in outcome.dead_letters:
            await topics.deadletter.send(key=letter.topic.encode(),
                                         value=letter.model_dump_json().encode())

    @app.agent(topics.alert_signals, name="alert-book")
    async def keep_book(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():  # iterate first, then wait (see readings.py)
            with unless_finished(event):
                await ctx.ready.wait()
                await book_signals(event)

    async def book_signals(event: EventT) -> None:
        try:
            signals = SignalBatch.model_validate_json(event.value).signals
        except ValidationError as e:
            log.warning("bad record on %s: %s", event.message.tp, e)
            return
        for sig in signals:
            try:
                change = apply_signal(book.get(sig.key), sig, ctx.registry)
            except Exception:  # a bug for one signal must not wedge every alert behind it
                log.exception("alert signal %s not applied", sig.key)
                continue
            if change is not None:
                book[sig.key] = change.entry()
                await topics.alerts.send(key=change.key.encode(),
                                         value=change.alert.model_dump_json().encode())

    async def notify_subject(key: bytes, alerts: list[Alert]) -> None:
        assert delivery.notifier is not None
        for alert in alerts:  # in order within a subject
            outcome = await delivery.notifier.notify(alert, NotifyState.from_dict(notify.get(key)))
            notify[key] = outcome.state.to_dict()
            await dead(outcome)

    async def ready() -> None:
        await ctx.ready.wait()
        await delivery.maintenance.ready.wait()

    @app.agent(topics.alerts, name="alert-sink")
    async def deliver(stream: faust.StreamT[bytes]) -> None:
        await delivery.start()
        try:
            async for batch in stream.take_events(500, within=0.05):
                with unless_finished(batch):
                    await ready()  # inside the loop: acked only once processed (readings.py)
                    await sink(batch)
        finally:
            await delivery.stop()

    async def sink(batch: Sequence[EventT]) -> None:
        by_key = _alerts_by_key(batch)
        alerts = [a for group in by_key.values() for a in group]
        for a in alerts:
            metrics.alert_changes.labels(kind=a.kind.value, status=a.status.value).inc()
        # both before the batch is acked; neither waits for the other
        await asyncio.gather(writer.write([alert_point(a) for a in alerts]),
                             delivery.publish(alerts))
        await asyncio.gather(*(notify_subject(k, v) for k, v in by_key.items()))

    @app.timer(interval=15.0, name="open-alerts")
    async def count_open() -> None:
        """Open alerts by kind, counted from the books this worker owns (right after a
        restart too, unlike a gauge moved up and down by changes)."""
        counts: dict[str, int] = defaultdict(int)
        for key, entry in list(book.items()):
            if partition_of(key, n) in ctx.assigned and entry.get("status") != "resolved":
                counts[str(entry.get("kind"))] += 1
        for kind in AlertKind:
            metrics.open_alerts.labels(kind=kind.value).set(counts.get(kind.value, 0))

    @app.timer(interval=delivery.tick_s, name="alert-ticks")
    async def tick_subjects() -> None:
        """Repeats, escalations, Alertmanager refreshes, alerts released from a hold."""
        if delivery.notifier is None or not (ctx.ready.is_set()
                                             and delivery.maintenance.ready.is_set()):
            return
        now = datetime.now(UTC)
        for key, value in list(notify.items()):
            if partition_of(key, n) not in ctx.assigned:
                continue  # a standby copy: its owner ticks it
            state = NotifyState.from_dict(value)
            if state.expired(now, KEEP_RESOLVED_S):
                del notify[key]
                continue
            outcome = await delivery.notifier.tick(state)
            notify[key] = outcome.state.to_dict()
            await dead(outcome)


def _alerts_by_key(batch: Sequence[EventT]) -> dict[bytes, list[Alert]]:
    out: dict[bytes, list[Alert]] = defaultdict(list)
    for event in batch:
        try:
            out[event.key].append(Alert.model_validate_json(event.value))
        except ValidationError as e:
            log.warning("bad alert record: %s", e)
    return out
