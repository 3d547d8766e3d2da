"""What integration tests share: the registry they load, readiness, reading topics back."""

from __future__ import annotations

import asyncio
import urllib.request
import warnings
from collections.abc import Callable
from pathlib import Path

import yaml
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord
from influxdb_client import InfluxDBClient

from schemas import ReadingBatch, ReadingEvent
from schemas.pipeline import TICK_KEY
from tests.factories import tiny_registry


def own_zone(zw_env: dict[str, str]) -> str:
    """A zone id of this test's own, so stray MQTT traffic on the shared broker never mixes in."""
    return f"zt-{zw_env['ZW_APP_ID'][-10:]}"


def write_registry(path: Path, zone: str, interval_s: int = 60,
                   maintenance: list[dict] | None = None) -> Path:
    registry = tiny_registry(zone=zone, interval_s=interval_s).model_dump(mode="json")
    registry["maintenance"] = maintenance or []
    path.write_text(yaml.safe_dump(registry, allow_unicode=True))
    return path


def ingest_ready(metrics_port: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2) as r:
            return b"zw_ingest_mqtt_connected 1.0" in r.read()
    except OSError:
        return False


def query_readings(influx: InfluxDBClient, bucket: str, point: str) -> list[dict]:
    flux = f'''from(bucket: "{bucket}") |> range(start: -1d)
      |> filter(fn: (r) => r._measurement == "reading" and r.point == "{point}")
      |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")'''
    return [rec.values for table in influx.query_api().query(flux) for rec in table.records]


async def read_records(bootstrap: str, topic: str, until: Callable[[list[ConsumerRecord]], bool],
                       timeout: float = 30) -> list[ConsumerRecord]:
    """Read `topic` from the start, every record as it is (ticks too), until `until(records)`
    holds or `timeout` passes."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not until(records) and loop.time() < deadline:
            for part in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


async def read_topic(bootstrap: str, topic: str, until: Callable[[list[bytes]], bool],
                     timeout: float = 30) -> list[bytes]:
    """Read `topic` from the start until `until(values)` holds or `timeout` passes
    (watermark ticks left out)."""
    def values(records: list[ConsumerRecord]) -> list[bytes]:
        return [r.value for r in records if r.key != TICK_KEY]

    return values(await read_records(bootstrap, topic, lambda rs: until(values(rs)), timeout))


def load_registry_and_start_ingest(spawn, zw_env: dict[str, str], tmp_path: Path,
                                   interval_s: int = 60, maintenance: list[dict] | None = None):
    """Load this test's registry (with its `maintenance` windows), start ingest, wait until
    it is subscribed; return ingest."""
    registry = write_registry(tmp_path / "registry.yaml", own_zone(zw_env), interval_s,
                              maintenance)
    return load_file_and_start_ingest(spawn, zw_env, registry)


def load_file_and_start_ingest(spawn, zw_env: dict[str, str], registry: Path):
    """Load the registry file `registry` (one a test wrote itself), start ingest, wait until
    it is subscribed; return ingest."""
    loader = spawn("registry-load", "registry", "load", str(registry))
    assert loader.proc is not None and loader.proc.wait(60) == 0, loader.log_tail()
    ingest = spawn("ingest", "ingest")
    wait_for_ingest(ingest, zw_env)
    return ingest


def wait_for_ingest(ingest, zw_env: dict[str, str], timeout: float = 60) -> None:
    from tests.integration.procs import wait_until

    wait_until(lambda: ingest_ready(zw_env["ZW_METRICS_PORT"]) or ingest.assert_alive(),
               timeout=timeout, what="ingest to subscribe")


def kafka_bootstrap(zw_env: dict[str, str]) -> str:
    return zw_env["ZW_KAFKA_URL"].removeprefix("kafka://")


def read_all(zw_env: dict[str, str], topic_var: str, until: Callable[[list[bytes]], bool],
             timeout: float = 60) -> list[bytes]:
    return asyncio.run(read_topic(kafka_bootstrap(zw_env), zw_env[topic_var], until, timeout))


def read_readings(zw_env: dict[str, str], until: Callable[[list[ReadingEvent]], bool],
                  timeout: float = 60) -> list[ReadingEvent]:
    """The readings on this test's `zw.readings`, out of their `ReadingBatch` records."""
    def flat(values: list[bytes]) -> list[ReadingEvent]:
        return [r for v in values for r in ReadingBatch.model_validate_json(v).readings]

    return flat(read_all(zw_env, "ZW_TOPIC_READINGS", lambda v: until(flat(v)), timeout))


def private_env(services: dict[str, str], run: str) -> dict[str, str]:
    """`services` plus names private to one run `run`: Kafka topics, Faust app id, InfluxDB
    bucket (created by the caller), ports, MQTT client: what `zw_env` gives one test, for
    fixtures of a wider scope."""
    from tests.integration.procs import free_port
    from zonewatch.settings import Topics

    env = {**services, "ZW_INFLUX_BUCKET": f"zw-test-{run}", "ZW_APP_ID": f"zw-test-{run}",
           "ZW_WEB_PORT": str(free_port()), "ZW_DATA_DIR": f"/tmp/zw-test-{run}",
           "ZW_MQTT_CLIENT_ID": f"zw-ingest-{run}", "ZW_MQTT_SHARE_GROUP": f"g{run}",
           "ZW_METRICS_PORT": str(free_port()),
           "ZW_MQTT_SESSION_EXPIRY_S": "120"}  # a test's broker session must not outlive it
    for topic in Topics.model_fields:  # every topic, also ones added later
        env[f"ZW_TOPIC_{topic.upper()}"] = f"zw.{run}.{topic}"
    return env


async def _delete_topics(bootstrap: str, run: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if run in t]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


def delete_topics(zw_env: dict[str, str], run: str) -> None:
    """Remove the topics of one run `run` (its own, and Faust's changelogs, named after the
    app id): left behind, every test adds about 130 partitions that a restarting Kafka loads."""
    try:
        asyncio.run(_delete_topics(kafka_bootstrap(zw_env), run))
    except (KafkaError, OSError) as e:  # Kafka away: the test's own failure says why
        warnings.warn(f"topics of run {run} not deleted: {e!r}", stacklevel=2)
