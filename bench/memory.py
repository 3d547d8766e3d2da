"""Worker memory per tracked point, at 100k and 1M points.

    python -m bench.memory [--points 100000 1000000]

Each size runs in a fresh process that builds what a worker holds for its points: the
registry (parsed from its JSON, as the registry feed does) and its index, the `points`
table's records (a dict, as Faust's memory store keeps them), the deadline index. It goes
through the worker's own code (`PointTracker.apply`, `flush`, `sweep`), one reading per
point, and reports the growth of its resident set over the points. Faust, Kafka clients and
the web server are a fixed cost, not a per-point one, so they are left out; `bench.latency`
prints a whole worker's RSS at 100k beside it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import rss_bytes, say
from bench.registry_gen import synthetic_registry

BATCH = 5_000


def one(points: int, registry_json: str) -> dict[str, float]:
    from schemas import ReadingEvent, Registry
    from streams.app import rules_of
    from streams.config import StreamSettings
    from streams.context import WorkerContext
    from streams.points import PointTracker

    raw = Path(registry_json).read_bytes()
    gc.collect()
    base = rss_bytes(os.getpid())
    registry = Registry.model_validate_json(raw)  # as the worker's registry feed does
    del raw
    settings = StreamSettings()
    ctx = WorkerContext(settings, rules_of(settings))
    ctx.use_registry(registry)
    ctx.assigned = frozenset(range(settings.readings_partitions))
    _ = ctx.index.point_partition if ctx.index else None
    gc.collect()
    with_registry = rss_bytes(os.getpid())
    table: dict[bytes, str] = {}
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
    return {"points": points, "registry_rss": (with_registry - base) / points,
            "state_rss": (after - with_registry) / points, "rss": (after - base) / points,
            "apply_s": apply_s}


def registry_live(points: int, registry_json: str) -> dict[str, float]:
    """The registry's live Python objects per point (tracemalloc; its own traces take memory,
    so this runs in a process of its own)."""
    from schemas import Registry

    raw = Path(registry_json).read_bytes()
    tracemalloc.start()
    registry = Registry.model_validate_json(raw)
    gc.collect()
    live = tracemalloc.get_traced_memory()[0]
    assert len(registry.points) == points
    return {"registry_live": live / points}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--live", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one or args.live:
        n, path = args.one or args.live
        print(json.dumps((one if args.one else registry_live)(int(n), path)))
        return
    say("memory: worker state per tracked point (registry + points table + deadline index)")
    rows = []
    for n in args.points:
        say(f"  building {n:,} points in a fresh process …")
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            f.write(synthetic_registry(n, gap_threshold_s=86_400).model_dump_json().encode())
            f.flush()
            row = {}
            for mode in ("--one", "--live"):
                out = subprocess.run([sys.executable, "-m", "bench.memory", mode, str(n),
                                      f.name], capture_output=True, text=True, check=True)
                row.update(json.loads(out.stdout))
        rows.append(row)
    say("")
    say("bytes per point: growth of the worker's resident set (RSS, what the OS sees) from")
    say("before the registry is parsed to after every point has a state; and the registry's")
    say("share of it in live Python objects (tracemalloc). Parsing the registry's JSON leaves")
    say("freed memory in the heap that the point states then reuse, so RSS is not split.")
    say(f"{'points':>10}{'RSS B/pt':>10}{'registry live B/pt':>20}{'apply s':>9}")
    for r in rows:
        say(f"{r['points']:>10,}{r['rss']:>10,.0f}{r['registry_live']:>20,.0f}"
            f"{r['apply_s']:>9.1f}")
    say("target: ≤ 1,024 B per tracked point")


if __name__ == "__main__":
    main()
