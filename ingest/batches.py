"""Readings grouped per partition before they go to Kafka: one record carries many.

Pure: the bridge hands in what it decoded and sends what comes out. The partition is
Kafka's own (murmur2 of the point id), so the worker that owns a point's state owns its
readings, exactly as when each reading was keyed by its point.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.decode import Record
from schemas import ReadingBatch
from schemas.deadletter import RAW_KEPT_BYTES
from zonewatch.topics import by_partition


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A Kafka record and how many MQTT messages it carries (for the metrics)."""

    record: Record
    partition: int | None
    messages: int


MAX_RECORD_BYTES = RAW_KEPT_BYTES
"""Below the producer's 1 MiB request limit, whatever the readings' size; and no larger than
a dead letter keeps whole, so a batch Kafka refuses for good is dead-lettered uncut."""


def group(records: list[Record], readings_topic: str, partitions: int,
          max_bytes: int = MAX_RECORD_BYTES) -> list[Outgoing]:
    """Readings become one record per partition (in arrival order inside it; more than one
    when they would pass `max_bytes`); every other record (events, acks, dead letters) goes
    on as it is, keyed as before."""
    out = [Outgoing(r, None, 1) for r in records if r.topic != readings_topic]
    readings = by_partition([r for r in records if r.topic == readings_topic],
                            lambda r: r.key, partitions)
    for partition, group_ in sorted(readings.items()):
        for chunk in _chunks([r.value for r in group_], max_bytes):
            record = Record(readings_topic, b"", ReadingBatch.join(chunk))
            out.append(Outgoing(record, partition, len(chunk)))
    return out


_WRAPPER = len(ReadingBatch.join([]))


def _chunks(values: list[bytes], max_bytes: int) -> list[list[bytes]]:
    """Consecutive runs of `values` whose joined batch stays within `max_bytes` (a single
    value larger than that goes alone)."""
    chunks: list[list[bytes]] = [[]]
    size = _WRAPPER
    for v in values:
        if chunks[-1] and size + 1 + len(v) > max_bytes:
            chunks.append([])
            size = _WRAPPER
        size += len(v) + (1 if chunks[-1] else 0)
        chunks[-1].append(v)
    return chunks
