"""The registry travels on a compacted Kafka topic, so a reload reaches every process live."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import ValidationError

from schemas import Registry
from zonewatch.settings import CommonSettings

log = logging.getLogger(__name__)

REGISTRY_KEY = b"registry"


async def publish_registry(settings: CommonSettings, registry: Registry) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                                compression_type="gzip", max_request_size=32 * 1024 * 1024)
    await producer.start()
    try:
        await producer.send_and_wait(settings.topics.registry,
                                     registry.model_dump_json().encode(), key=REGISTRY_KEY)
    finally:
        await producer.stop()


class RegistryFeed:
    """Holds the newest registry from the topic and calls `on_change` when a new one arrives."""

    def __init__(self, settings: CommonSettings,
                 on_change: Callable[[Registry], None] | None = None) -> None:
        self._settings = settings
        self._on_change = on_change
        self._tp = TopicPartition(settings.topics.registry, 0)
        self._consumer: AIOKafkaConsumer | None = None
        self.current: Registry | None = None
        self._position = 0

    async def start(self) -> Registry:
        """Read the topic to its end; wait for a first registry if there is none yet."""
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self._settings.kafka_bootstrap,
                                          enable_auto_commit=False,
                                          fetch_max_bytes=64 * 1024 * 1024,
                                          max_partition_fetch_bytes=64 * 1024 * 1024)
        await self._consumer.start()
        self._consumer.assign([self._tp])
        await self._consumer.seek_to_beginning(self._tp)
        end = (await self._consumer.end_offsets([self._tp]))[self._tp]
        if end == 0:
            log.warning("no registry on %s yet: waiting for `zonewatch registry load FILE`",
                        self._tp.topic)
        while self._position < end or self.current is None:
            await self._poll(timeout_ms=2000)
        return self.current

    async def run(self) -> None:
        while True:
            await self._poll(timeout_ms=5000)

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def _poll(self, timeout_ms: int) -> None:
        assert self._consumer is not None
        batches = await self._consumer.getmany(self._tp, timeout_ms=timeout_ms)
        for msg in batches.get(self._tp, []):
            self._position = msg.offset + 1
            if msg.key == REGISTRY_KEY and msg.value:
                self._accept(msg.value, msg.offset)
        await asyncio.sleep(0)

    def _accept(self, value: bytes, offset: int) -> None:
        try:
            registry = Registry.model_validate_json(value)
        except ValidationError as e:
            log.error("registry at offset %d is not valid, keeping the previous one: %s",
                      offset, e)
            return
        self.current = registry
        log.info("registry at offset %d: %d zones, %d points", offset, len(registry.zones),
                 len(registry.points))
        if self._on_change is not None:
            self._on_change(registry)
