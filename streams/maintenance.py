"""Maintenance windows for delivery: the registry's, and those declared through the API.

An API window travels on a compacted Kafka topic (key: window id; value: the window as JSON, a
tombstone once withdrawn) that every worker reads whole, like the registry's topic: each worker
delivers the alerts of its own partitions, so each must know every window, whichever worker
took the request. Not a Faust GlobalTable: with several workers those are known to miss
updates (robinhood/faust#541, #716), and a plain consumer of one partition is simple and sure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from schemas import MaintenanceWindow, Registry
from zonewatch.settings import CommonSettings

log = logging.getLogger(__name__)

Source = Literal["registry", "api"]


@dataclass(frozen=True, slots=True)
class Listed:
    """A window as the API shows it: where it was declared and the zone it is in."""

    window: MaintenanceWindow
    source: Source
    zone: str | None

    def as_json(self) -> dict[str, object]:
        return {**self.window.model_dump(mode="json"), "id": self.window.key,
                "source": self.source, "zone": self.zone}


class MaintenanceBook:
    """Every window this worker knows: the current registry's and the API's (from the topic).

    `ready` is set once the topic has been read to its end at start: until then a window
    declared before a restart would be missing, and its alerts delivered.
    """

    def __init__(self, registry: Callable[[], Registry | None]) -> None:
        self._registry = registry
        self.declared: dict[str, MaintenanceWindow] = {}
        self.ready = asyncio.Event()

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One record of the topic: a window, or a tombstone withdrawing one."""
        if not key:
            return
        window_id = key.decode(errors="replace")
        if not value:
            self.declared.pop(window_id, None)
            return
        try:
            window = MaintenanceWindow.model_validate_json(value)
        except ValidationError as e:
            log.error("maintenance window %s is not valid, ignored: %s", window_id, e)
            return
        self.declared[window_id] = window.model_copy(update={"id": window_id})

    def windows(self) -> list[MaintenanceWindow]:
        """What delivery holds alerts by (the Notifier's `windows`)."""
        registry = self._registry()
        return [*(registry.maintenance if registry else ()), *self.declared.values()]

    def listed(self) -> list[Listed]:
        registry = self._registry()
        zone = registry.zone_of_window if registry else (lambda _w: None)
        found = [Listed(w, "registry", zone(w)) for w in (registry.maintenance if registry
                                                            else ())]
        found += [Listed(w, "api", zone(w)) for w in self.declared.values()]
        return found

    def find(self, window_id: str) -> Listed | None:
        return next((x for x in self.listed() if x.window.key == window_id), None)


class MaintenanceFeed:
    """Reads the maintenance topic whole into a `MaintenanceBook`, then follows it."""

    def __init__(self, settings: CommonSettings, book: MaintenanceBook) -> None:
        self._settings, self._book = settings, book
        self._tp = TopicPartition(settings.topics.maintenance, 0)
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        """Read to the end of the topic, then mark the book ready."""
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self._settings.kafka_bootstrap,
                                          enable_auto_commit=False)
        await self._consumer.start()
        self._consumer.assign([self._tp])
        await self._consumer.seek_to_beginning(self._tp)
        end = (await self._consumer.end_offsets([self._tp]))[self._tp]
        while await self._consumer.position(self._tp) < end:
            await self._poll(timeout_ms=1000)
        log.info("maintenance windows: %d declared through the API", len(self._book.declared))
        self._book.ready.set()

    async def run(self) -> None:
        while True:
            await self._poll(timeout_ms=1000)

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def _poll(self, timeout_ms: int) -> None:
        assert self._consumer is not None
        batches = await self._consumer.getmany(self._tp, timeout_ms=timeout_ms)
        for msg in batches.get(self._tp, []):
            self._book.apply(msg.key, msg.value)
        await asyncio.sleep(0)
