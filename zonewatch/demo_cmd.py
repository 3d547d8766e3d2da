"""`zonewatch demo`: the whole loop on the local services, and what lands, as it lands."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from influxdb_client import InfluxDBClient

from schemas.registry_check import load_registry
from zonewatch.settings import InfluxSettings


def _spawn(name: str, args: list[str], log_dir: Path) -> subprocess.Popen[bytes]:
    log = (log_dir / f"demo-{name}.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "zonewatch", *args], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def _landed(client: InfluxDBClient, bucket: str) -> dict[str, int]:
    """Readings stored per zone over the last 10 minutes of event time."""
    flux = f'''from(bucket: "{bucket}") |> range(start: -10m)
      |> filter(fn: (r) => r._measurement == "reading" and r._field == "source")
      |> group(columns: ["zone"]) |> count()'''
    tables = client.query_api().query(flux)
    return {rec.values["zone"]: int(rec.get_value()) for t in tables for rec in t.records}


def _print_table(names: dict[str, str], counts: dict[str, int], started: float) -> None:
    running = time.monotonic() - started
    print(f"\n— readings stored in InfluxDB, last 10 min (demo running {running:.0f} s)")
    print(f"  {'zone':<16} {'名称':<14} {'readings':>9}")
    for zone_id, name in names.items():
        print(f"  {zone_id:<16} {name:<14} {counts.get(zone_id, 0):>9}")
    print(f"  {'total':<31}{sum(counts.values()):>9}", flush=True)


def run_demo(args: argparse.Namespace) -> int:
    registry = load_registry(args.registry)
    names = {z.id: z.name for z in registry.zones}
    log_dir = Path(os.environ.get("ZW_RUN", "/tmp/zonewatch-run")) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    if subprocess.run([sys.executable, "-m", "zonewatch", "registry", "load",
                       str(args.registry)]).returncode != 0:
        return 1
    procs = {n: _spawn(n, a, log_dir) for n, a in (
        ("ingest", ["ingest"]), ("worker", ["worker"]),
        ("simulate", ["simulate", "--registry", str(args.registry)]))}
    print(f"demo: ingest, worker and simulator running; logs in {log_dir}/demo-*.log")
    influx = InfluxSettings()
    client = InfluxDBClient(url=influx.url, token=influx.token.get_secret_value(),
                            org=influx.org)
    started = time.monotonic()
    try:
        while not args.duration or time.monotonic() - started < args.duration:
            time.sleep(10)
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"demo: {name} exited ({proc.returncode}); see {log_dir}/demo-{name}.log")
                    return 1
            _print_table(names, _landed(client, influx.bucket), started)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for name, proc in procs.items():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                print(f"demo: {name} did not stop within 30 s; killing it")
                os.killpg(proc.pid, signal.SIGKILL)
        client.close()
    return 0
