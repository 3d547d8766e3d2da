"""Faults during a steady stream of 2,000 readings/s (issue 7): a worker killed, Kafka,
InfluxDB and Mosquitto restarted. Afterwards every published reading is stored exactly once,
no alert id is raised twice, no false data_gap is left open, and the zone's coverage is right.

Each run prints its figures (`-s`) and records them for the summary at the end of the session.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from influxdb_client import InfluxDBClient

from tests.integration.scenario import Scenario, restart

pytestmark = pytest.mark.faults  # restarts shared services: make test runs these last

FAULTS = ("worker_sigkill", "kafka_restart", "influxdb_restart", "mosquitto_restart")
STEADY_S = 8
"""Every point every second, everything healthy, before the fault."""
AFTER_S = 12
"""Every point every second after the fault is over."""
SESSION = {"ZW_KAFKA_SESSION_TIMEOUT_S": "10"}
"""For the SIGKILL: the dead worker's partitions are given out again after 10 s instead of a
minute. The other faults run with the default, as production does.

One worker, killed and replaced: several workers sharing the load, joining and leaving, are
test_scale.py's."""


def inject(fault: str, run: Scenario) -> str:
    """Do the fault; returns a note for the figures."""
    if fault == "worker_sigkill":
        run.workers["worker-1"].kill()
        run.start_worker("worker-2", **SESSION)  # what a supervisor would do
        return "SIGKILL worker-1, worker-2 started in its place"
    service = fault.removesuffix("_restart")
    down_at = datetime.now(UTC)
    return f"{service} away {restart(service):.0f} s from {down_at:%H:%M:%S}"


@pytest.mark.timeout(900)
@pytest.mark.parametrize("fault", FAULTS)
def test_fault_during_steady_stream_stores_once_and_alerts_once(
        fault: str, zw_env: dict[str, str], spawn: Callable, influx: InfluxDBClient,
        tmp_path: Path, record_property: Callable) -> None:
    run = Scenario(zw_env, spawn, influx, tmp_path)
    run.load_registry()
    run.start_ingest(ZW_MQTT_SHARE_GROUP="")  # one ingest, deployed without a group
    stream = run.start_stream()
    try:
        run.start_worker("worker-1", **(SESSION if fault == "worker_sigkill" else {}))
        run.settle()  # every point heard of, the zone at 100 %
        assert not run.unsettled, f"before the fault: {run.unsettled}; {run.details}"
        note = run.run_fast(STEADY_S, lambda: inject(fault, run), AFTER_S)
        judged = run.settle()
        figures = run.finish(fault, judged, note)
    finally:
        stream.close(timeout=5)
    print(f"\nfigures {figures.line()}")
    record_property("figures", figures.line())
    assert figures.fast_rate >= 1900, "the fast part fell short of 2,000 readings/s"
    assert (figures.missing, figures.unexpected, figures.duplicated) == (0, 0, 0), run.details
    assert figures.alerts_raised_twice == 0, run.details["raised_twice"]
    assert not figures.unsettled, run.details
    assert figures.gaps_left_open == 0 and figures.coverage == 1.0, run.details
