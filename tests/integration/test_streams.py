"""The stream processors over the real pipeline: restarts, coverage, pipeline stalls."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from influxdb_client import InfluxDBClient

from tests.integration.helpers import load_registry_and_start_ingest, own_zone, wait_for_ingest
from tests.integration.mqtt import Collector, Fleet
from tests.integration.procs import wait_until

POINTS = [f"jn-{i:04d}-ww1" for i in range(1, 5)]
INTERVAL_S = 2
THRESHOLD_S = 3 * INTERVAL_S


def alerts_of(collector: Collector, kind: str, point: str | None = None) -> list[dict]:
    return [m for _, m in collector.messages
            if m["kind"] == kind and (point is None or m.get("point") == point)]


def stored_times(influx: InfluxDBClient, bucket: str, point: str) -> set[datetime]:
    flux = f'''from(bucket: "{bucket}") |> range(start: -1h)
      |> filter(fn: (r) => r._measurement == "reading" and r.point == "{point}"
                           and r._field == "w01018")'''
    return {rec.get_time() for t in influx.query_api().query(flux) for rec in t.records}


def latest_coverage(influx: InfluxDBClient, bucket: str, zone: str) -> dict | None:
    flux = f'''from(bucket: "{bucket}") |> range(start: -1h)
      |> filter(fn: (r) => r._measurement == "coverage" and r.zone == "{zone}")
      |> last() |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")'''
    rows = [rec.values for t in influx.query_api().query(flux) for rec in t.records]
    return rows[0] if rows else None


def test_worker_killed_during_a_gap_raises_no_second_alert_and_loses_no_reading(
        zw_env: dict[str, str], spawn, influx: InfluxDBClient, tmp_path: Path) -> None:
    zone = own_zone(zw_env)
    collector = Collector(zw_env["ZW_MQTT_URL"], f"zw/v1/alerts/{zone}/#")
    load_registry_and_start_ingest(spawn, zw_env, tmp_path, interval_s=INTERVAL_S)
    worker = spawn("worker", "worker")
    fleet = Fleet(zw_env["ZW_MQTT_URL"], zone, POINTS[:3])
    try:
        wait_until(lambda: alerts_of(collector, "data_gap", POINTS[3]) or worker.assert_alive(),
                   timeout=90, what="the pipeline to judge gaps")
        fleet.live.discard(POINTS[0])
        opened = wait_until(lambda: alerts_of(collector, "data_gap", POINTS[0]), timeout=60,
                            what="the gap to open")
        worker.kill()
        spawn("worker-again", "worker", ZW_WEB_PORT=zw_env["ZW_WEB_PORT"])
        time.sleep(THRESHOLD_S + 20)  # the new worker recovers and sweeps the open gap again
        fleet.live.add(POINTS[0])
        wait_until(lambda: any(m["status"] == "resolved"
                               for m in alerts_of(collector, "data_gap", POINTS[0])),
                   timeout=90, what="the gap to resolve after the restart")
    finally:
        fleet.close()
        collector.close()
    messages = alerts_of(collector, "data_gap", POINTS[0])
    # One alert: one id, opened once and resolved once. Delivery is at-least-once, so the
    # killed worker's last change may be published again (same id and status): receivers
    # de-duplicate on (id, status).
    assert {(m["id"], m["status"]) for m in messages} == {
        (opened[0]["id"], "open"), (opened[0]["id"], "resolved")}, messages
    bucket = zw_env["ZW_INFLUX_BUCKET"]
    for point in POINTS[:3]:
        sent = {datetime.fromisoformat(ts).replace(microsecond=0)
                for p, ts in fleet.sent if p == point}
        deadline = time.monotonic() + 60
        while (missing := sent - stored_times(influx, bucket, point)) and \
                time.monotonic() < deadline:
            time.sleep(1)
        assert not missing, f"{point}: {len(missing)} of {len(sent)} readings not stored: " \
                            f"{sorted(missing)[:5]}"


def test_coverage_three_of_four_is_75_and_maintenance_is_excused(
        zw_env: dict[str, str], spawn, influx: InfluxDBClient, tmp_path: Path) -> None:
    zone = own_zone(zw_env)
    load_registry_and_start_ingest(spawn, zw_env, tmp_path, interval_s=INTERVAL_S)
    worker = spawn("worker", "worker", ZW_ZONE_INTERVAL_S="1")
    fleet = Fleet(zw_env["ZW_MQTT_URL"], zone, POINTS[:3])
    bucket = zw_env["ZW_INFLUX_BUCKET"]
    try:
        def at(rate: float, excused: int):
            worker.assert_alive()
            row = latest_coverage(influx, bucket, zone)
            ok = row and row.get("monitoring_rate") == rate and row["units_excused"] == excused
            return row if ok else None
        row = wait_until(lambda: at(0.75, 0), timeout=90, what="75 % coverage")
        assert (row["units_covered"], row["units_total"], row["units_dark"]) == (3, 4, 1)

        fleet.flags[POINTS[2]] = "M"  # declared maintenance: excused, not online
        row = wait_until(lambda: at(0.5, 1), timeout=60, what="the unit in maintenance excused")
        assert (row["units_covered"], row["units_dark"]) == (2, 1)
    finally:
        fleet.close()


def test_stopping_ingest_raises_one_pipeline_alert_not_one_per_point(
        zw_env: dict[str, str], spawn, tmp_path: Path) -> None:
    zone = own_zone(zw_env)
    collector = Collector(zw_env["ZW_MQTT_URL"], "zw/v1/alerts/#")
    ingest = load_registry_and_start_ingest(spawn, zw_env, tmp_path, interval_s=INTERVAL_S)
    worker = spawn("worker", "worker", ZW_STALL_AFTER_S="8")
    fleet = Fleet(zw_env["ZW_MQTT_URL"], zone, POINTS)
    stalled_topic = "zw/v1/alerts/_system/pipeline_stalled"
    try:
        time.sleep(THRESHOLD_S + 15)  # all four online, judged
        worker.assert_alive()
        assert not alerts_of(collector, "data_gap")
        ingest.stop()
        wait_until(lambda: [m for t, m in collector.messages if t == stalled_topic],
                   timeout=60, what="a pipeline alert")
        time.sleep(THRESHOLD_S + 5)  # well past every point's threshold
        wait_for_ingest(spawn("ingest-again", "ingest"), zw_env)
        wait_until(lambda: any(m["status"] == "resolved" for t, m in collector.messages
                               if t == stalled_topic), timeout=60, what="the pipeline to recover")
        time.sleep(5)
    finally:
        fleet.close()
        collector.close()
    stalled = [m for t, m in collector.messages if t == stalled_topic]
    assert [m["status"] for m in stalled] == ["open", "resolved"], stalled
    assert not [m for m in alerts_of(collector, "data_gap") if m["zone"] == zone]
