"""paho-mqtt clients configured one way for every process: credentials, TLS, reconnects."""

from __future__ import annotations

import asyncio
import logging
import ssl
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from zonewatch.settings import MqttSettings

log = logging.getLogger(__name__)


def configure_client(client: mqtt.Client, settings: MqttSettings) -> None:
    """Credentials, and for mqtts:// TLS that checks the broker's certificate and host name.

    Credentials come from ZW_MQTT_USERNAME / ZW_MQTT_PASSWORD only: the URL is shown in logs
    and error messages, so one that carries them is refused, not silently ignored."""
    url = urlsplit(settings.url)
    if url.username is not None or url.password is not None:
        raise ValueError("ZW_MQTT_URL must not carry a user or password (mqtt://user:pass@…): "
                         "set ZW_MQTT_USERNAME and ZW_MQTT_PASSWORD instead")
    if settings.username:
        password = settings.password.get_secret_value() if settings.password else None
        client.username_pw_set(settings.username, password)
    if settings.tls:
        client.tls_set(ca_certs=settings.ca_file, certfile=settings.cert_file,
                       keyfile=settings.key_file, cert_reqs=ssl.CERT_REQUIRED,
                       tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.reconnect_delay_set(min_delay=1, max_delay=30)


class Publisher:
    """QoS 1 publishing from asyncio: `publish()` returns once the broker has the message.

    paho calls on_publish on its network thread while holding its own message lock, so the
    callback takes no lock of ours (that would deadlock against `publish()`): it only hands
    the mid to the event loop, where all the bookkeeping happens on one thread.
    """

    def __init__(self, settings: MqttSettings, client_id: str) -> None:
        self._settings = settings
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=mqtt.MQTTv5)
        configure_client(self._client, settings)
        self._client.max_queued_messages_set(0)
        self._client.on_publish = self._on_publish
        self._pending: dict[int, asyncio.Future[None]] = {}
        self._early: set[int] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.refused = 0
        """Messages the broker acknowledged with a failure reason (logged, not retried)."""

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._client.connect_async(self._settings.host, self._settings.port, keepalive=30)
        self._client.loop_start()

    async def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    async def publish(self, messages: list[tuple[str, bytes]], timeout: float = 30) -> None:
        """Publish all at QoS 1 and wait until the broker acknowledged each one."""
        assert self._loop is not None, "start() first"
        futures = []
        for topic, payload in messages:
            info = self._client.publish(topic, payload, qos=1)
            fut = self._loop.create_future()
            if info.mid in self._early:  # acknowledged before we got here
                self._early.discard(info.mid)
                fut.set_result(None)
            else:
                self._pending[info.mid] = fut
            futures.append(fut)
        await asyncio.wait_for(asyncio.gather(*futures), timeout)

    def _on_publish(self, _c: mqtt.Client, _u: object, mid: int, rc: mqtt.ReasonCode,
                    _p: object) -> None:
        if rc.is_failure:  # MQTT 5 PUBACK, e.g. "Not authorized": the ACL says no
            self.refused += 1
            log.error("MQTT broker refused message %d from user %r: %s", mid,
                      self._settings.username, rc)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._acked, mid)

    def _acked(self, mid: int) -> None:
        fut = self._pending.pop(mid, None)
        if fut is None:
            self._early.add(mid)
        elif not fut.done():
            fut.set_result(None)
