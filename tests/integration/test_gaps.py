"""Data gaps over the real pipeline: judged against the registry, in event time, once."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

from tests.integration.helpers import load_registry_and_start_ingest, own_zone
from tests.integration.mqtt import Collector, Fleet
from tests.integration.procs import wait_until
from tests.integration.test_api import ECO, write_tokens

POINTS = [f"jn-{i:04d}-ww1" for i in range(1, 5)]
INTERVAL_S = 2
THRESHOLD_S = 3 * INTERVAL_S


def worker_metrics(port: str) -> str:
    """The worker's /metrics, with a token that may see every zone."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                     headers={"Authorization": f"Bearer {ECO}"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return r.read().decode()


def gap_messages(collector: Collector, point: str) -> list[dict]:
    return [m for _, m in collector.messages if m["kind"] == "data_gap" and m["point"] == point]


def test_silent_point_raises_one_gap_that_resolves_and_never_reported_is_offline(
        zw_env: dict[str, str], spawn, tmp_path: Path) -> None:
    zone = own_zone(zw_env)
    collector = Collector(zw_env["ZW_MQTT_URL"], f"zw/v1/alerts/{zone}/#")
    load_registry_and_start_ingest(spawn, zw_env, tmp_path, interval_s=INTERVAL_S)
    worker = spawn("worker", "worker",
                   ZW_TOKENS_FILE=str(write_tokens(tmp_path / "tokens.yaml", zone)))
    fleet = Fleet(zw_env["ZW_MQTT_URL"], zone, POINTS[:3])  # POINTS[3] never reports
    try:
        def never_reported() -> list[dict]:
            worker.assert_alive()
            return gap_messages(collector, POINTS[3])
        first = wait_until(never_reported, timeout=90, what="a gap for the silent point")[0]
        assert first["status"] == "open" and first["zone"] == zone

        time.sleep(THRESHOLD_S)  # the live points settle online
        fleet.live.discard(POINTS[0])
        stopped = time.time()
        opened = wait_until(lambda: gap_messages(collector, POINTS[0]), timeout=60,
                            what="a gap for the stopped point")
        latency = time.time() - stopped - THRESHOLD_S
        print(f"data_gap raised {latency:.1f} s after the threshold passed")
        assert latency <= 5 + 1  # one more second: the fleet publishes once a second

        metrics = worker_metrics(zw_env["ZW_WEB_PORT"])
        assert 'zw_alert_changes_total{kind="data_gap",status="open"}' in metrics
        assert "zw_worker_readings_stored_total" in metrics
        wait_until(lambda: 'zw_open_alerts{kind="data_gap"} 2.0' in worker_metrics(
            zw_env["ZW_WEB_PORT"]), timeout=40, what="two open data gaps in the metrics")

        fleet.live.add(POINTS[0])
        wait_until(lambda: any(m["status"] == "resolved"
                               for m in gap_messages(collector, POINTS[0])),
                   timeout=30, what="the gap to resolve")
        time.sleep(2)
    finally:
        fleet.close()
        collector.close()
    messages = gap_messages(collector, POINTS[0])
    assert [m["status"] for m in messages] == ["open", "resolved"], messages
    assert len({m["id"] for m in messages}) == 1 == len({opened[0]["id"]})
    assert not gap_messages(collector, POINTS[1]) and not gap_messages(collector, POINTS[2])
    assert [m["status"] for m in gap_messages(collector, POINTS[3])] == ["open"]
