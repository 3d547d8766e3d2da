"""Worker memory per tracked point, at 100k and 1M points.

    python -m bench.memory [--points 100000 1000000]

Each size runs in a fresh process that builds what a worker holds for its points — the
registry and its index, the `points` table's records (a dict, as Faust's memory store keeps
them), the deadline index — through the worker's own code (`PointTracker.apply`, `flush`,
`sweep`), one reading per point, and reports the growth of its resident set over the points.
Faust, Kafka clients and the web server are a fixed cost, not a per-point one, so they are
left out; `bench.latency` prints a whole worker's RSS at 100k beside it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

from bench.harness import rss_bytes, say
from bench.registry_gen import synthetic_registry

BATCH = 5_000


def one(points: int) -> dict[str, float]:
    from schemas import ReadingEvent
    from streams.app import rules_of
    from streams.config import StreamSettings
    from streams.context import WorkerContext
    from streams.points import PointTracker

    gc.collect()
    base = rss_bytes(os.getpid())
    registry = synthetic_registry(points, gap_threshold_s=86_400)
    settings = StreamSettings()
    ctx = WorkerContext(settings, rules_of(settings))
    ctx.use_registry(registry)
    ctx.assigned = frozenset(range(settings.readings_partitions))
    _ = ctx.index.point_partition if ctx.index else None
    gc.collect()
    with_registry = rss_bytes(os.getpid())
    table: dict[bytes, dict] = {}
    tracker = PointTracker(ctx, table)
    now = time.time()
    ctx.watermarks = {p: now for p in ctx.assigned}
    ts = datetime.fromtimestamp(int(now) - 30, UTC)
    t0 = time.perf_counter()
    for start in range(0, points, BATCH):
        batch = [ReadingEvent(point=p.id, zone=registry.zone_of_point(p), enterprise=p.enterprise,
                              ts=ts, values={f: 12.5 for f in p.factors}, received_at=ts)
                 for p in registry.points[start:start + BATCH]]
        tracker.apply(batch)
    tracker.flush()
    tracker.sweep()  # builds the deadline index over every owned point
    apply_s = time.perf_counter() - t0
    del batch
    gc.collect()
    after = rss_bytes(os.getpid())
    assert len(table) == points and len(tracker.index) == points
    return {"points": points, "registry_bytes_per_point": (with_registry - base) / points,
            "state_bytes_per_point": (after - with_registry) / points,
            "bytes_per_point": (after - base) / points, "apply_s": apply_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    say("memory: worker state per tracked point (registry + points table + deadline index)")
    rows = []
    for n in args.points:
        say(f"  building {n:,} points in a fresh process …")
        out = subprocess.run([sys.executable, "-m", "bench.memory", "--one", str(n)],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout))
    say("")
    say(f"{'points':>10}{'registry B/pt':>15}{'state B/pt':>12}{'total B/pt':>12}"
        f"{'apply s':>9}")
    for r in rows:
        say(f"{r['points']:>10,}{r['registry_bytes_per_point']:>15,.0f}"
            f"{r['state_bytes_per_point']:>12,.0f}{r['bytes_per_point']:>12,.0f}"
            f"{r['apply_s']:>9.1f}")
    say("target: ≤ 1,024 B per tracked point")


if __name__ == "__main__":
    main()
