"""A steady stream of readings for the fault and scale tests, and the zone it reports for.

Readings are stored at whole seconds (series + second is a reading's identity), so a point can
carry at most one reading per second: 2,000 readings/s near now takes 2,000 points reporting
every second. Each reading is stamped with the second of its round, never the moment paho gets
to it, so a publisher that falls behind sends late readings rather than duplicate timestamps.

At most `INFLIGHT` readings await their PUBACK; beyond that the stream waits, as a device
buffers while its broker is away, and sends late. paho's own queue is never used: after a
reconnect it has been seen to leave queued messages unsent for good (and their message ids,
wrapping at 65,535, then collide with new ones).
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from zonewatch.fleet_payloads import at, reading_json

POINTS_PER_UNIT = 4
INFLIGHT = 900
"""Below paho's (and Mosquitto's) in-flight window of 1,000."""


def point_ids(units: int) -> list[str]:
    return [f"u{u:04d}-p{k}" for u in range(units) for k in range(POINTS_PER_UNIT)]


def write_zone_registry(path: Path, zone: str, units: int, gap_threshold_s: int) -> Path:
    """One zone of `units` key polluter units, four points each, every point expected each
    second and offline after `gap_threshold_s` of silence."""
    body = {
        "zones": [{"id": zone, "name": "故障测试区", "level": "provincial"}],
        "enterprises": [{"id": f"u{u:04d}", "zone": zone, "name": f"单位{u}",
                         "key_polluter": True} for u in range(units)],
        "points": [{"id": pid, "enterprise": pid.split("-")[0], "domain": "environment",
                    "kind": "wastewater", "interval_s": 1, "gap_threshold_s": gap_threshold_s,
                    "factors": ["w01018", "w21003"], "limits": {"w01018": 50.0}}
                   for pid in point_ids(units)],
        "platforms": [],
    }
    path.write_text(yaml.safe_dump(body, allow_unicode=True))
    return path


class SteadyStream:
    """One QoS 1 reading per live point per second, paced over the second in `slices`, from
    a thread, until `close()`. Points can be silenced (`live.discard`) while it runs."""

    def __init__(self, mqtt_url: str, zone: str, points: list[str], slices: int = 20,
                 client_id: str = "") -> None:
        self.live = set(points)
        self._index = {p: i for i, p in enumerate(points)}
        self._every: list[tuple[int, int]] = [(0, 1)]
        """(from second, every_s): a round is planned by the pace of its own second, even
        when it is sent late."""
        self.max_lag_s = 0.0
        """The furthest a slice was sent behind its schedule: readings this late are late."""
        self.reconnects = 0
        self._topic = f"zw/v1/{zone}/readings"
        self._slices = slices
        self._sent: list[tuple[str, int, mqtt.MQTTMessageInfo]] = []
        self._room = threading.Semaphore(INFLIGHT)
        self._stop = threading.Event()
        url = urlsplit(mqtt_url)
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=mqtt.MQTTv5)
        self._client.max_inflight_messages_set(1000)
        self._client.reconnect_delay_set(min_delay=1, max_delay=2)
        self._client.on_connect = self._on_connect
        self._client.on_publish = lambda *_: self._room.release()
        self._client.connect(url.hostname or "127.0.0.1", url.port or 1883)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name="steady-stream", daemon=True)

    def start(self) -> SteadyStream:
        self._thread.start()
        return self

    @property
    def published(self) -> int:
        """Readings handed to paho so far (acknowledged or not yet)."""
        return len(self._sent)

    @property
    def every_s(self) -> int:
        return self._every[-1][1]

    @every_s.setter
    def every_s(self, every_s: int) -> None:
        """From the next second on, each point reports every `every_s` seconds."""
        self._every.append((math.floor(time.time()) + 1, every_s))

    def _every_at(self, second: int) -> int:
        return next(e for since, e in reversed(self._every) if second >= since)

    def count_before(self, second: int) -> int:
        """Readings handed to paho so far that are stamped before `second` (epoch s)."""
        return sum(1 for _, s, _ in self._sent if s < second)

    def count_between(self, start: int, end: int) -> int:
        """Readings handed to paho so far stamped in [start, end) (epoch s)."""
        return sum(1 for _, s, _ in self._sent if start <= s < end)

    def _on_connect(self, *_args: object) -> None:
        self.reconnects += 1

    def _run(self) -> None:
        second = math.floor(time.time()) + 1
        while not self._stop.is_set():
            every = self._every_at(second)
            points = [p for p in sorted(self.live) if (self._index[p] + second) % every == 0]
            for j in range(self._slices):
                late = time.time() - (second + j / self._slices)
                if late < 0 and self._stop.wait(-late):
                    return
                self.max_lag_s = max(self.max_lag_s, late)
                for pid in points[j * len(points) // self._slices:
                                  (j + 1) * len(points) // self._slices]:
                    self._send(pid, second)
            second += 1

    def _send(self, pid: str, second: int) -> None:
        while not self._room.acquire(timeout=0.5):
            if self._stop.is_set():
                return
        values = {"w01018": 20.0 + second % 7, "w21003": 1.5}
        info = self._client.publish(self._topic, reading_json(pid, at(second), values), qos=1)
        self._sent.append((pid, second, info))

    def close(self, timeout: float = 120) -> None:
        """Stop, then wait (up to `timeout`) until the broker has acknowledged what was sent."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(10)
        deadline = time.monotonic() + timeout
        for _, _, info in self._sent:
            while not _acked(info) and time.monotonic() < deadline:
                time.sleep(0.05)
        self._client.disconnect()
        self._client.loop_stop()

    def acked(self) -> set[tuple[str, int]]:
        """(point, epoch second) of every reading the broker acknowledged: what must be stored."""
        return {(pid, s) for pid, s, info in self._sent if _acked(info)}

    def sent(self) -> set[tuple[str, int]]:
        """Everything handed to paho: a reading not acknowledged may still have arrived."""
        return {(pid, s) for pid, s, _ in self._sent}


def _acked(info: mqtt.MQTTMessageInfo) -> bool:
    """Whether the broker acknowledged the message. Not `is_published()`: it raises for a
    message published while the broker was away, which paho still sends after reconnecting."""
    return bool(info._published)
