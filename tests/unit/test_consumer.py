"""The worker's Kafka consumer waits at most FETCH_MAX_WAIT_MS for a fetch, not Faust's 1.5 s."""

import asyncio

from streams.app import create_app
from streams.config import StreamSettings
from streams.consumer import FETCH_MAX_WAIT_MS


def test_the_worker_consumer_fetches_with_a_short_wait() -> None:
    async def build() -> int:
        app = create_app(StreamSettings())
        consumer = app.transport.create_consumer(
            callback=lambda _m: None, on_partitions_revoked=None, on_partitions_assigned=None)
        kafka = consumer._new_consumer_thread()._create_worker_consumer(app.transport)
        try:
            return kafka._fetch_max_wait_ms
        finally:
            await kafka.stop()

    assert asyncio.run(build()) == FETCH_MAX_WAIT_MS < 1500
