"""What every benchmark needs: a private run on the local services, its processes, its figures.

Each run has its own Kafka topics, Faust app id and InfluxDB bucket (as a test has), so a
benchmark never reads another's data, and everything it made is removed at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from influxdb_client import InfluxDBClient

from schemas import Registry
from streams.web.auth import digest
from tests.integration.helpers import delete_topics, private_env
from tests.integration.procs import ZwProcess, wait_until

ROOT = Path(__file__).resolve().parents[1]
METRICS_TOKEN = secrets.token_urlsafe(24)
"""The bench's token for the workers' /metrics, which wants a role that sees every zone."""


def services_env() -> dict[str, str]:
    """The `ZW_…` variables of the running services (`make bench` exports them)."""
    env = {k: v for k, v in os.environ.items() if k.startswith("ZW_")}
    if "ZW_KAFKA_URL" not in env:
        sys.exit("bench: no ZW_KAFKA_URL; run `make bench`, or "
                 "`eval \"$(deploy/local/services env)\"` first")
    return env


def say(text: str) -> None:
    print(text, flush=True)


@dataclass
class Run:
    """One benchmark run's private names, its folder and the processes it started."""

    env: dict[str, str]
    folder: Path
    influx: InfluxDBClient
    procs: list[ZwProcess | subprocess.Popen] = field(default_factory=list)

    @property
    def bucket(self) -> str:
        return self.env["ZW_INFLUX_BUCKET"]

    @property
    def bootstrap(self) -> str:
        return self.env["ZW_KAFKA_URL"].removeprefix("kafka://")

    def zonewatch(self, name: str, *args: str, **extra: str) -> ZwProcess:
        """Start `python -m zonewatch ARGS` with this run's env."""
        proc = ZwProcess(name, list(args), {**self.env, **extra}, self.folder).start()
        self.procs.append(proc)
        return proc

    def module(self, name: str, module: str, *args: str, **extra: str) -> subprocess.Popen:
        """Start `python -m MODULE ARGS` (a bench part) with this run's env; stdout piped."""
        log = (self.folder / f"{name}.log").open("ab")
        proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT,
                                env={**os.environ, **self.env, **extra}, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=log, text=True)
        self.procs.append(proc)
        return proc

    def load_registry(self, registry: Registry) -> Path:
        path = self.folder / "registry.json"
        path.write_text(registry.model_dump_json())
        loader = self.zonewatch("registry-load", "registry", "load", str(path))
        assert loader.proc is not None
        if loader.proc.wait(300) != 0:
            raise SystemExit(f"registry load failed:\n{loader.log_tail()}")
        return path

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.folder / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def count_readings(self, field_name: str) -> int:
        """Rows of one field of `reading` in this run's bucket: each stored reading once."""
        flux = f'''from(bucket: "{self.bucket}") |> range(start: 0)
          |> filter(fn: (r) => r._measurement == "reading" and r._field == "{field_name}")
          |> group() |> count()'''
        tables = self.influx.query_api().query(flux)
        return sum(int(rec.get_value()) for t in tables for rec in t.records)


@contextmanager
def private_run(label: str) -> Iterator[Run]:
    """A private run: bucket created, topics named; on leaving, processes stopped and the
    bucket and topics deleted."""
    services = services_env()
    signal.signal(signal.SIGTERM, _exit_on_term)  # `finally` below stops what was started
    run_id = f"{label}-{uuid.uuid4().hex[:6]}"
    env = private_env(services, run_id)
    env["ZW_INFLUX_BUCKET"] = f"zw-bench-{run_id}"
    env["ZW_APP_ID"] = f"zw-bench-{run_id}"
    env["ZW_LOG_LEVEL"] = "WARNING"
    folder = Path(tempfile.mkdtemp(prefix=f"zw-bench-{label}-"))
    env["ZW_TOKENS_FILE"] = str(folder / "tokens.json")
    Path(env["ZW_TOKENS_FILE"]).write_text(json.dumps(
        [{"name": "bench", "sha256": digest(METRICS_TOKEN), "role": "admin"}]))
    influx = InfluxDBClient(url=services["ZW_INFLUX_URL"], token=services["ZW_INFLUX_TOKEN"],
                            org=services["ZW_INFLUX_ORG"], timeout=120_000)
    buckets = influx.buckets_api()
    bucket = buckets.create_bucket(bucket_name=env["ZW_INFLUX_BUCKET"],
                                   org=services["ZW_INFLUX_ORG"])
    run = Run(env, folder, influx)
    try:
        yield run
    finally:
        for proc in reversed(run.procs):
            _stop(proc)
        buckets.delete_bucket(bucket)
        influx.close()
        delete_topics(run.env, run_id)


def _exit_on_term(_signum: int, _frame: object) -> None:
    raise SystemExit("bench: terminated")


def _stop(proc: ZwProcess | subprocess.Popen) -> None:
    if isinstance(proc, ZwProcess):
        proc.stop()
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


class Said:
    """The latest JSON object each key was printed with by a bench part, read on a thread."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.latest: dict[str, object] = {}
        self._proc = proc
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            with contextlib.suppress(ValueError):
                self.latest.update(json.loads(line))

    def wait(self, key: str, timeout: float = 300) -> object:
        wait_until(lambda: key in self.latest or self._proc.poll() is not None, timeout,
                   interval=0.1, what=f"{key!r} from a bench part")
        if key not in self.latest:
            raise SystemExit(f"a bench part exited ({self._proc.returncode}) before {key!r}")
        return self.latest[key]

    def go(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write("go\n")
        self._proc.stdin.flush()


def scrape(port: str, metric: str) -> float | None:
    """One sample's value from a Prometheus endpoint on loopback (labels ignored, summed)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                     headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    pattern = re.compile(rf"^{re.escape(metric)}(?:\{{[^}}]*\}})? (\S+)$", re.M)
    values = [float(v) for v in pattern.findall(text)]
    return sum(values) if values else None


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise ValueError(f"no VmRSS for pid {pid}")


class Progress:
    """Prints a rate every `every_s` while a count grows towards `total`."""

    def __init__(self, what: str, total: int, every_s: float = 2.0) -> None:
        self.what, self.total, self.every_s = what, total, every_s
        self.t0 = time.monotonic()
        self._last = (self.t0, 0)

    def show(self, done: int) -> None:
        now = time.monotonic()
        t, n = self._last
        if now - t < self.every_s:
            return
        rate = (done - n) / (now - t)
        say(f"  {self.what}: {done:,}/{self.total:,} ({rate:,.0f}/s now, "
            f"{now - self.t0:.0f} s)")
        self._last = (now, done)


def wait_for_count(what: str, total: int, count: Callable[[], int | None],
                   timeout: float, stalled_after: float = 60.0) -> float:
    """Poll `count()` until it reaches `total`; returns the monotonic time it did. Fails when
    nothing moves for `stalled_after` seconds or `timeout` passes."""
    progress = Progress(what, total)
    last, moved = -1, time.monotonic()
    deadline = time.monotonic() + timeout
    while True:
        done = count() or 0
        now = time.monotonic()
        if done >= total:
            return now
        if done != last:
            last, moved = done, now
        if now - moved > stalled_after or now > deadline:
            raise SystemExit(f"{what}: stuck at {done:,}/{total:,}")
        progress.show(done)
        time.sleep(0.2)


def ready(port: str, metric: str, timeout: float = 90) -> None:
    wait_until(lambda: scrape(port, metric) is not None, timeout, what=f"{metric} on :{port}")
