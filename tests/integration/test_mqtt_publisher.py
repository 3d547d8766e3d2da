"""The worker's QoS 1 publisher against the real broker: every message acknowledged, no
deadlock between paho's network thread and the event loop under load."""

from __future__ import annotations

import asyncio
import uuid

from tests.integration.mqtt import Collector
from tests.integration.procs import wait_until
from zonewatch.mqtt import Publisher
from zonewatch.settings import MqttSettings


def test_thousands_of_qos1_messages_are_acknowledged_and_delivered(
        services: dict[str, str]) -> None:
    topic = f"zw/test/{uuid.uuid4().hex[:8]}"
    collector = Collector(services["ZW_MQTT_URL"], f"{topic}/#")

    async def run() -> None:
        publisher = Publisher(MqttSettings(url=services["ZW_MQTT_URL"]), f"pub-{topic[-8:]}")
        await publisher.start()
        try:
            for batch in range(20):  # batches in a row, as the alert sink sends them
                await publisher.publish([(f"{topic}/{batch}", b"x" * 200)] * 250, timeout=60)
        finally:
            await publisher.stop()

    try:
        asyncio.run(asyncio.wait_for(run(), timeout=120))
        wait_until(lambda: len(collector.messages) >= 5000, timeout=30,
                   what="every message at the subscriber")
    finally:
        collector.close()
    assert len(collector.messages) == 5000
