"""One reading end to end: MQTT → ingest → Kafka → Faust worker → InfluxDB."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from influxdb_client import InfluxDBClient

from schemas import DeadLetter
from tests.integration.helpers import (
    ingest_ready,
    own_zone,
    query_readings,
    read_topic,
    write_registry,
)
from tests.integration.mqtt import publish_all
from tests.integration.procs import wait_until


def test_one_reading_lands_in_influxdb_and_bad_one_in_dead_letters(
        zw_env: dict[str, str], spawn, influx: InfluxDBClient, tmp_path: Path) -> None:
    zone = own_zone(zw_env)
    registry = write_registry(tmp_path / "registry.yaml", zone)
    loader = spawn("registry-load", "registry", "load", str(registry))
    assert loader.proc is not None and loader.proc.wait(60) == 0, loader.log_tail()

    ingest = spawn("ingest", "ingest")
    worker = spawn("worker", "worker")
    wait_until(lambda: ingest_ready(zw_env["ZW_METRICS_PORT"]) or ingest.assert_alive(),
               timeout=60, what="ingest to subscribe")

    ts = (datetime.now(UTC) - timedelta(seconds=30)).replace(microsecond=0)
    good = {"point": "jn-0001-ww1", "ts": ts.isoformat(), "values": {"w01018": 23.1},
            "flags": {"w01018": "N"}}
    bad = {"point": "jn-0001-ww1", "ts": ts.isoformat(), "values": {"w01018": "lots"}}
    topic = f"zw/v1/{zone}/readings"
    publish_all(zw_env["ZW_MQTT_URL"], [(topic, good), (topic, bad), (topic, good)])

    def landed() -> list[dict]:
        worker.assert_alive()
        return query_readings(influx, zw_env["ZW_INFLUX_BUCKET"], "jn-0001-ww1")

    rows = wait_until(landed, timeout=90, interval=1, what="the reading in InfluxDB")
    time.sleep(3)  # the duplicate has had time to land too
    rows = landed()
    assert len(rows) == 1  # delivered twice, stored once
    row = rows[0]
    assert row["_time"] == ts
    assert row["w01018"] == 23.1 and row["w01018_flag"] == "N"
    assert row["zone"] == zone and row["enterprise"] == "jn-0001"

    bootstrap = zw_env["ZW_KAFKA_URL"].removeprefix("kafka://")
    def mine(values: list[bytes]) -> list[DeadLetter]:
        letters = (DeadLetter.model_validate_json(v) for v in values)
        return [x for x in letters if x.topic == topic]

    mine = mine(asyncio.run(read_topic(bootstrap, zw_env["ZW_TOPIC_DEADLETTER"], until=mine)))
    assert len(mine) == 1, mine
    letter = mine[0]
    assert letter.code == "invalid" and "values.w01018" in letter.reason
    assert json.loads(letter.raw) == bad
