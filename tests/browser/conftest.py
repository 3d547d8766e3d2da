"""Browser tests: the dashboard in Debian's headless chromium against a real pipeline.

One chromium for the session, one pipeline (registry, ingest, worker with a tokens file, a
small fleet) per module. Nothing here ever skips: a missing browser fails the run, naming the
script that installs it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS

from streams.web.auth import digest
from tests.integration.conftest import influx, services  # noqa: F401  (shared fixtures)
from tests.integration.helpers import load_registry_and_start_ingest, own_zone, private_env
from tests.integration.mqtt import Fleet
from tests.integration.procs import ZwProcess, wait_until
from tests.integration.test_api import ECO, MINE, OTHER, POINTS, THEIRS, Api, write_tokens

try:
    from tests.browser.dashboard import (
        CHROMEDRIVER,
        CHROMIUM,
        Dashboard,
        fresh_profile,
        remove_profile,
        start_chromium,
    )
except ImportError as e:  # selenium not installed: say how, never skip
    raise ImportError(f"{e}: the browser tests need the dev dependency selenium "
                      "(pip install -e '.[dev]')") from e

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "out" / "screenshots"
EMERGENCY = "emergency-token"
EMERGENCY_NAME = "city-emergency"



def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives the dashboard in headless chromium "
                   "(needs deploy/local/browser.sh and the local services)")


@dataclass
class Pipeline:
    """A running pipeline: its API, the zone of its registry and the other one, the point
    that never reports, the bearer tokens by who holds them, the worker, the fleet that
    publishes, and the InfluxDB bucket the worker writes to."""

    api: Api
    zone: str
    worker: ZwProcess
    base_url: str
    fleet: Fleet
    influx: InfluxDBClient
    bucket: str
    other: str = OTHER
    silent_point: str = POINTS[3]
    tokens: dict[str, str] = field(default_factory=lambda: {
        "ecology": ECO, "emergency": EMERGENCY, "zone": MINE, "other_zone": THEIRS})
    names: dict[str, str] = field(default_factory=lambda: {"emergency": EMERGENCY_NAME})

    def monitoring_rate(self) -> float | None:
        """The zone's online-monitoring rate as `GET /api/v1/coverage` gives it now."""
        zones = self.api.ok("/api/v1/coverage", self.tokens["ecology"])["zones"]
        return next(z["monitoring_rate"] for z in zones if z["zone"] == self.zone)

    def wait_monitoring_rate(self, rate: float, timeout: float = 60) -> None:
        wait_until(lambda: self.worker.assert_alive() or self.monitoring_rate() == rate,
                   timeout=timeout, what=f"{rate:.0%} coverage through the API")

    @contextmanager
    def fleet_publishing(self, points: Iterable[str]) -> Iterator[None]:
        """Only `points` publish inside the block; afterwards the fleet is as it was and the
        block waits until the API shows the rate it showed before, so the other tests of the
        module find the pipeline as the fixture left it."""
        before, rate = set(self.fleet.live), self.monitoring_rate()
        self.fleet.live = set(points)
        try:
            yield
        finally:
            self.fleet.live = before
            if rate is not None:
                self.wait_monitoring_rate(rate)

    def seed_coverage_history(self, zone: str, rates: dict[timedelta, float]) -> None:
        """Coverage figures `rates` (age → monitoring rate) as the worker would have written
        them that long ago: history the trend sparklines draw. Older than the API's 15 min
        for "latest figures", so today's figures stay the worker's."""
        now = datetime.now(UTC)
        points = [Point("coverage").tag("zone", zone).time(now - age, WritePrecision.S)
                  .field("monitoring_rate", rate) for age, rate in rates.items()]
        with self.influx.write_api(write_options=SYNCHRONOUS) as write:
            write.write(bucket=self.bucket, record=points)


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    """Debian's chromium driven through Debian's chromedriver, shared by every test."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: run deploy/local/browser.sh "
                    "(apt-installs chromium and chromium-driver)", pytrace=False)
    profile = fresh_profile()
    driver = start_chromium(profile)
    yield driver
    driver.quit()
    remove_profile(profile)


@pytest.fixture(scope="module")
def pipeline(services: dict[str, str], influx: InfluxDBClient,  # noqa: F811
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """Registry (4 key polluter units, the 4th never reports, and pukou-edz), ingest, a worker
    with a tokens file (ecology, emergency, two zone committees) and a fleet publishing 3 units
    every second; ready once the API shows the zone at 75 %."""
    run = uuid.uuid4().hex[:10]
    env = private_env(services, run)
    bucket = influx.buckets_api().create_bucket(bucket_name=env["ZW_INFLUX_BUCKET"],
                                                org=services["ZW_INFLUX_ORG"])
    tmp = tmp_path_factory.mktemp("pipeline")
    procs: list[ZwProcess] = []

    def spawn(name: str, *args: str, **extra: str) -> ZwProcess:
        proc = ZwProcess(name, list(args), {**env, **extra}, tmp).start()
        procs.append(proc)
        return proc

    fleet = None
    try:
        zone = own_zone(env)
        load_registry_and_start_ingest(spawn, env, tmp, interval_s=2)
        tokens = write_tokens(tmp / "tokens.yaml", zone)
        entries = yaml.safe_load(tokens.read_text())
        entries.append({"name": EMERGENCY_NAME, "sha256": digest(EMERGENCY), "role": "emergency"})
        tokens.write_text(yaml.safe_dump(entries))
        worker = spawn("worker", "worker", ZW_TOKENS_FILE=str(tokens), ZW_ZONE_INTERVAL_S="1")
        api = Api(env["ZW_WEB_PORT"])
        fleet = Fleet(env["ZW_MQTT_URL"], zone, POINTS[:3])
        try:
            wait_until(lambda: worker.assert_alive() or (api.call("/healthz")[1] or {}).get(
                "status") == "ok", timeout=90, what="the worker's web server and registry")
            wait_until(lambda: worker.assert_alive() or any(
                z["zone"] == zone and z["monitoring_rate"] == 0.75
                for z in api.ok("/api/v1/coverage", ECO)["zones"]),
                timeout=90, what="75 % coverage through the API")
        except AssertionError as e:
            raise AssertionError(f"{e}\nworker log ({worker.log_path}):\n{worker.log_tail()}"
                                 ) from None
        yield Pipeline(api, zone, worker, api.base, fleet, influx, env["ZW_INFLUX_BUCKET"])
    finally:
        if fleet is not None:
            fleet.close()
        for proc in procs:
            proc.stop()
        influx.buckets_api().delete_bucket(bucket)


@pytest.fixture
def dashboard(chromium, pipeline: Pipeline, tmp_path: Path,
              request: pytest.FixtureRequest) -> Dashboard:
    """The dashboard as a first-time visitor sees it (no token, no language chosen); its
    screenshots go to this test's `tmp_path` and to out/screenshots/ (named after the test)."""
    prefix = re.sub(r"[^\w.-]+", "_", request.node.name) + "-"
    page = Dashboard(chromium, pipeline.base_url, [tmp_path, SCREENSHOTS], prefix)
    page.fresh()
    return page
