"""A plain paho publisher for tests: what a device or gateway in the field does."""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


def publish_all(mqtt_url: str, messages: Iterable[tuple[str, bytes | str | dict]],
                client_id: str = "") -> int:
    """Publish at QoS 1 and wait until the broker has acknowledged every message."""
    url = urlsplit(mqtt_url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5)
    client.max_queued_messages_set(0)
    client.connect(url.hostname or "127.0.0.1", url.port or 1883)
    client.loop_start()
    try:
        infos = []
        for topic, payload in messages:
            body = json.dumps(payload) if isinstance(payload, dict) else payload
            infos.append(client.publish(topic, body, qos=1))
        for info in infos:
            info.wait_for_publish(timeout=30)
            assert info.is_published(), f"broker did not acknowledge message {info.mid}"
        return len(infos)
    finally:
        client.disconnect()
        client.loop_stop()
