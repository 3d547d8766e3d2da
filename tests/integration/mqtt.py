"""A plain paho publisher for tests: what a device or gateway in the field does."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
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


def _decoded(payload: bytes) -> dict | bytes:
    try:
        return json.loads(payload)
    except ValueError:
        return payload


class Collector:
    """Subscribes to a topic filter and keeps every message, decoded as JSON."""

    def __init__(self, mqtt_url: str, topic_filter: str) -> None:
        url = urlsplit(mqtt_url)
        self.messages: list[tuple[str, dict]] = []
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self._client.on_message = lambda _c, _u, m: self.messages.append(
            (m.topic, _decoded(m.payload)))
        subscribed = threading.Event()
        self._client.on_connect = lambda c, *_: c.subscribe(topic_filter, qos=1)
        self._client.on_subscribe = lambda *_: subscribed.set()
        self._client.connect(url.hostname or "127.0.0.1", url.port or 1883)
        self._client.loop_start()
        assert subscribed.wait(15), f"could not subscribe to {topic_filter}"

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


class Fleet:
    """Publishes a JSON reading for each live point every `period` seconds, in a thread."""

    def __init__(self, mqtt_url: str, zone: str, points: list[str], period: float = 1.0) -> None:
        self.live = set(points)
        self.flags: dict[str, str] = {}
        """point → HJ 212 flag to send instead of N (e.g. M for maintenance)."""
        self.values: dict[str, Callable[[int], dict[str, float]]] = {}
        """point → its values in the n-th round (from 0), instead of a constant w01018."""
        self.sent: list[tuple[str, str]] = []
        self._infos: list[mqtt.MQTTMessageInfo] = []
        self._zone, self._period = zone, period
        self._stop = threading.Event()
        url = urlsplit(mqtt_url)
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self._client.connect(url.hostname or "127.0.0.1", url.port or 1883)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            now = datetime.now(UTC).isoformat()
            for point in sorted(self.live):
                make = self.values.get(point)
                values = make(n) if make else {"w01018": 20.0 + len(point)}
                flag = self.flags.get(point, "N")
                body = {"point": point, "ts": now, "values": values,
                        "flags": {factor: flag for factor in values}}
                info = self._client.publish(f"zw/v1/{self._zone}/readings", json.dumps(body),
                                            qos=1)
                self._infos.append(info)
                self.sent.append((point, now))
            n += 1
            self._stop.wait(self._period)

    def close(self) -> None:
        """Stop, after the broker has acknowledged everything `sent` lists."""
        self._stop.set()
        self._thread.join(5)
        for info in self._infos:
            info.wait_for_publish(timeout=10)
        self._client.disconnect()
        self._client.loop_stop()
