"""What ingest says about its broker link: a gauge that follows it, and URLs without secrets."""

from __future__ import annotations

import asyncio

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode
from prometheus_client import CollectorRegistry

from ingest.app import Ingest, shown_url
from ingest.config import IngestSettings
from zonewatch.mqtt import configure_client
from zonewatch.settings import MqttSettings


async def test_the_connected_gauge_follows_connects_and_disconnects() -> None:
    registry = CollectorRegistry()
    ingest = Ingest(IngestSettings(metrics_port=None), registry)
    try:
        source, client = ingest.source, ingest.source._client
        source._loop = asyncio.get_running_loop()  # what start() sets, without connecting

        def connected() -> float | None:
            return registry.get_sample_value("zw_ingest_mqtt_connected")

        assert connected() == 0
        ok, lost = ReasonCode(PacketTypes.CONNACK, "Success"), ReasonCode(
            PacketTypes.DISCONNECT, "Unspecified error")
        source._on_connect(client, None, None, ok, None)  # as paho's thread calls them
        await asyncio.sleep(0)
        assert connected() == 1
        source._on_disconnect(client, None, None, lost, None)
        await asyncio.sleep(0)
        assert connected() == 0
    finally:
        await ingest.producer.stop()


def test_urls_in_logs_carry_no_credentials() -> None:
    assert shown_url("mqtt://ingest:s3cret@broker:1883") == "mqtt://***@broker:1883"
    assert shown_url("kafka://u:p@a:9092,b:9092") == "kafka://***@a:9092,b:9092"
    assert shown_url("mqtt://broker:1883") == "mqtt://broker:1883"


def test_credentials_in_the_mqtt_url_are_refused_without_showing_them() -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    with pytest.raises(ValueError, match="ZW_MQTT_USERNAME") as info:
        configure_client(client, MqttSettings(url="mqtt://ingest:s3cret@broker:1883"))
    assert "s3cret" not in str(info.value)
