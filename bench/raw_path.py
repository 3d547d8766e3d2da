"""The raw path, the yardstick for the pipeline: paho → Kafka → a plain batched writer.

    python -m bench.raw_path forward TOPIC ZONE,... CLIENT_ID   MQTT readings to Kafka, bytes
                                                             untouched (persistent session)
    python -m bench.raw_path store TOPIC              Kafka to InfluxDB `reading`, no checks

No validation, no registry, no state, no dead letters, QoS 1 acked by paho on arrival: what
moving the same bytes costs on the same services. `store` prints `{"stored": N}` lines.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from datetime import datetime

import paho.mqtt.client as mqtt
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from influxdb_client import WritePrecision
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from zonewatch.mqtt import configure_client
from zonewatch.settings import CommonSettings, InfluxSettings, MqttSettings


async def forward(settings: CommonSettings, topic: str, zones: list[str], client_id: str) -> None:
    mqtt_settings = MqttSettings()
    pending: list[tuple[bytes, bytes]] = []
    lock = threading.Lock()

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with lock:
            pending.append((msg.topic.encode(), msg.payload))

    def on_connect(c: mqtt.Client, *_: object) -> None:
        c.subscribe([(f"zw/v1/{zone}/readings", 1) for zone in zones])

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=5,
                                max_batch_size=256 * 1024)
    await producer.start()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=MQTTProtocolVersion.MQTTv5)
    configure_client(client, mqtt_settings)
    client.on_message, client.on_connect = on_message, on_connect
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 600  # the broker keeps what arrives while we are away
    client.connect(mqtt_settings.host, mqtt_settings.port, clean_start=False, properties=props)
    client.loop_start()
    print(json.dumps({"ready": True}), flush=True)
    while True:
        with lock:
            batch = pending[:]
            pending.clear()
        if not batch:
            await asyncio.sleep(0.005)
            continue
        futures = [await producer.send(topic, value, key=key) for key, value in batch]
        await asyncio.gather(*futures)


async def store(settings: CommonSettings, topic: str) -> None:
    influx = InfluxSettings()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap,
                                group_id=f"zw-bench-raw-{topic}", auto_offset_reset="earliest")
    await consumer.start()
    client = InfluxDBClientAsync(url=influx.url, org=influx.org,
                                 token=influx.token.get_secret_value(), timeout=60_000)
    write = client.write_api()
    stored = 0
    print(json.dumps({"ready": True}), flush=True)
    while True:
        batches = await consumer.getmany(timeout_ms=200, max_records=5000)
        records = []
        for messages in batches.values():
            for m in messages:
                body = json.loads(m.value)
                zone = m.key.decode().split("/")[2]
                records.append({"measurement": "reading",
                                "tags": {"point": body["point"], "zone": zone},
                                "fields": body["values"],
                                "time": int(datetime.fromisoformat(body["ts"]).timestamp())})
        if records:
            await write.write(influx.bucket, record=records, write_precision=WritePrecision.S)
            await consumer.commit()
            stored += len(records)
            print(json.dumps({"stored": stored}), flush=True)


def main() -> None:
    role, topic = sys.argv[1], sys.argv[2]
    settings = CommonSettings()
    if role == "forward":
        asyncio.run(forward(settings, topic, sys.argv[3].split(","), sys.argv[4]))
    else:
        asyncio.run(store(settings, topic))


if __name__ == "__main__":
    main()
