"""Real services for integration tests: started once per session by deploy/local/services.

A service that fails to start fails the run loudly; nothing is ever skipped.
"""

from __future__ import annotations

import shlex
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from influxdb_client import InfluxDBClient

from tests.integration.helpers import delete_topics, private_env
from tests.integration.procs import ZwProcess
from tests.integration.receiver import Receiver, serve

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "deploy" / "local" / "services"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


def _services_env() -> dict[str, str]:
    up = subprocess.run([str(SERVICES), "up"], capture_output=True, text=True)
    if up.returncode != 0:
        pytest.fail(f"deploy/local/services up failed:\n{up.stdout}\n{up.stderr}", pytrace=False)
    out = subprocess.run([str(SERVICES), "env"], capture_output=True, text=True, check=True)
    env: dict[str, str] = {}
    for line in out.stdout.splitlines():
        words = shlex.split(line)  # `printf %q` quoting, undone as the shell would
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            key, value = words[1].split("=", 1)
            env[key] = value
    return env


@pytest.fixture(scope="session")
def services() -> dict[str, str]:
    """The running services' `ZW_…` variables."""
    return _services_env()


@pytest.fixture(scope="session")
def influx(services: dict[str, str]) -> Iterator[InfluxDBClient]:
    client = InfluxDBClient(url=services["ZW_INFLUX_URL"], token=services["ZW_INFLUX_TOKEN"],
                            org=services["ZW_INFLUX_ORG"], timeout=30_000)
    yield client
    client.close()


@pytest.fixture
def zw_env(services: dict[str, str], influx: InfluxDBClient) -> Iterator[dict[str, str]]:
    """Services plus names private to this test: topics, Faust app id, InfluxDB bucket."""
    run = uuid.uuid4().hex[:10]
    env = private_env(services, run)
    api = influx.buckets_api()
    created = api.create_bucket(bucket_name=env["ZW_INFLUX_BUCKET"],
                                org=services["ZW_INFLUX_ORG"])
    yield env
    api.delete_bucket(created)
    delete_topics(env, run)


@pytest.fixture
def spawn(zw_env: dict[str, str], tmp_path: Path) -> Iterator:
    """Start `zonewatch …` subprocesses; all are stopped at the end of the test."""
    procs: list[ZwProcess] = []

    def _spawn(name: str, *args: str, **extra_env: str) -> ZwProcess:
        proc = ZwProcess(name, list(args), {**zw_env, **extra_env}, tmp_path).start()
        procs.append(proc)
        return proc

    yield _spawn
    for proc in procs:
        proc.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A real HTTP receiver for alert deliveries on a free loopback port (`receiver.base`)."""
    rec, runner = await serve()
    yield rec
    await runner.cleanup()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The figures fault and scale tests record (`record_property("figures", …)`), together
    at the end of the run, passed or not."""
    lines = [value for reports in terminalreporter.stats.values() for rep in reports
             if getattr(rep, "when", None) == "call"
             for key, value in getattr(rep, "user_properties", ()) if key == "figures"]
    if lines:
        terminalreporter.write_sep("-", "fault and scale-out figures")
        for line in lines:
            terminalreporter.write_line(line)
