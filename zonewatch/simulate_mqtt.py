"""The simulator's side of MQTT: its settings and a QoS 1 publisher with a bounded queue."""

from __future__ import annotations

import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from zonewatch.mqtt import configure_client
from zonewatch.settings import MqttSettings

MAX_UNACKED = 5000
"""Messages handed to paho but not yet acknowledged: beyond this, wait (bounded memory)."""


class SimulateSettings(BaseSettings):
    """Where to publish; read once from `ZW_…` at the edge, like every part's settings."""

    model_config = SettingsConfigDict(env_prefix="ZW_SIM_", frozen=True, extra="ignore")

    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    """The broker (`ZW_MQTT_URL` …), as every process sees it."""
    max_inflight: int = Field(default=100, ge=1, le=65535)
    """QoS 1 messages awaiting PUBACK at once; lowered to the broker's receive maximum."""


class Publisher:
    """paho at QoS 1 on its own network thread; counts PUBACKs so the queue stays bounded.

    No I/O until `start()`. Only paho's thread writes `acked`, only the caller's `sent`.
    """

    def __init__(self, settings: SimulateSettings, client_id: str) -> None:
        self.settings, self.client_id = settings, client_id
        self.sent = 0
        self.acked = 0
        self._refused: str | None = None
        self._receive_max = 65535
        self._client = self._make_client(settings.max_inflight)

    def _make_client(self, inflight: int) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             protocol=mqtt.MQTTv5)
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(inflight)
        configure_client(client, self.settings.mqtt)
        client.on_connect = self._on_connect
        client.on_publish = self._on_publish
        return client

    def start(self, timeout: float = 15.0) -> None:
        """Connect; if the broker takes fewer messages in flight than configured, reconnect
        with its receive maximum (exceeding it gets a v5 client disconnected)."""
        self._connect(timeout)
        if self._receive_max < self._client.max_inflight_messages:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = self._make_client(self._receive_max)
            self._connect(timeout)

    def _connect(self, timeout: float) -> None:
        """Connect and wait for CONNACK; ConnectionError says why not."""
        host, port = self.settings.mqtt.host, self.settings.mqtt.port
        try:
            self._client.connect(host, port, keepalive=30)
        except OSError as e:
            raise ConnectionError(f"cannot reach {host}:{port}: {e}") from None
        self._client.loop_start()
        deadline = time.monotonic() + timeout
        while not self._client.is_connected():
            if self._refused or time.monotonic() > deadline:
                self._client.loop_stop()
                raise ConnectionError(f"{host}:{port} refused: {self._refused}"
                                      if self._refused else f"no CONNACK from {host}:{port}")
            time.sleep(0.02)

    def room(self) -> bool:
        return self.sent - self.acked < MAX_UNACKED

    def publish(self, topic: str, payload: bytes) -> None:
        self._client.publish(topic, payload, qos=1)
        self.sent += 1

    def stop(self, drain_s: float = 10.0) -> None:
        """Wait (a while) for the broker to acknowledge what was sent, then disconnect."""
        deadline = time.monotonic() + drain_s
        while self.acked < self.sent and time.monotonic() < deadline:
            time.sleep(0.02)
        self._client.disconnect()
        self._client.loop_stop()

    # --- paho's network thread: record, never raise --------------------------------------
    def _on_connect(self, _client: mqtt.Client, _userdata: object, _flags: object,
                    reason: mqtt.ReasonCode, props: object) -> None:
        if reason.is_failure:
            self._refused = str(reason)
        self._receive_max = getattr(props, "ReceiveMaximum", 65535)

    def _on_publish(self, _client: mqtt.Client, _userdata: object, _mid: int,
                    _reason: object, _props: object) -> None:
        self.acked += 1
