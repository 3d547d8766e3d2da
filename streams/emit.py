"""Sending what the agents decide onto Kafka, keyed so the next stage sees it together."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter

from schemas import DeadLetter, MaintenanceWindow
from schemas.pipeline import AlertSignal, PointStatusChange, SignalBatch, StatusBatch
from streams.points import Outputs
from streams.topics import StreamTopics
from zonewatch.topics import by_partition


class Emitter:
    """Status changes and signals go out as one batch record per partition: Faust's cost
    per record is paid once for a whole pass over points, however many it moved."""

    def __init__(self, topics: StreamTopics, partitions: int, deadletters: Counter) -> None:
        self.topics = topics
        self.partitions = partitions
        self._deadletters = deadletters
        """`zw_worker_deadletters_total{code}`, counted as each is sent."""

    async def dead_letters(self, letters: list[DeadLetter]) -> None:
        for letter in letters:
            await self.topics.deadletter.send(key=letter.topic.encode(),
                                              value=letter.model_dump_json().encode())
            self._deadletters.labels(code=letter.code).inc()

    async def statuses(self, changes: Sequence[PointStatusChange]) -> None:
        """To the partition of their zone, so one worker sees its whole zone."""
        for partition, group in by_partition(changes, lambda c: c.zone.encode(),
                                             self.partitions).items():
            await self.topics.point_status.send(
                partition=partition, value=StatusBatch(changes=group).model_dump_json().encode())

    async def signals(self, signals: Sequence[AlertSignal]) -> None:
        """To the partition of kind:subject, so one alert-book entry only ever sees its own
        signals, in the order they were said."""
        for partition, group in by_partition(signals, lambda s: s.key,
                                             self.partitions).items():
            await self.topics.alert_signals.send(
                partition=partition, value=SignalBatch(signals=group).model_dump_json().encode())

    async def signal(self, sig: AlertSignal) -> None:
        await self.signals([sig])

    async def maintenance(self, window_id: str, window: MaintenanceWindow | None) -> None:
        """Declare a window (None: withdraw it, a tombstone); returns once Kafka has it:
        every worker's `MaintenanceFeed` picks it up within about a second."""
        value = None if window is None else window.model_dump_json().encode()
        sent = await self.topics.maintenance.send(key=window_id.encode(), value=value)
        await sent

    async def outputs(self, out: Outputs) -> None:
        await self.statuses(out.changes)
        await self.signals(out.signals)
