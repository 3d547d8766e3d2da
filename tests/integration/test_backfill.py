"""HJ 212 backfill (补发) after an outage: stored once, the period's completeness corrected by
it, and the filled intervals reported as filled late, apart from data that came on time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from influxdb_client import InfluxDBClient

from ingest.hj212 import encode_frame
from tests.factories import tiny_registry
from tests.integration.helpers import load_registry_and_start_ingest, own_zone
from tests.integration.mqtt import publish_all
from tests.integration.procs import wait_until
from zonewatch import query

INTERVAL_S = 2
MN = "010000A89000000000000001"  # jn-0001-ww1 in tiny_registry
POINT = "jn-0001-ww1"


def frame(at: datetime) -> bytes:
    return encode_frame(st="32", cn="2011", pw="123456", mn=MN, data_time=at,
                        values={"w01018": 21.5}, flags={"w01018": "N"}).encode()


def test_backfill_raises_completeness_and_is_marked_filled_late(
        zw_env: dict[str, str], spawn, influx: InfluxDBClient, tmp_path: Path) -> None:
    zone = own_zone(zw_env)
    load_registry_and_start_ingest(spawn, zw_env, tmp_path, interval_s=INTERVAL_S)
    worker = spawn("worker", "worker")
    topic = f"zw/v1/{zone}/hj212"
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    slots = [start + timedelta(seconds=INTERVAL_S * i) for i in range(20)]
    outage = slots[5:15]
    while datetime.now(UTC) < start:
        time.sleep(0.05)
    for at in slots:  # live, in real time, silent during the outage
        while datetime.now(UTC) < at:
            time.sleep(0.05)
        if at not in outage:
            publish_all(zw_env["ZW_MQTT_URL"], [(topic, frame(at))])
    end = slots[-1] + timedelta(seconds=INTERVAL_S)
    registry = tiny_registry(zone=zone, interval_s=INTERVAL_S)
    bucket = zw_env["ZW_INFLUX_BUCKET"]

    def figures() -> query.Completeness:
        worker.assert_alive()
        return query.completeness(influx.query_api(), bucket, registry, zone, start,
                                  end).points[POINT]

    before = wait_until(lambda: (c := figures()).on_time >= 10 and c, timeout=60,
                        what="the live readings in InfluxDB")
    assert (before.expected, before.on_time, before.filled_late) == (20, 10, 0)

    publish_all(zw_env["ZW_MQTT_URL"], [(topic, frame(at)) for at in outage])  # 补发
    after = wait_until(lambda: (c := figures()).filled_late >= 10 and c, timeout=60,
                       what="the backfill in InfluxDB")
    assert (after.expected, after.on_time, after.filled_late) == (20, 10, 10)
    assert after.rate == 1.0 and after.on_time_rate == 0.5
