"""Detection latency: from a point's gap threshold passing to its `data_gap` alert on MQTT.

    python -m bench.latency [--points 10000 100000] [--probes 60] [--background-rate 1000]

For each size: a worker tracks that many points (each has reported once), while a steady
background stream keeps the pipeline busy. Probe points report every 2 s with a 10 s
threshold and fall silent one after another; a probe's threshold passes at its last reading's
event time + 10 s (event times are wall-clock seconds here), and its latency is the wall time
its `data_gap` alert arrives on MQTT minus that moment. Prints p50, p99 and max per size,
and the worker's resident memory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from bench.harness import Said, private_run, ready, rss_bytes, say, scrape, wait_for_count
from bench.registry_gen import synthetic_registry
from tests.integration.helpers import ingest_ready
from tests.integration.procs import wait_until
from zonewatch.fleet_payloads import reading_json
from zonewatch.mqtt import configure_client
from zonewatch.settings import MqttSettings

STORED = "zw_worker_readings_stored_total"
LAG = "zw_worker_watermark_lag_seconds"
PROBE_EVERY_S = 2
THRESHOLD_S = 10


class Probes:
    """Publishes the probes' readings until each one's stop time; hears their alerts."""

    def __init__(self, ids: list[str], zone: str, settings: MqttSettings) -> None:
        self.ids, self.zone = ids, zone
        self.last_ts: dict[str, int] = {}
        self.alerted: dict[str, float] = {}
        self.opened: dict[str, float] = {}
        """probe → its alert's `opened_at`: when the worker judged the gap."""
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"zw-bench-probe-{uuid.uuid4().hex[:6]}",
                                  protocol=MQTTProtocolVersion.MQTTv5)
        configure_client(self.client, settings)
        self.client.on_message = self._on_alert
        self.client.on_connect = lambda c, *_: c.subscribe(
            f"zw/v1/alerts/{zone}/data_gap", qos=1)
        self.client.connect(settings.host, settings.port)
        self.client.loop_start()

    def _on_alert(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        now = time.time()
        alert = json.loads(msg.payload)
        if alert.get("status") == "open" and alert.get("point") in self.last_ts:
            self.alerted.setdefault(alert["point"], now)
            self.opened.setdefault(alert["point"],
                                   datetime.fromisoformat(alert["opened_at"]).timestamp())

    def run(self, warm_s: float, stagger_s: float) -> None:
        """Every probe reports from now; probe k stops after warm_s + k * stagger_s."""
        start = time.time()
        stop_at = {pid: start + warm_s + k * stagger_s for k, pid in enumerate(self.ids)}
        while True:
            now = time.time()
            live = [pid for pid in self.ids if now < stop_at[pid]]
            if not live:
                return
            ts = int(now)
            for pid in live:
                self.client.publish(f"zw/v1/{self.zone}/readings", reading_json(
                    pid, datetime.fromtimestamp(ts, UTC), {"w01018": 10.0}), qos=1)
                self.last_ts[pid] = ts
            time.sleep(max(0.0, PROBE_EVERY_S - (time.time() - now)))

    def latencies(self) -> list[float]:
        return sorted(self.alerted[p] - (self.last_ts[p] + THRESHOLD_S) for p in self.alerted)

    def split(self) -> tuple[list[float], list[float]]:
        """The latency in its two parts: threshold → judged (the watermark and the gap
        sweep), and judged → on MQTT (the alert book and the sink, two Kafka hops)."""
        judged = sorted(self.opened[p] - (self.last_ts[p] + THRESHOLD_S) for p in self.opened)
        told = sorted(self.alerted[p] - self.opened[p] for p in self.opened)
        return judged, told


def measure(points: int, probes: int, background_rate: float) -> dict[str, float]:
    prefix = f"l{uuid.uuid4().hex[:4]}"
    registry = synthetic_registry(points, prefix=prefix, gap_threshold_s=86_400, probes=probes,
                                  probe_interval_s=PROBE_EVERY_S, probe_threshold_s=THRESHOLD_S)
    with private_run("latency") as run:
        run.load_registry(registry)
        tracked_only = run.folder / "tracked.json"  # the publishers' points: no probes
        tracked_only.write_text(registry.model_copy(
            update={"points": registry.points[:points]}).model_dump_json())
        path = str(tracked_only)
        run.zonewatch("ingest", "ingest")
        worker = run.zonewatch("worker", "worker")
        wait_until(lambda: ingest_ready(run.env["ZW_METRICS_PORT"]), 90, what="ingest")
        port = run.env["ZW_WEB_PORT"]
        ready(port, STORED)

        def stored() -> int:
            return int(scrape(port, STORED) or 0)

        say(f"  {points:,} points report once …")
        first = Said(run.module("fill", "bench.publisher", path, str(points)))
        first.wait("ready")
        first.go()
        wait_for_count("tracked points", points, stored, timeout=1800)
        background = Said(run.module("background", "bench.publisher", path,
                                     str(int(background_rate * 600)), "--rate",
                                     str(background_rate)))
        background.wait("ready")
        background.go()
        # Settled first: the first judgement of every point (a status each) has gone through.
        wait_until(lambda: (scrape(port, LAG) or 99) < 2, 600, interval=1,
                   what="the worker to catch up (watermark lag < 2 s)")
        say(f"  background {background_rate:,.0f} readings/s; {probes} probes go silent …")
        zone = registry.zone_of_point(registry.points[-1])
        probe_ids = [p.id for p in registry.points[points:]]
        prober = Probes(probe_ids, zone, MqttSettings())
        prober.run(warm_s=3 * THRESHOLD_S, stagger_s=0.5)
        wait_until(lambda: len(prober.alerted) == probes, 120, interval=0.5,
                   what="every probe's data_gap alert")
        assert worker.proc is not None
        rss = rss_bytes(worker.proc.pid)
        tracked = stored()
    lat = prober.latencies()
    judged, told = prober.split()
    return {"points": points, "n": len(lat), "p50": statistics.median(lat), "p99": p99(lat),
            "max": lat[-1], "judged_p50": statistics.median(judged), "judged_p99": p99(judged),
            "told_p50": statistics.median(told), "told_p99": p99(told),
            "rss_mib": rss / 2**20, "stored": tracked}


def p99(sorted_values: list[float]) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(0.99 * len(sorted_values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--probes", type=int, default=60)
    parser.add_argument("--background-rate", type=float, default=1000)
    args = parser.parse_args()
    say("latency: gap threshold passing → data_gap alert on MQTT")
    rows = [measure(n, args.probes, args.background_rate) for n in args.points]
    say("")
    say(f"{'points':>10}{'probes':>8}{'p50 s':>8}{'p99 s':>8}{'max s':>8}{'worker RSS':>12}"
        f"   judged p50/p99   told p50/p99")
    for r in rows:
        say(f"{r['points']:>10,}{r['n']:>8}{r['p50']:>8.2f}{r['p99']:>8.2f}{r['max']:>8.2f}"
            f"{r['rss_mib']:>9.0f} MiB   {r['judged_p50']:>6.2f} / {r['judged_p99']:<6.2f}"
            f"   {r['told_p50']:>5.2f} / {r['told_p99']:.2f}")
    say("target: p99 ≤ 2 s at 100k points")


if __name__ == "__main__":
    main()
