"""`zonewatch ingest`: wires the MQTT source, the registry, the decoder and Kafka together."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from urllib.parse import urlsplit

from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry, start_http_server

from ingest.bridge import Bridge
from ingest.config import IngestSettings
from ingest.decode import DecodeLimits, Decoder
from ingest.metrics import IngestMetrics
from ingest.mqtt_source import MqttSource
from ingest.ticks import Ticker
from schemas import Registry
from zonewatch.registry_feed import RegistryFeed
from zonewatch.topics import ensure_topics

log = logging.getLogger(__name__)


class Ingest:
    """One ingest process. No I/O until `start()`; `stop()` releases everything."""

    def __init__(self, settings: IngestSettings, metrics_registry: CollectorRegistry) -> None:
        self.settings = settings
        self.metrics = IngestMetrics(metrics_registry)
        self._metrics_registry = metrics_registry
        self._limits = DecodeLimits(settings.max_payload_bytes,
                                    timedelta(seconds=settings.max_future_skew_s))
        self._decoder: Decoder | None = None
        self.feed = RegistryFeed(settings, on_change=self._use_registry)
        self.source = MqttSource(settings)
        self.metrics.mqtt_connected.set_function(lambda: float(self.source.connected))
        self.producer = AIOKafkaProducer(
            # Not idempotent: aiokafka's idempotent producer wedges on OutOfOrderSequenceNumber
            # after a broker restart. Duplicates are harmless here: storage keeps a reading once.
            bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=False,
            linger_ms=5, max_batch_size=256 * 1024, request_timeout_ms=15_000)
        self._tasks: list[asyncio.Task[None]] = []

    def _use_registry(self, registry: Registry) -> None:
        self._decoder = Decoder(registry, self.settings.topics, self._limits)

    def decoder(self) -> Decoder:
        assert self._decoder is not None, "started without a registry"
        return self._decoder

    async def start(self) -> None:
        await ensure_topics(self.settings)
        await self.feed.start()
        await self.producer.start()
        await self._check_partitions()
        await self.source.start()
        ticker = Ticker(self.producer, self.settings.topics.readings,
                        self.settings.mqtt_client_id, self.settings.tick_interval_s)
        bridge = Bridge(self.source, self.producer, self.decoder, self.metrics, ticker,
                        deadletter_topic=self.settings.topics.deadletter,
                        readings_topic=self.settings.topics.readings,
                        readings_partitions=self.settings.readings_partitions,
                        batch_max=self.settings.batch_max,
                        linger_s=self.settings.batch_linger_ms / 1000)
        self._tasks = [asyncio.create_task(bridge.run(), name="bridge"),
                       asyncio.create_task(self.feed.run(), name="registry-feed")]

    async def _check_partitions(self) -> None:
        """Ingest picks a reading's partition from `readings_partitions`; one the topic lacks
        would fail every send (aiokafka: "Unrecognized partition"), so refuse to start."""
        topic, want = self.settings.topics.readings, self.settings.readings_partitions
        have = len(await self.producer.partitions_for(topic))
        if have < want:
            raise RuntimeError(
                f"Kafka topic {topic} has {have} partitions, but ZW_READINGS_PARTITIONS is "
                f"{want}: set it to {have} for every zonewatch process, or add partitions "
                f"to the topic")
        if have > want:
            log.warning("Kafka topic %s has %d partitions, ZW_READINGS_PARTITIONS is %d: "
                        "readings go to the first %d only", topic, have, want, want)

    async def run_forever(self) -> None:
        """Run until a task fails (then raise) or the process is cancelled."""
        done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.source.stop()
        await self.producer.stop()
        await self.feed.stop()


async def run(settings: IngestSettings) -> None:
    registry = CollectorRegistry()
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=registry)
    ingest = Ingest(settings, registry)
    await ingest.start()
    log.info("ingest running: %s → %s", shown_url(settings.mqtt.url),
             shown_url(settings.kafka_url))
    try:
        await ingest.run_forever()
    finally:
        await ingest.stop()


def shown_url(url: str) -> str:
    """`url` as a log may show it: any user and password in it masked."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()
