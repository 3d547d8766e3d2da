"""The Kafka topics zonewatch owns, created with the right shape before anything uses them."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import murmur2

from zonewatch.settings import CommonSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

_REGISTRY_CONFIG = {"cleanup.policy": "compact", "max.message.bytes": str(32 * 1024 * 1024)}
_COMPACT = {"cleanup.policy": "compact"}


def partition_of(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner (murmur2), as the producers that key by point or zone use:
    ingest batches readings by it, the worker finds which points it owns by it."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def by_partition(items: Iterable[T], key_of: Callable[[T], bytes],
                 partitions: int) -> dict[int, list[T]]:
    """Items grouped by the partition of their key, each group in the items' order."""
    groups: dict[int, list[T]] = {}
    for item in items:
        groups.setdefault(partition_of(key_of(item), partitions), []).append(item)
    return groups


def topic_specs(settings: CommonSettings) -> list[NewTopic]:
    t, n = settings.topics, settings.readings_partitions
    return [
        NewTopic(t.readings, n, 1),
        NewTopic(t.events, n, 1),
        NewTopic(t.deadletter, 1, 1),
        NewTopic(t.alerts, n, 1),
        NewTopic(t.point_status, n, 1),
        NewTopic(t.alert_signals, n, 1),
        NewTopic(t.alert_commands, n, 1),
        NewTopic(t.registry, 1, 1, topic_configs=_REGISTRY_CONFIG),
        NewTopic(t.maintenance, 1, 1, topic_configs=_COMPACT),
    ]


def changelog_specs(names: list[str], partitions: int) -> list[NewTopic]:
    """Faust's table changelogs, created up front: Faust creating them itself races with
    the first rebalance on a fresh cluster (PartitionsMismatch: 0 partitions)."""
    return [NewTopic(n, partitions, 1, topic_configs=_COMPACT)
            for n in names]


async def ensure_topics(settings: CommonSettings, extra: Sequence[NewTopic] = ()) -> None:
    """Create missing topics; existing ones are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in [*topic_specs(settings), *extra] if s.name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process was first
                await admin.create_topics(missing)
            log.info("created Kafka topics: %s", ", ".join(s.name for s in missing))
    finally:
        await admin.close()
