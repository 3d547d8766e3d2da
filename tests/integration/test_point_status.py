"""Point states over the real pipeline: each change of a point's status lands in InfluxDB."""

from __future__ import annotations

from pathlib import Path

from influxdb_client import InfluxDBClient

from tests.integration.helpers import load_registry_and_start_ingest, own_zone
from tests.integration.mqtt import Fleet
from tests.integration.procs import wait_until
from tests.integration.test_streams import latest_coverage

POINTS = ["jn-0001-ww1", "jn-0002-ww1"]
INTERVAL_S = 2


def point_statuses(influx: InfluxDBClient, bucket: str, point: str) -> list[dict]:
    flux = f'''from(bucket: "{bucket}") |> range(start: -1d)
      |> filter(fn: (r) => r._measurement == "point_status" and r.point == "{point}")
      |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
      |> sort(columns: ["_time"])'''
    return [rec.values for table in influx.query_api().query(flux) for rec in table.records]


def test_a_point_that_goes_offline_has_its_status_in_influxdb(
        zw_env: dict[str, str], spawn, influx: InfluxDBClient, tmp_path: Path) -> None:
    zone = own_zone(zw_env)
    load_registry_and_start_ingest(spawn, zw_env, tmp_path, interval_s=INTERVAL_S)
    worker = spawn("worker", "worker", ZW_ZONE_INTERVAL_S="1")
    fleet = Fleet(zw_env["ZW_MQTT_URL"], zone, POINTS)
    bucket = zw_env["ZW_INFLUX_BUCKET"]

    def rows_with(status: str) -> list[dict]:
        worker.assert_alive()
        return [r for r in point_statuses(influx, bucket, POINTS[0]) if r["status"] == status]

    try:
        online = wait_until(lambda: rows_with("online"), timeout=90, interval=1,
                            what="the point online in InfluxDB")[-1]
        fleet.live.discard(POINTS[0])
        offline = wait_until(lambda: rows_with("offline"), timeout=60, interval=1,
                             what="the silenced point offline in InfluxDB")[-1]
        # stored, and then applied: the zone's figures follow it
        wait_until(lambda: (latest_coverage(influx, bucket, zone) or {}).get("units_covered")
                   == 1, timeout=30, interval=1, what="one unit covered of the two reporting")
    finally:
        fleet.close()
    assert offline["zone"] == zone and offline["enterprise"] == "jn-0001"
    assert offline["_time"] >= online["_time"]
    assert offline["since"] is not None and offline["since"] >= online["since"]
    assert "Crashed" not in worker.log_path.read_text(errors="replace"), worker.log_tail()
