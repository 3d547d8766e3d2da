"""Sending what the agents decide onto Kafka, keyed so the next stage sees it together."""

from __future__ import annotations

from schemas import DeadLetter, MaintenanceWindow
from schemas.pipeline import AlertSignal, PointStatusChange
from streams.points import Outputs
from streams.topics import StreamTopics


class Emitter:
    def __init__(self, topics: StreamTopics) -> None:
        self.topics = topics

    async def dead_letters(self, letters: list[DeadLetter]) -> None:
        for letter in letters:
            await self.topics.deadletter.send(key=letter.topic.encode(),
                                              value=letter.model_dump_json().encode())

    async def status(self, change: PointStatusChange) -> None:
        await self.topics.point_status.send(key=change.zone.encode(),
                                            value=change.model_dump_json().encode())

    async def signal(self, sig: AlertSignal) -> None:
        """Keyed by kind:subject, so one alert-book entry only ever sees its own signals."""
        await self.topics.alert_signals.send(key=f"{sig.kind}:{sig.subject}".encode(),
                                             value=sig.model_dump_json().encode())

    async def maintenance(self, window_id: str, window: MaintenanceWindow | None) -> None:
        """Declare a window (None: withdraw it, a tombstone); returns once Kafka has it:
        every worker's `MaintenanceFeed` picks it up within about a second."""
        value = None if window is None else window.model_dump_json().encode()
        sent = await self.topics.maintenance.send(key=window_id.encode(), value=value)
        await sent

    async def outputs(self, out: Outputs) -> None:
        for change in out.changes:
            await self.status(change)
        for sig in out.signals:
            await self.signal(sig)
