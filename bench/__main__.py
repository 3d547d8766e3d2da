"""`make bench`: every benchmark in one run, with the machine and the date they ran on.

    python -m bench [--quick]

`--quick` runs smaller sizes (a smoke run of the scripts, not figures to record).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import ROOT, say

FULL = [
    ["bench.throughput", "--points", "10000", "--readings", "200000"],
    ["bench.latency", "--points", "10000", "100000"],
    ["bench.memory", "--points", "100000", "1000000"],
]
QUICK = [
    ["bench.throughput", "--points", "1000", "--readings", "10000"],
    ["bench.latency", "--points", "1000", "--probes", "10", "--background-rate", "200"],
    ["bench.memory", "--points", "10000"],
]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor() or "?")
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal:"))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "?"
    return (f"{os.cpu_count()} cores ({cpu}), {mem / 2**20:.0f} GiB, "
            f"Python {platform.python_version()}, commit {commit}, "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    say(f"zonewatch benchmarks on {machine()}")
    say("every service (Mosquitto, Kafka, InfluxDB, Prometheus, Alertmanager) on this machine")
    failed = 0
    for command in QUICK if args.quick else FULL:
        say(f"\n== python -m {' '.join(command)}")
        failed += subprocess.run([sys.executable, "-m", *command], cwd=ROOT).returncode != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
