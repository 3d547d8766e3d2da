"""Watermark ticks: "every message published to this ingest before T is in Kafka now".

The bridge learns T from its markers (see `ingest.bridge.Bridge`); once the batch a marker
came back in is in Kafka, a tick with its time goes into every partition of the readings
topic. Workers judge silence only up to the ticks they have processed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from schemas.pipeline import TICK_KEY, Tick

log = logging.getLogger(__name__)


class Ticker:
    def __init__(self, producer: AIOKafkaProducer, topic: str, ingest_id: str,
                 interval_s: float = 1.0) -> None:
        self._producer = producer
        self._topic = topic
        self._ingest_id = ingest_id
        self._interval_s = interval_s
        self._last_sent = 0.0

    @property
    def interval_s(self) -> float:
        return self._interval_s

    def due(self) -> bool:
        """Time for the next marker."""
        return time.monotonic() - self._last_sent >= self._interval_s

    def sent(self) -> None:
        self._last_sent = time.monotonic()

    async def send(self, at: datetime, connected: bool) -> None:
        """Send a tick to every partition; a failed tick is only logged (the next one follows)."""
        if not connected:
            return  # while disconnected, the broker may hold older messages for us
        value = Tick(tick=at, ingest=self._ingest_id,
                     mqtt_connected=connected).model_dump_json().encode()
        try:
            partitions = await self._producer.partitions_for(self._topic)
            sends = [await self._producer.send(self._topic, value, key=TICK_KEY, partition=p)
                     for p in sorted(partitions)]
            await asyncio.gather(*sends)
        except KafkaError as e:
            log.warning("tick not sent: %s", e)


@dataclass
class BrokerOutage:
    """While the broker was away, devices could not publish: they buffer and send late, once
    they have reconnected in their own time. A marker that comes back right after the broker
    does would vouch for that silence, and every point would look silent at once. So for
    `grace_s` after the broker is back, ticks vouch for nothing past the moment it went away
    (the watermark waits; one `pipeline_stalled` alert opens if it waits long)."""

    grace_s: float
    down_since: datetime | None = None
    up_since: datetime | None = None

    def went_down(self, at: datetime) -> None:
        if self.down_since is None:
            self.down_since, self.up_since = at, None

    def came_up(self, at: datetime) -> None:
        if self.down_since is not None:
            self.up_since = at

    def cap(self, claim: datetime, now: datetime) -> datetime:
        """`claim`, held back to the outage's start while devices may still be catching up."""
        if self.down_since is None:
            return claim
        if self.up_since is not None and now >= self.up_since + timedelta(seconds=self.grace_s):
            self.down_since = self.up_since = None
            return claim
        return min(claim, self.down_since)

