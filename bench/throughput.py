"""Throughput, MQTT → InfluxDB: the full pipeline beside the raw path, in one run.

    python -m bench.throughput [--points 10000] [--readings 200000] [--workers 1]

Both paths get the same payloads from the same publisher process, and both are measured
draining the broker: the path's MQTT client (ingest, or the raw forwarder) is stopped, the
readings are published and held by the broker for its persistent session, then the client
starts again and the clock runs until the last reading is stored. So the figure is the
path's own, not the publisher's (one Python publisher on these two cores offers about
2,000/s). The count in InfluxDB is checked afterwards (each reading exactly once).
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.harness import Run, Said, private_run, ready, say, scrape, wait_for_count
from bench.registry_gen import FACTORS, synthetic_registry
from schemas import Registry
from tests.integration.helpers import ingest_ready
from tests.integration.procs import ZwProcess, wait_until

STORED = "zw_worker_readings_stored_total"
WARM_UP = 200
"""Readings sent before the clock starts, so start-up (assignment, registry) is not timed."""


@dataclass
class Result:
    path: str
    readings: int
    seconds: float
    stored: int

    @property
    def rate(self) -> float:
        return self.readings / self.seconds


def timed_drain(run: Run, registry_path: str, readings: int, stored: Callable[[], int],
                client: Callable[[], None], already: int, what: str) -> float:
    """With the path's MQTT client stopped, publish `readings` (the broker holds them); then
    `client()` starts it again and the clock runs until `stored()` has
    grown by as many. Returns the seconds."""
    pub = Said(run.module("publisher", "bench.publisher", registry_path, str(readings)))
    pub.wait("ready")
    pub.go()
    pub.wait("published", timeout=3600)
    say(f"  {readings:,} readings wait at the broker; {what} starts")
    t0 = time.monotonic()
    client()
    t_end = wait_for_count(what, already + readings, stored, timeout=3600)
    return t_end - t0


def warm_up(run: Run, registry_path: str, stored: callable) -> None:
    pub = Said(run.module("warm-up", "bench.publisher", registry_path, str(WARM_UP),
                          "--end-ts", str(time.time() - 7200)))
    pub.wait("ready")
    pub.go()
    wait_for_count("warm-up", WARM_UP, stored, timeout=300)


def full_path(registry: Registry, readings: int, workers: int, profile: bool = False) -> Result:
    with private_run("full") as run:
        path = str(run.load_registry(registry))
        ingest = run.zonewatch("ingest", "ingest")
        ports = []
        for k in range(workers):
            port = run.env["ZW_WEB_PORT"] if k == 0 else str(20_000 + k)
            ports.append(port)
            run.zonewatch(f"worker-{k}", "worker", ZW_WEB_PORT=port,
                          ZW_DATA_DIR=f"{run.folder}/worker-{k}")
        wait_until(lambda: ingest_ready(run.env["ZW_METRICS_PORT"]), 90, what="ingest")
        for port in ports:
            ready(port, STORED)

        def stored() -> int:
            return int(sum(scrape(p, STORED) or 0 for p in ports))

        warm_up(run, path, stored)
        ingest.stop()  # its session stays at the broker, collecting what is published
        spies: list[subprocess.Popen] = []

        def start_ingest() -> None:
            again = run.zonewatch("ingest-again", "ingest")
            spies.extend(profiler(run, p) for p in (again, *run.procs) if profile
                         and isinstance(p, ZwProcess) and p.name.startswith(("worker", "ingest-")))

        seconds = timed_drain(run, path, readings, stored, start_ingest, WARM_UP,
                              "full pipeline")
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        return Result(f"full ({workers} worker{'s' if workers > 1 else ''})", readings,
                      seconds, run.count_readings(FACTORS[0]) - WARM_UP)


def profiler(run: Run, proc: ZwProcess) -> subprocess.Popen:
    """py-spy sampling `proc` until interrupted; its stacks go to the run folder."""
    out = run.folder / f"{proc.name}.stacks"
    say(f"  profiling {proc.name} → {out} (summary: python -m bench.profile_summary {out})")
    assert proc.proc is not None
    return subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--format",
                             "raw", "--rate", "50", "-o", str(out), "-p", str(proc.proc.pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def raw_path(registry: Registry, readings: int) -> Result:
    with private_run("raw") as run:
        path = str(run.load_registry(registry))
        topic = run.env["ZW_TOPIC_READINGS"]
        store = Said(run.module("raw-store", "bench.raw_path", "store", topic))
        forward_args = ("forward", topic, ",".join(z.id for z in registry.zones),
                        f"zw-bench-raw-{uuid.uuid4().hex[:8]}")
        forward = run.module("raw-forward", "bench.raw_path", *forward_args)
        store.wait("ready")
        Said(forward).wait("ready")

        def stored() -> int:
            return int(store.latest.get("stored", 0))

        warm_up(run, path, stored)
        forward.terminate()  # its session stays at the broker, collecting what is published
        forward.wait(20)

        def start_forward() -> None:
            Said(run.module("raw-forward-again", "bench.raw_path", *forward_args))

        seconds = timed_drain(run, path, readings, stored, start_forward, WARM_UP, "raw path")
        return Result("raw", readings, seconds, run.count_readings(FACTORS[0]) - WARM_UP)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the pipeline's processes during the timed part")
    parser.add_argument("--full-only", action="store_true", help="skip the raw path")
    args = parser.parse_args()
    # Zone ids of this run's own: other traffic on the broker never mixes in.
    # A day's gap threshold: the readings are timestamped over the last hours, and this run
    # measures storing them, not an alert storm about them (bench.latency measures alerts).
    registry = synthetic_registry(args.points, prefix=f"b{uuid.uuid4().hex[:4]}",
                                  gap_threshold_s=86_400)
    say(f"throughput: {args.readings:,} readings over {args.points:,} points, MQTT → InfluxDB")
    if args.full_only:
        full = full_path(registry, args.readings, args.workers, args.profile)
        say(f"full pipeline: {full.rate:,.0f} readings/s, stored {full.stored:,}")
        return
    raw = raw_path(registry, args.readings)
    say(f"  raw path: {raw.rate:,.0f} readings/s ({raw.seconds:.1f} s)")
    full = full_path(registry, args.readings, args.workers, args.profile)
    say(f"  full pipeline: {full.rate:,.0f} readings/s ({full.seconds:.1f} s)")
    say("")
    say(f"{'path':<22}{'readings':>10}{'seconds':>10}{'readings/s':>12}{'stored':>10}")
    for r in (raw, full):
        say(f"{r.path:<22}{r.readings:>10,}{r.seconds:>10.1f}{r.rate:>12,.0f}{r.stored:>10,}")
    say(f"full ÷ raw: {full.rate / raw.rate:.0%}  (target ≥ 70 %; ≥ 10,000 readings/s)")
    for r in (raw, full):
        if r.stored != r.readings:
            say(f"  WARNING: {r.path} stored {r.stored:,} of {r.readings:,}")


if __name__ == "__main__":
    main()
