"""One fault or scale-out run: a zone of its own, ingest and workers, a steady stream, and
the audit at the end. The tests only say what happens in between."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from influxdb_client import InfluxDBClient

from tests.integration.audit import (
    Figures,
    audit_alerts,
    coverage_at,
    coverage_rows,
    read_to_end,
    readings_in_kafka,
    scrape,
    stored_readings,
    wait_for_stored,
)
from tests.integration.conftest import SERVICES
from tests.integration.helpers import ingest_ready, kafka_bootstrap, own_zone
from tests.integration.procs import ZwProcess, free_port, wait_until
from tests.integration.steady import SteadyStream, point_ids, write_zone_registry

WORKER_ENV = {
    "ZW_ZONE_INTERVAL_S": "1",  # coverage follows within a second
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
    gap_threshold_s: int = 6
    ingests: list[ZwProcess] = field(default_factory=list)
    workers: dict[str, ZwProcess] = field(default_factory=dict)
    ports: dict[str, str] = field(default_factory=dict)
    stream: SteadyStream | None = None
    details: dict = field(default_factory=dict)
    """What `finish` found wrong, first few of each, for the assertion messages."""

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

    def start_ingest(self, name: str = "ingest", **env: str) -> ZwProcess:
        port = env.setdefault("ZW_METRICS_PORT", self.zw_env["ZW_METRICS_PORT"])
        ingest = self.spawn(name, "ingest", **env)
        wait_until(lambda: ingest_ready(port) or ingest.assert_alive(), timeout=60,
                   what=f"{name} to subscribe")
        self.ingests.append(ingest)
        self.ports[name] = port
        return ingest

    def start_worker(self, name: str, port: str | None = None, **env: str) -> ZwProcess:
        """A worker with its own web port and data folder (`port`: reuse a stopped one's)."""
        port = port or str(free_port())
        worker = self.spawn(name, "worker", ZW_WEB_PORT=port,
                            ZW_DATA_DIR=str(self.tmp_path / f"data-{name}"),
                            **{**WORKER_ENV, **env})
        self.workers[name] = worker
        self.ports[name] = port
        return worker

    def forwarded(self, name: str = "ingest") -> float:
        """Readings an ingest has handed to Kafka (and acknowledged to MQTT)."""
        topic = self.zw_env["ZW_TOPIC_READINGS"]
        return scrape(self.ports[name], "zw_ingest_messages_forwarded_total",
                      f'topic="{topic}"') or 0.0

    def start_stream(self) -> SteadyStream:
        """Start publishing and wait until two full rounds are in Kafka: workers started after
        that find every point reported before their first watermark."""
        self.stream = SteadyStream(self.zw_env["ZW_MQTT_URL"], self.zone, self.points).start()
        want = 2 * len(self.points)
        wait_until(lambda: sum(self.forwarded(n) for n in self.ports if n.startswith("ingest"))
                   >= want, timeout=60, what="the first rounds to reach Kafka")
        return self.stream

    def alive(self) -> None:
        for proc in [*self.ingests, *self.workers.values()]:
            if proc.proc is not None and proc.proc.returncode is None:
                proc.assert_alive()

    def wait_steady(self, timeout: float = 150) -> None:
        """Until the zone's coverage has been figured at 100 %: every worker has its
        partitions, the registry and a watermark."""
        def full() -> bool:
            self.alive()
            rows = coverage_rows(self.influx, self.bucket, self.zone)
            return bool(rows) and rows[-1].get("monitoring_rate") == 1.0
        wait_until(full, timeout=timeout, interval=1, what="the zone at 100 % coverage")

    def stream_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.alive()
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    def worker_owning_zone(self) -> str:
        """The worker that figures this zone's coverage (it exports the zone's rate)."""
        for name in self.workers:
            if scrape(self.ports[name], "zw_zone_rate", f'zone="{self.zone}"'):
                return name
        raise AssertionError("no worker exports the zone's coverage")

    def finish(self, case: str, silenced: frozenset[str] = frozenset(),
               notes: str = "") -> Figures:
        """Stop the stream, wait for storage to catch up, and audit everything."""
        assert self.stream is not None
        stream = self.stream
        stream.close()
        acked, sent = stream.acked(), stream.sent()
        catch_up = wait_for_stored(self.influx, self.bucket, self.zone, len(acked),
                                   [p for p in self.workers.values() if p.alive()])
        time.sleep(5)  # the last signals through the alert book, the last zone sweep
        rows = stored_readings(self.influx, self.bucket, self.zone)
        distinct = set(rows)
        last_ts: dict[str, int] = {}
        for pid, second in acked:
            last_ts[pid] = max(second, last_ts.get(pid, 0))
        bootstrap = kafka_bootstrap(self.zw_env)
        in_kafka = readings_in_kafka(bootstrap, self.zw_env["ZW_TOPIC_READINGS"], self.zone)
        alerts = audit_alerts(read_to_end(bootstrap, self.zw_env["ZW_TOPIC_ALERTS"]),
                              last_ts, silenced)
        reporting = [s for p, s in last_ts.items() if p not in silenced]
        cov = coverage_at(coverage_rows(self.influx, self.bucket, self.zone), min(reporting))
        missing = acked - distinct
        figures = Figures(
            case=case, published=len(acked), stored=len(distinct), missing=len(missing),
            unexpected=len(distinct - sent), duplicated=len(rows) - len(distinct),
            redelivered=sum(n - 1 for n in in_kafka.values()),
            alerts_raised_twice=len(alerts.raised_twice), alert_changes=alerts.changes,
            republished_changes=alerts.republished, gaps_raised=len(alerts.gaps),
            gaps_left_open=len(alerts.gaps_left_open),
            coverage=None if cov is None else cov.get("monitoring_rate"),
            publisher_lag_s=round(stream.max_lag_s, 2), catch_up_s=round(catch_up, 1),
            notes=notes)
        self.details = {"missing": sorted(missing)[:10], "raised_twice": alerts.raised_twice,
                        "gaps_left_open": alerts.gaps_left_open[:10], "coverage": cov,
                        "alerts_by_kind": alerts.by_kind, "gaps": alerts.gaps[:10]}
        return figures
