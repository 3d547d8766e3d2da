"""Faust's Kafka consumer, with fetches that come back within a tenth of a second.

Faust builds its aiokafka consumer with `fetch_max_wait_ms=1500`, fixed. aiokafka keeps one
fetch in flight per broker, and leaves out of it the partitions whose records are still
waiting to be consumed. So while a fetch for the quiet partitions (alert signals, statuses,
events) waits out its 1.5 s, new readings and watermark ticks sit in Kafka unfetched: with
one broker, ticks reached the readings agent about a second after they were sent, and every
gap alert waited for them. A short wait costs a few empty fetches a second.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

FETCH_MAX_WAIT_MS = 100


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # read by aiokafka when the consumer starts (it builds its fetcher then)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class App(faust.App):
    """`faust.App`, consuming through the consumer above."""

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)
