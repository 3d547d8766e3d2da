"""Publishes N JSON readings for a registry's points over MQTT at QoS 1, as devices would.

    python -m bench.publisher REGISTRY COUNT [--rate R] [--end-ts T]

Payloads are built before the clock starts, so the rate measured is the pipeline's, not the
generator's. Reading i belongs to point i mod P at `end - (rounds - i // P) * interval`, so
every point reports in time order, up to about now. Prints its rate to stderr as it goes and
`published N in S s` to stdout when the broker has acknowledged all.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from schemas.registry_check import load_registry
from zonewatch.fleet_payloads import reading_json
from zonewatch.mqtt import configure_client
from zonewatch.settings import MqttSettings


def payloads(registry_path: str, count: int, end_ts: float) -> list[tuple[str, bytes]]:
    registry = load_registry(registry_path)
    points = registry.points
    rounds = -(-count // len(points))
    out = []
    for i in range(count):
        p = points[i % len(points)]
        ts = end_ts - (rounds - i // len(points)) * p.interval_s
        values = {f: round(10.0 + (i % 17) * 0.5, 2) for f in p.factors}
        out.append((f"zw/v1/{registry.zone_of_point(p)}/readings",
                    reading_json(p.id, datetime.fromtimestamp(ts, UTC), values)))
    return out


def publish(messages: list[tuple[str, bytes]], settings: MqttSettings, rate: float) -> float:
    """Publish all; returns the seconds from the first publish to the last PUBACK."""
    acked = 0
    done = threading.Event()
    room = threading.Semaphore(2000)

    def on_publish(_c: mqtt.Client, _u: object, _mid: int, _rc: object, _p: object) -> None:
        nonlocal acked
        acked += 1
        room.release()
        if acked == len(messages):
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"zw-bench-pub-{time.time_ns()}",
                         protocol=MQTTProtocolVersion.MQTTv5)
    configure_client(client, settings)
    client.max_inflight_messages_set(2000)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect(settings.host, settings.port)
    client.loop_start()
    t0 = time.monotonic()
    last = (t0, 0)
    for i, (topic, body) in enumerate(messages):
        room.acquire()
        client.publish(topic, body, qos=1)
        if rate:
            lag = t0 + i / rate - time.monotonic()
            if lag > 0:
                time.sleep(lag)
        now = time.monotonic()
        if now - last[0] >= 2:
            print(f"  publisher: {i:,}/{len(messages):,} "
                  f"({(i - last[1]) / (now - last[0]):,.0f}/s now)", file=sys.stderr, flush=True)
            last = (now, i)
    if not done.wait(600):
        raise SystemExit(f"only {acked} of {len(messages)} acknowledged")
    elapsed = time.monotonic() - t0
    client.disconnect()
    client.loop_stop()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("registry")
    parser.add_argument("count", type=int)
    parser.add_argument("--rate", type=float, default=0, help="messages/s; 0: as fast as can")
    parser.add_argument("--end-ts", type=float, default=None)
    args = parser.parse_args()
    messages = payloads(args.registry, args.count, args.end_ts or time.time())
    print(json.dumps({"ready": len(messages)}), flush=True)
    sys.stdin.readline()  # the caller says go once its clock is ready
    elapsed = publish(messages, MqttSettings(), args.rate)
    print(json.dumps({"published": len(messages), "seconds": elapsed}), flush=True)


if __name__ == "__main__":
    main()
