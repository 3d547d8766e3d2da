"""A private, real Mosquitto (Debian's binary) on free loopback ports with a test's own config,
for what the shared broker cannot show: passwords, ACLs, TLS. And a device-like paho client
that reports the broker's reason codes (CONNACK, PUBACK) instead of hiding them."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from tests.integration.procs import free_port
from zonewatch.mqtt import configure_client
from zonewatch.settings import MqttSettings

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class PrivateBroker:
    """`mosquitto -c` with `listeners` (config text, `{port1}`, `{port2}` filled in)."""

    def __init__(self, folder: Path, listeners: str) -> None:
        self.ports = (free_port(), free_port())
        self.folder = folder
        self.log = folder / "mosquitto.log"
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(
            f"per_listener_settings false\nuser {getpass.getuser()}\npersistence false\n"
            f"log_dest file {self.log}\nlog_type all\nconnection_messages true\n"
            + listeners.format(port1=self.ports[0], port2=self.ports[1]))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10) -> PrivateBroker:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while not self._listening():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                self.stop()
                raise AssertionError(f"mosquitto did not start: {err}\n{self.log_tail()}")
            time.sleep(0.05)
        return self

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.ports[0]), timeout=0.5).close()
            return True
        except OSError:
            return False

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Device:
    """A paho MQTT 5 client set up by zonewatch's `configure_client`, synchronous for tests."""

    def __init__(self, settings: MqttSettings, client_id: str = "") -> None:
        self.settings = settings
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5)
        configure_client(self.client, settings)
        self.client.reconnect_delay_set(60, 60)  # a refused client must not retry meanwhile
        self.connack: ReasonCode | None = None
        self.pubacks: dict[int, ReasonCode] = {}
        self.messages: list[tuple[str, bytes]] = []
        self._event = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message

    def connect(self, timeout: float = 10) -> ReasonCode | None:
        """The CONNACK's reason code, or None when none came (TLS refused, …)."""
        self.client.connect(self.settings.host, self.settings.port, keepalive=30)
        self.client.loop_start()
        self._wait(lambda: self.connack is not None, timeout)
        return self.connack

    def subscribe(self, topic_filter: str, timeout: float = 10) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *_: done.set()
        self.client.subscribe(topic_filter, qos=1)
        assert done.wait(timeout), f"no SUBACK for {topic_filter}"

    def publish(self, topic: str, payload: bytes = b"{}", timeout: float = 10) -> ReasonCode:
        """Publish at QoS 1 and return the PUBACK's reason code."""
        mid = self.client.publish(topic, payload, qos=1).mid
        assert self._wait(lambda: mid in self.pubacks, timeout), f"no PUBACK for {topic}"
        return self.pubacks[mid]

    def wait_for(self, topic: str, timeout: float = 10) -> bool:
        return self._wait(lambda: any(t == topic for t, _ in self.messages), timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _wait(self, predicate, timeout: float) -> bool:
        with self._event:
            return self._event.wait_for(predicate, timeout)

    def _notify(self) -> None:
        with self._event:
            self._event.notify_all()

    def _on_connect(self, _c, _u, _f, reason: ReasonCode, _p) -> None:
        self.connack = reason
        self._notify()

    def _on_publish(self, _c, _u, mid: int, reason: ReasonCode, _p) -> None:
        self.pubacks[mid] = reason
        self._notify()

    def _on_message(self, _c, _u, msg: mqtt.MQTTMessage) -> None:
        self.messages.append((msg.topic, bytes(msg.payload)))
        self._notify()
