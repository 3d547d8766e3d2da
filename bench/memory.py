"""Worker memory per tracked point, at 100k and 1M points.

    python -m bench.memory [--points 100000 1000000]

Each size runs in a fresh process that builds what a worker holds for its points: the
registry (parsed from its JSON, as the registry feed does) and its index, the `points`
table's records (a dict, as Faust's memory store keeps them), the deadline index, and the
zone agent's unit tally. It goes
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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import rss_bytes, say
from bench.registry_gen import synthetic_registry
from schemas import ReadingEvent, Registry
from streams.app import rules_of
from streams.config import StreamSettings
from streams.context import WorkerContext
from streams.point_state import PointStatus
from streams.points import PointTracker
from streams.unit_tally import UnitTally

BATCH = 5_000


def one(points: int, registry_json: str) -> dict[str, float]:
    raw = Path(registry_json).read_bytes()
    gc.collect()
    base = rss_bytes(os.getpid())
    held = build(points, raw)
    gc.collect()
    return {"points": points, "rss": (rss_bytes(os.getpid()) - base) / points,
            "apply_s": held["apply_s"]}


def build(points: int, raw: bytes, mark: Callable[[str], None] = lambda _: None
          ) -> dict[str, Any]:
    """What a worker holds for `points` points, built through its own code; `mark(part)` is
    called as each part is complete (registry, index, states, tally)."""
    registry = Registry.model_validate_json(raw)  # as the worker's registry feed does
    mark("registry")
    settings = StreamSettings()
    ctx = WorkerContext(settings, rules_of(settings))
    ctx.use_registry(registry)
    ctx.assigned = frozenset(range(settings.readings_partitions))
    assert ctx.index is not None
    _ = ctx.index.point_partition, ctx.index.view
    mark("index")
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
    assert len(table) == points and len(tracker.index) == points
    mark("states")
    tally = UnitTally(ctx.index.view,
                      dict.fromkeys((p.id for p in registry.points), PointStatus.ONLINE))
    tally.summaries(ctx.index.view.zones)  # the zone agent's, for the zones it owns
    mark("tally")
    return {"registry": registry, "ctx": ctx, "tracker": tracker, "tally": tally,
            "apply_s": apply_s}


def live(points: int, registry_json: str) -> dict[str, float]:
    """Live Python objects per point, by part (tracemalloc; its own traces take memory, so
    this runs in a process of its own)."""
    raw = Path(registry_json).read_bytes()
    tracemalloc.start()
    sizes: dict[str, float] = {}
    last = [0]

    def mark(part: str) -> None:
        gc.collect()
        now = tracemalloc.get_traced_memory()[0]
        sizes[f"live_{part}"] = (now - last[0]) / points
        last[0] = now

    build(points, raw, mark)
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--live", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one or args.live:
        n, path = args.one or args.live
        print(json.dumps((one if args.one else live)(int(n), path)))
        return
    say("memory: worker state per tracked point (registry, points table, deadline index, "
        "unit tally)")
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
    say("before the registry is parsed to after every point has a state; then its live Python")
    say("objects by part (tracemalloc). RSS also holds what parsing freed but the allocator")
    say("keeps, so it is more than the parts' sum.")
    parts = ("registry", "index", "states", "tally")
    say(f"{'points':>10}{'RSS B/pt':>10}{'apply s':>9}   live B/pt: "
        + "  ".join(f"{p:>8}" for p in parts) + f"{'sum':>8}")
    for r in rows:
        live_parts = [r[f"live_{p}"] for p in parts]
        say(f"{r['points']:>10,}{r['rss']:>10,.0f}{r['apply_s']:>9.1f}              "
            + "  ".join(f"{v:>8,.0f}" for v in live_parts) + f"{sum(live_parts):>8,.0f}")
    say("target: ≤ 1,024 B per tracked point")


if __name__ == "__main__":
    main()
