"""One fault or scale-out run on the local services: a zone of its own, workers and ingest,
a steady stream, and the audit at the end. The tests only say what happens in between.

The stream is slow (every point every `SLOW_EVERY_S`) while the pipeline starts and while it
catches up afterwards, and fast (every point every second: 2,000 readings/s) around the fault.
The alerts and coverage are judged while every point still reports: once the stream stops,
every point truly goes silent and its gap is real.
"""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from influxdb_client import InfluxDBClient

from tests.integration.audit import (
    AlertAudit,
    Figures,
    audit_alerts,
    coverage_rows,
    read_to_end,
    readings_in_kafka,
    scrape,
    stored_count,
    stored_readings,
    wait_for_stored,
)
from tests.integration.conftest import SERVICES
from tests.integration.helpers import ingest_ready, kafka_bootstrap, own_zone
from tests.integration.procs import ZwProcess, free_port, wait_until
from tests.integration.steady import SteadyStream, point_ids, write_zone_registry

SLOW_EVERY_S = 4
WORKER_ENV = {
    "ZW_ZONE_INTERVAL_S": "1",  # coverage follows within a second …
    "ZW_COVERAGE_WRITE_S": "5",  # … and is written often enough to see that it holds
    "ZW_WRITE_RETRY_MAX_S": "5",  # an InfluxDB back from a restart is written to soon
}


def services(*args: str) -> None:
    """`deploy/local/services ARGS`, failing the test if it fails."""
    done = subprocess.run([str(SERVICES), *args], capture_output=True, text=True)
    assert done.returncode == 0, f"services {' '.join(args)} failed:\n{done.stderr[-2000:]}"


def restart(service: str) -> float:
    """Stop a shared service and start it again (always, even if stopping failed); returns
    the seconds it was away."""
    t0 = time.monotonic()
    try:
        services("down", service)
    finally:
        services("up", service)
    return time.monotonic() - t0


@dataclass
class Scenario:
    zw_env: dict[str, str]
    spawn: Callable[..., ZwProcess]
    influx: InfluxDBClient
    tmp_path: Path
    units: int = 500
    gap_threshold_s: int = 8
    ingests: dict[str, ZwProcess] = field(default_factory=dict)
    workers: dict[str, ZwProcess] = field(default_factory=dict)
    ports: dict[str, str] = field(default_factory=dict)
    stream: SteadyStream | None = None
    silenced: set[str] = field(default_factory=set)
    fast: tuple[int, int] = (0, 0)
    """The seconds planned at one reading per point per second: [start, end), epoch s."""
    settle_s: float = 0.0
    unsettled: str = ""
    """Why the last `settle` gave up; empty when it settled."""
    details: dict = field(default_factory=dict)
    """What was found wrong, first few of each, for the assertion messages."""

    @property
    def zone(self) -> str:
        return own_zone(self.zw_env)

    @property
    def points(self) -> list[str]:
        return point_ids(self.units)

    @property
    def bucket(self) -> str:
        return self.zw_env["ZW_INFLUX_BUCKET"]

    def load_registry(self) -> None:
        path = write_zone_registry(self.tmp_path / "registry.yaml", self.zone, self.units,
                                   self.gap_threshold_s)
        loader = self.spawn("registry-load", "registry", "load", str(path))
        assert loader.proc is not None and loader.proc.wait(90) == 0, loader.log_tail()

    def start_worker(self, name: str, port: str | None = None, **env: str) -> ZwProcess:
        """A worker with its own web port and data folder (`port`: reuse a stopped one's)."""
        port = port or str(free_port())
        worker = self.spawn(name, "worker", ZW_WEB_PORT=port,
                            ZW_DATA_DIR=str(self.tmp_path / f"data-{name}"),
                            **{**WORKER_ENV, **env})
        self.workers[name] = worker
        self.ports[name] = port
        return worker

    def wait_recovered(self, name: str, timeout: float = 120) -> None:
        """Until a worker has joined the group and rebuilt its tables: faust says "Worker
        ready" then (its /healthz says ok earlier, before it has partitions)."""
        worker = self.workers[name]
        wait_until(lambda: worker.assert_alive() or "Worker ready" in worker.log_path.read_text(
            errors="replace"), timeout=timeout, what=f"{name} to join and recover")

    def start_ingest(self, name: str = "ingest", **env: str) -> ZwProcess:
        port = env.setdefault("ZW_METRICS_PORT", self.zw_env["ZW_METRICS_PORT"])
        ingest = self.spawn(name, "ingest", **env)
        wait_until(lambda: ingest_ready(port) or ingest.assert_alive(), timeout=60,
                   what=f"{name} to subscribe")
        self.ingests[name] = ingest
        self.ports[name] = port
        return ingest

    def forwarded(self, name: str) -> float:
        """Readings an ingest has handed to Kafka (and acknowledged to MQTT)."""
        topic = self.zw_env["ZW_TOPIC_READINGS"]
        return scrape(self.ports[name], "zw_ingest_messages_forwarded_total",
                      f'topic="{topic}"') or 0.0

    def start_stream(self) -> SteadyStream:
        """The slow stream, until every point's first reading is in Kafka. Workers started
        after that find few points they have not heard of (SPEC: a point that never reported
        is offline, so the first judgement raises a gap for each)."""
        self.stream = SteadyStream(self.zw_env["ZW_MQTT_URL"], self.zone, self.points)
        self.stream.every_s = SLOW_EVERY_S
        self.stream.start()
        wait_until(lambda: sum(self.forwarded(n) for n in self.ingests) >= len(self.points),
                   timeout=60, what="every point's first reading in Kafka")
        return self.stream

    def alive(self) -> None:
        """Fail at once if a process that should run has exited."""
        for proc in [*self.ingests.values(), *self.workers.values()]:
            if proc.proc is not None and proc.proc.returncode is None:
                proc.assert_alive()

    def stream_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.alive()
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    def run_fast(self, seconds: float, fault: Callable[[], str] | None = None,
                 after_s: float = 0.0, every_s: int = 1) -> str:
        """Every point every `every_s` (1: 2,000 readings/s) for `seconds`, then `fault()`,
        then `after_s` more; back to the slow stream. Returns the fault's note."""
        assert self.stream is not None
        self.stream.every_s = every_s
        start = math.floor(time.time()) + 1
        self.stream_for(seconds)
        note = fault() if fault else ""
        self.stream_for(after_s)
        self.stream.every_s = SLOW_EVERY_S
        self.fast = (start, math.floor(time.time()) + 1)
        return note

    def alerts(self) -> AlertAudit:
        records = read_to_end(kafka_bootstrap(self.zw_env), self.zw_env["ZW_TOPIC_ALERTS"])
        return audit_alerts(records, set(self.points), self.silenced)

    def coverage(self) -> dict | None:
        rows = coverage_rows(self.influx, self.bucket, self.zone)
        return rows[-1] if rows else None

    def settle(self, rate: float = 1.0, timeout: float = 300,
               stalled_after: float = 90) -> AlertAudit:
        """While the slow stream runs, wait until every reading stamped before now is
        stored, coverage figured for a time after now is `rate`, and no data_gap is open
        for a point that reports. Prints progress; returns the alerts then, or when nothing
        has moved for `stalled_after` s or `timeout` passed (then `unsettled` says why: the
        test still gets its figures before it fails)."""
        assert self.stream is not None
        t0, at = time.monotonic(), int(time.time())
        want = self.stream.count_before(at)
        self.unsettled = ""
        last: tuple = ()
        moved, shown = t0, 0.0
        while True:
            self.alive()
            have = stored_count(self.influx, self.bucket, self.zone, before=at)
            cov = self.coverage()
            audit = self.alerts()
            # A row may carry no monitoring rate yet (the field is left out while unknown).
            now_rate = None if cov is None else cov.get("monitoring_rate")
            covered = now_rate is not None and abs(now_rate - rate) < 1e-9 \
                and cov["_time"].timestamp() >= at
            self.details.update(open_gaps=audit.open_gaps[:5], coverage=cov)
            now = time.monotonic()
            self.settle_s = now - t0
            if have >= want and covered and not audit.open_gaps:
                return audit
            if (have, len(audit.open_gaps), covered) != last:
                last, moved = (have, len(audit.open_gaps), covered), now
            if now - shown >= 10:
                print(f"  settling: {have:,}/{want:,} stored, coverage "
                      f"{cov and cov.get('monitoring_rate')}, {len(audit.open_gaps)} gaps open "
                      f"({now - t0:.0f} s)", flush=True)
                shown = now
            if now - moved > stalled_after or now - t0 > timeout:
                self.unsettled = (f"not settled after {now - t0:.0f} s: {have:,}/{want:,} "
                                  f"stored, coverage {cov and cov.get('monitoring_rate')} "
                                  f"(want {rate}), {len(audit.open_gaps)} data_gap open")
                return audit
            time.sleep(3)

    def finish(self, case: str, judged: AlertAudit, notes: str = "") -> Figures:
        """Stop the stream, wait until storage has everything, and audit: readings against
        what the broker acknowledged, every alert ever published for ids raised twice."""
        assert self.stream is not None
        stream = self.stream
        stream.close()
        acked, sent = stream.acked(), stream.sent()
        fast = stream.count_between(*self.fast)
        catch_up = wait_for_stored(self.influx, self.bucket, self.zone, len(acked),
                                   [p for p in self.workers.values() if p.alive()])
        rows = stored_readings(self.influx, self.bucket, self.zone)
        distinct = set(rows)
        bootstrap = kafka_bootstrap(self.zw_env)
        in_kafka = readings_in_kafka(bootstrap, self.zw_env["ZW_TOPIC_READINGS"], self.zone)
        final = self.alerts()
        missing = acked - distinct
        cov = self.details.get("coverage")
        figures = Figures(
            case=case, published=len(acked), fast=fast,
            fast_rate=round(fast / max(1, self.fast[1] - self.fast[0])),
            stored=len(distinct), missing=len(missing),
            missing_in_kafka=len(missing & in_kafka.keys()), unexpected=len(distinct - sent),
            duplicated=len(rows) - len(distinct),
            redelivered=sum(n - 1 for n in in_kafka.values()),
            alerts_raised_twice=len(final.raised_twice), alert_changes=final.changes,
            republished_changes=final.republished, startup_gaps=len(judged.startup_gaps),
            gaps_raised=len(judged.gaps), gaps_left_open=len(judged.open_gaps),
            gap_window=gap_window(judged.gaps),
            coverage=None if cov is None else cov.get("monitoring_rate"),
            publisher_lag_s=round(stream.max_lag_s, 2), catch_up_s=round(catch_up, 1),
            settle_s=round(self.settle_s, 1), notes=notes, unsettled=self.unsettled)
        self.details.update(missing=sorted(missing)[:10], raised_twice=final.raised_twice,
                            alerts_by_kind=final.by_kind)
        return figures


def gap_window(gaps: list[dict]) -> str:
    """"since A..B, opened C..D" over `gaps` (UTC times of day), or "" if there are none."""
    if not gaps:
        return ""

    def span(key: str) -> str:
        times = sorted(str(g[key])[11:19] for g in gaps if g.get(key))
        return f"{times[0]}..{times[-1]}" if times else "?"

    return f"since {span('since')}, opened {span('opened_at')}"

