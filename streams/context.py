"""What every agent and timer of one worker shares: the registry, the rules, the watermark."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import cached_property

from schemas import Registry
from streams.config import StreamSettings
from streams.coverage import RegistryView
from streams.point_state import Rules
from zonewatch.heap import give_back_freed_memory
from zonewatch.topics import partition_of


class RegistryIndex:
    """The registry with what the worker looks up per event precomputed."""

    def __init__(self, registry: Registry, partitions: int) -> None:
        self.registry = registry
        self.partitions = partitions

    @cached_property
    def view(self) -> RegistryView:
        return RegistryView.of(self.registry)

    @cached_property
    def point_partition(self) -> dict[str, int]:
        return {p.id: partition_of(p.id.encode(), self.partitions) for p in self.registry.points}

    @cached_property
    def zone_partition(self) -> dict[str, int]:
        return {z.id: partition_of(z.id.encode(), self.partitions) for z in self.registry.zones}


class WorkerContext:
    def __init__(self, settings: StreamSettings, rules: Rules) -> None:
        self.settings = settings
        self.rules = rules
        self.index: RegistryIndex | None = None
        self.ready = asyncio.Event()
        self.watermarks: dict[int, float] = {}
        """readings partition → the time its ticks vouch for (epoch s), see `note_tick`."""
        self._ticks: dict[int, dict[str, tuple[float, float]]] = {}
        """readings partition → ingest id → (newest tick time, wall time it came)."""
        self.assigned: frozenset[int] = frozenset()
        self.rebalances = 0
        """Counted as each rebalance begins: state derived from tables is rebuilt after one."""
        self.streaming: Callable[[], bool] = lambda: True
        """False while a rebalance is under way or tables are still recovering (set by the
        app); the health check reports it."""

    def use_registry(self, registry: Registry) -> None:
        self.index = RegistryIndex(registry, self.settings.readings_partitions)
        give_back_freed_memory()  # what parsing it left behind (and the registry it replaces)
        self.ready.set()

    @property
    def registry(self) -> Registry:
        assert self.index is not None, "no registry yet"
        return self.index.registry

    def note_tick(self, partition: int, ingest: str, tick: float, now: float) -> None:
        """A tick of one ingest, processed in order behind what it vouches for."""
        seen = self._ticks.setdefault(partition, {})
        held = seen.get(ingest)
        seen[ingest] = (tick if held is None else max(held[0], tick), now)
        self._settle(partition, now)

    def settle_watermarks(self, now: float) -> None:
        """Let partitions move past ingests that have been gone for `ingest_gone_s`."""
        for partition in self._ticks:
            self._settle(partition, now)

    def _settle(self, partition: int, now: float) -> None:
        """Each ingest vouches only for what was published to it, and with a shared MQTT
        subscription each gets a share of every partition's points: a partition is vouched
        for up to the oldest tick of the ingests still ticking (one that died or was scaled
        down stops holding it back after `ingest_gone_s`). It never moves back."""
        alive = [t for t, at in self._ticks[partition].values()
                 if now - at <= self.settings.ingest_gone_s]
        if alive:
            mark = min(alive)
            self.watermarks[partition] = max(self.watermarks.get(partition, mark), mark)

    def forget_watermarks(self) -> None:
        """After a rebalance, silence may be judged only from ticks read again."""
        self.watermarks.clear()
        self._ticks.clear()

    def trusted_now(self) -> float | None:
        """The time up to which silence can be judged: the oldest watermark of the partitions
        this worker owns; None until each of them has seen a tick."""
        if not self.assigned or any(p not in self.watermarks for p in self.assigned):
            return None
        return min(self.watermarks[p] for p in self.assigned)
