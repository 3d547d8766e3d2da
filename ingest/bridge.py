"""The ingest loop: MQTT messages in, decoded, onto Kafka, and only then acknowledged."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTimestampError,
    InvalidTopicError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)

from ingest.batches import Outgoing, group
from ingest.decode import Decoder, Record
from ingest.metrics import IngestMetrics
from ingest.mqtt_source import Message, MqttSource
from ingest.ticks import Ticker
from schemas import DeadLetter

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

REFUSED_FOR_GOOD = (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError,
                    InvalidTopicError, InvalidTimestampError, CorruptRecordException)
"""Kafka errors about the record itself, which no retry cures. Not `not retriable`: aiokafka
marks a timeout, what a Kafka outage gives, as not retriable too."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def marker_time(msg: Message) -> datetime | None:
    """The time a watermark marker carries; None for a payload that is not one (logged)."""
    try:
        at = datetime.fromisoformat(msg.payload.decode())
    except (UnicodeDecodeError, ValueError):
        log.warning("ignored a malformed watermark marker on %s: %r", msg.topic, msg.payload[:64])
        return None
    return at if at.tzinfo is not None else None


class Bridge:
    """Moves batches from an `MqttSource` to Kafka; a message is acked once Kafka has it.

    The watermark ticks say "every message published before T is in Kafka". An empty local
    queue does not prove that: after a Kafka outage the broker holds a backlog for us and hands
    it over a Receive Maximum at a time, so the queue runs empty between handovers while older
    messages still wait at the broker. So each tick interval the bridge publishes a marker with
    the time T to its own topic; the broker queues it behind everything it already holds for
    us, in order. When the marker comes back, and the batch it came in is in Kafka, T is true.
    """

    def __init__(self, source: MqttSource, producer: AIOKafkaProducer,
                 decoder: Callable[[], Decoder], metrics: IngestMetrics, ticker: Ticker, *,
                 deadletter_topic: str, readings_topic: str, readings_partitions: int,
                 batch_max: int = 500, linger_s: float = 0.02, clock: Clock = utc_now) -> None:
        self._source = source
        self._producer = producer
        self._decoder = decoder
        self._metrics = metrics
        self._ticker = ticker
        self._claimed: datetime | None = None
        """The newest marker time that came back and whose batch is in Kafka."""
        self._deadletter_topic = deadletter_topic
        self._readings_topic = readings_topic
        self._partitions = readings_partitions
        self._batch_max = batch_max
        self._linger_s = linger_s
        self._clock = clock

    async def run(self) -> None:
        while True:
            if self._ticker.due():
                self._ticker.sent()
                self._source.publish_marker(self._clock())
            batch = await self._next_batch()
            if not batch:
                continue
            started = time.monotonic()
            marks = [m for m in batch if m.topic == self._source.watermark_topic]
            inputs = [m for m in batch if m.topic != self._source.watermark_topic]
            await self._send_all(group([self._route(m) for m in inputs],
                                       self._readings_topic, self._partitions))
            for msg in batch:
                self._source.ack(msg)
            self._metrics.batch_seconds.observe(time.monotonic() - started)
            times = [t for t in map(marker_time, marks) if t is not None]
            if not times:
                continue
            claim = self._source.outage.cap(max(times), self._clock())
            if self._claimed is None or claim > self._claimed:
                self._claimed = claim
                await self._ticker.send(claim, self._source.connected)

    async def _next_batch(self) -> list[Message]:
        """Up to `batch_max` messages, lingering briefly; empty after a tick's interval of
        silence (markers go out from the loop that calls this)."""
        try:
            first = await asyncio.wait_for(self._source.get(), timeout=self._ticker.interval_s)
        except TimeoutError:
            return []
        batch = [first]
        deadline = time.monotonic() + self._linger_s
        while len(batch) < self._batch_max:
            msg = self._source.get_nowait()
            if msg is None:
                if time.monotonic() >= deadline:
                    break
                await asyncio.sleep(min(0.005, self._linger_s))
                continue
            batch.append(msg)
        return batch

    def _route(self, msg: Message) -> Record:
        kind = msg.topic.rsplit("/", 1)[-1]
        self._metrics.received.labels(kind=kind if len(kind) < 16 else "other").inc()
        out = self._decoder().decode(msg.topic, msg.payload, self._clock())
        if isinstance(out, DeadLetter):
            log.debug("dead letter (%s) from %s: %s", out.code, msg.topic, out.reason)
            return self._letter(out, msg.topic.encode())
        return out

    def _letter(self, letter: DeadLetter, key: bytes, messages: int = 1) -> Record:
        """A dead letter as its record for the dead-letter topic, counted once per message."""
        self._metrics.deadletters.labels(code=letter.code).inc(messages)
        return Record(self._deadletter_topic, key, letter.model_dump_json().encode())

    async def _send_all(self, records: list[Outgoing]) -> None:
        """Send every record; retry the failed ones with backoff until Kafka takes them all.
        A record Kafka can never take goes on as a dead letter instead (`_refused`)."""
        pending, attempt = records, 0
        while pending:
            results = await asyncio.gather(*(self._send_one(r) for r in pending))
            failed: list[tuple[Outgoing, KafkaError]] = []
            refused: list[Outgoing] = []
            for r, err in zip(pending, results, strict=True):
                if err is None:
                    self._metrics.forwarded.labels(topic=r.record.topic).inc(r.messages)
                elif isinstance(err, REFUSED_FOR_GOOD):
                    refused += self._refused(r, err)
                else:
                    failed.append((r, err))
            if failed:
                attempt += 1
                self._metrics.kafka_retries.inc(sum(r.messages for r, _ in failed))
                delay = min(5.0, 0.2 * 2 ** attempt) * (0.5 + random.random())
                first = failed[0][1]
                log.warning("Kafka refused %d records (%s: %s); retry %d in %.1f s",
                            len(failed), type(first).__name__, first, attempt, delay)
                await asyncio.sleep(delay)
            pending = [r for r, _ in failed] + refused

    def _refused(self, out: Outgoing, err: KafkaError) -> list[Outgoing]:
        """A record Kafka refused for good becomes a dead letter that says why; a dead letter
        refused for good is logged and counted. Either way the batch goes on."""
        r = out.record
        self._metrics.refused.labels(topic=r.topic, error=type(err).__name__).inc(out.messages)
        if r.topic == self._deadletter_topic:
            log.error("Kafka refused a dead letter for good (%s: %s), dropped: %.300r",
                      type(err).__name__, err, r.value)
            return []
        letter = DeadLetter.of(r.value, topic=r.topic, code="kafka_refused",
                               reason=f"Kafka refused this record for {r.topic} for good "
                               f"({type(err).__name__}: {err})",
                               received_at=self._clock(), stage="ingest-send")
        log.warning("Kafka refused a record for %s for good (%s); sent to dead letters",
                    r.topic, type(err).__name__)
        return [Outgoing(self._letter(letter, r.key, out.messages), None, out.messages)]

    async def _send_one(self, out: Outgoing) -> Exception | None:
        r = out.record
        try:
            delivery = await self._producer.send(r.topic, r.value, key=r.key or None,
                                                 partition=out.partition)
            await delivery
        except KafkaError as exc:
            return exc
        return None
