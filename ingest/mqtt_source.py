"""paho-mqtt on its own network thread, handing messages to asyncio without losing any.

Flow control is MQTT 5's Receive Maximum: the broker never has more than that many
unacknowledged QoS 1 messages in flight to us, and we acknowledge a message only after
Kafka holds it (paho's manual ack). So the queue is bounded by the protocol itself, and a
slow or absent Kafka slows the broker down instead of dropping anything.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest.config import IngestSettings
from ingest.ticks import BrokerOutage
from zonewatch.mqtt import configure_client

log = logging.getLogger(__name__)

SUBSCRIPTION = "zw/v1/+/+"
WATERMARK = "zw/sys/ingest/{client_id}/watermark"
"""Each ingest's own marker topic: what it publishes there comes back to it alone, behind every
message the broker had already queued for it (`Bridge` explains why)."""


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    mid: int
    qos: int


class MqttSource:
    """Subscribes to every zone's input topics; `get()` yields messages, `ack()` releases them."""

    def __init__(self, settings: IngestSettings) -> None:
        self._settings = settings
        self._queue: asyncio.Queue[Message] = asyncio.Queue()
        self._arrived: list[Message] = []
        """Messages paho has handed over that the loop has not taken yet (under `_lock`)."""
        self._wake_pending = False
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._connected = asyncio.Event()
        self.outage = BrokerOutage(settings.reconnect_grace_s)
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        s = self._settings
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=s.mqtt_client_id,
                             protocol=mqtt.MQTTv5, manual_ack=True)
        configure_client(client, s.mqtt)
        # Back soon after a broker restart: until we subscribe again, a shared subscription
        # does not exist there (Mosquitto 2.0 does not restore it) and what is published is lost.
        client.reconnect_delay_set(min_delay=1, max_delay=2)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    @property
    def watermark_topic(self) -> str:
        return WATERMARK.format(client_id=self._settings.mqtt_client_id)

    def publish_marker(self, at: datetime) -> None:
        """Publish `at` to our marker topic (QoS 1: paho keeps it across a reconnect)."""
        self._client.publish(self.watermark_topic, at.isoformat().encode(), qos=1)

    @property
    def subscription(self) -> str:
        group = self._settings.mqtt_share_group
        return f"$share/{group}/{SUBSCRIPTION}" if group else SUBSCRIPTION

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self._settings.mqtt_session_expiry_s
        props.ReceiveMaximum = self._settings.mqtt_receive_maximum
        self._client.connect_async(self._settings.mqtt.host, self._settings.mqtt.port,
                                   keepalive=30, clean_start=False, properties=props)
        self._client.loop_start()
        await asyncio.wait_for(self._connected.wait(), timeout=30)

    async def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    async def get(self) -> Message:
        self._raise_if_failed()
        return await self._queue.get()

    def get_nowait(self) -> Message | None:
        self._raise_if_failed()
        return None if self._queue.empty() else self._queue.get_nowait()

    def ack(self, msg: Message) -> None:
        if msg.qos > 0:
            self._client.ack(msg.mid, msg.qos)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise RuntimeError("MQTT callback failed") from self._error

    # --- paho's network thread: hand over, never raise ---------------------------------
    def _on_connect(self, client: mqtt.Client, _userdata: object, _flags: object,
                    reason: mqtt.ReasonCode, _props: object) -> None:
        if reason.is_failure:
            log.error("MQTT connect refused: %s", reason)
            return
        client.subscribe([(self.subscription, 1), (self.watermark_topic, 1)])
        log.info("MQTT connected to %s:%s, subscribed %s", self._settings.mqtt.host,
                 self._settings.mqtt.port, self.subscription)
        self._call_in_loop(self.outage.came_up, datetime.now(UTC))
        self._call_in_loop(self._connected.set)

    def _on_disconnect(self, _client: mqtt.Client, _userdata: object, _flags: object,
                       reason: mqtt.ReasonCode, _props: object) -> None:
        log.warning("MQTT disconnected: %s (paho reconnects with backoff)", reason)
        self._call_in_loop(self.outage.went_down, datetime.now(UTC))
        self._call_in_loop(self._connected.clear)

    def _on_message(self, _client: mqtt.Client, _userdata: object,
                    msg: mqtt.MQTTMessage) -> None:
        """On paho's thread. One loop wake-up per burst, not per message: waking the loop
        costs more than the message does at thousands a second."""
        try:
            item = Message(msg.topic, bytes(msg.payload), msg.mid, msg.qos)
            with self._lock:
                self._arrived.append(item)
                if self._wake_pending:
                    return
                self._wake_pending = True
            self._call_in_loop(self._take_arrived)
        except BaseException as exc:
            self._error = exc

    def _take_arrived(self) -> None:
        """On the loop: move what arrived into the queue, in arrival order."""
        with self._lock:
            arrived, self._arrived = self._arrived, []
            self._wake_pending = False
        for item in arrived:
            self._queue.put_nowait(item)

    def _call_in_loop(self, fn: object, *args: object) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(fn, *args)  # type: ignore[arg-type]
