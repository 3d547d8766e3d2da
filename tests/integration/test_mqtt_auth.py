"""`zonewatch mqtt-auth` on a real Mosquitto: the generated ACL and password file keep each
zone's devices inside their own zone, refuse wrong and missing credentials, and let zonewatch
(ingest's own MQTT source, the workers' publisher) read every zone and publish the alerts."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from ingest.config import IngestSettings
from ingest.decode import INPUT_KINDS
from ingest.mqtt_source import MqttSource
from tests.factories import tiny_registry
from tests.integration.broker import Device, PrivateBroker
from zonewatch.mqtt import Publisher
from zonewatch.settings import MqttSettings

MINE, THEIRS = "jiangning-edz", "pukou-edz"
SERVICE_PASSWORD = "service-password-from-the-environment"
NOT_AUTHORIZED = 135  # MQTT 5 reason code, in PUBACK and CONNACK


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[tuple[PrivateBroker, dict[str, str]]]:
    """Files made by the real command (as an operator runs it), then a broker using them."""
    registry = tmp_path / "registry.yaml"
    registry.write_text(yaml.safe_dump(tiny_registry(zone=MINE).model_dump(mode="json"),
                                       allow_unicode=True))
    secrets, out = tmp_path / "mqtt-users.yaml", tmp_path / "auth"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZW_")}
    done = subprocess.run([sys.executable, "-m", "zonewatch", "mqtt-auth", "--registry",
                           str(registry), "--secrets", str(secrets), "--generate", "--out",
                           str(out)], env={**env, "ZW_MQTT_PASSWORD": SERVICE_PASSWORD},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    passwords = yaml.safe_load(secrets.read_text())
    assert set(passwords) == {"zonewatch", "alerts-reader", MINE, THEIRS}
    assert passwords["zonewatch"] == SERVICE_PASSWORD
    for password in passwords.values():
        assert password not in done.stdout + done.stderr
    server = PrivateBroker(tmp_path, (
        "listener {port1} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {out / 'mosquitto_passwd'}\nacl_file {out / 'mosquitto.acl'}\n"))
    server.start()
    yield server, passwords
    server.stop()
    log = server.log.read_text(errors="replace")
    assert not any(p in log for p in passwords.values()), "a password reached the broker log"


def settings(server: PrivateBroker, user: str | None = None,
             password: str | None = None) -> MqttSettings:
    return MqttSettings(url=f"mqtt://127.0.0.1:{server.ports[0]}", username=user,
                        password=SecretStr(password) if password else None)


async def drain(source: MqttSource, until: set[tuple[str, bytes]],
                timeout: float = 10) -> list[str]:
    """Topics ingest's source receives (acknowledging each) until each (topic, payload) of
    `until` came. One client's messages arrive in order, so its last one closes its account."""
    seen: list[tuple[str, bytes]] = []
    while not until <= set(seen):
        msg = await asyncio.wait_for(source.get(), timeout)
        source.ack(msg)
        seen.append((msg.topic, msg.payload))
    return [topic for topic, _ in seen]


async def test_zones_publish_only_their_own_inputs_and_zonewatch_reads_them_all(
        broker: tuple[PrivateBroker, dict[str, str]]) -> None:
    server, pw = broker
    service = settings(server, "zonewatch", pw["zonewatch"])
    source = MqttSource(IngestSettings(mqtt=service, mqtt_client_id="zw-ingest-auth-test",
                                       mqtt_session_expiry_s=0, metrics_port=None))
    await source.start()  # subscribes $share/zonewatch-ingest/zw/v1/+/+, as ingest does
    reader = Device(settings(server, "alerts-reader", pw["alerts-reader"]))
    mine, theirs = Device(settings(server, MINE, pw[MINE])), Device(
        settings(server, THEIRS, pw[THEIRS]))
    try:
        for device in (reader, mine, theirs):
            assert device.connect().value == 0, device.connack
        reader.subscribe("#")
        mine.subscribe("zw/v1/alerts/#")
        for kind in INPUT_KINDS:
            assert mine.publish(f"zw/v1/{MINE}/{kind}").value == 0, kind
        refused = [mine.publish(f"zw/v1/{THEIRS}/readings"),
                   mine.publish(f"zw/v1/alerts/{MINE}/data_gap"),
                   mine.publish(f"zw/v1/{MINE}/weather")]
        assert [r.value for r in refused] == [NOT_AUTHORIZED] * 3, refused
        assert str(refused[0]) == "Not authorized"
        mine.publish(f"zw/v1/{MINE}/readings", b"sentinel")
        assert theirs.publish(f"zw/v1/{THEIRS}/heartbeat").value == 0
        seen = await drain(source, {(f"zw/v1/{THEIRS}/heartbeat", b"{}"),
                                    (f"zw/v1/{MINE}/readings", b"sentinel")})
        assert f"zw/v1/{THEIRS}/readings" not in seen and "zw/v1/alerts" not in str(seen)
        assert {f"zw/v1/{MINE}/{k}" for k in INPUT_KINDS} <= set(seen)
        await check_alerts(service, mine, reader)
    finally:
        for device in (reader, mine, theirs):
            device.close()
        await source.stop()


async def check_alerts(service: MqttSettings, mine: Device, reader: Device) -> None:
    """The workers' publisher may publish alerts, nothing else; a zone reads its own only."""
    publisher = Publisher(service, "zw-alerts-auth-test")
    await publisher.start()
    try:
        await publisher.publish([(f"zw/v1/alerts/{THEIRS}/data_gap", b"{}"),
                                 (f"zw/v1/alerts/{MINE}/data_gap", b"{}")], timeout=15)
        assert publisher.refused == 0
        await publisher.publish([(f"zw/v1/{MINE}/readings", b"{}")], timeout=15)
        assert publisher.refused == 1  # a forged device message: the broker says no, logged
    finally:
        await publisher.stop()
    assert mine.wait_for(f"zw/v1/alerts/{MINE}/data_gap")
    assert reader.wait_for(f"zw/v1/alerts/{MINE}/data_gap")
    assert [t for t, _ in mine.messages] == [f"zw/v1/alerts/{MINE}/data_gap"]
    assert sorted(t for t, _ in reader.messages) == [f"zw/v1/alerts/{MINE}/data_gap",
                                                      f"zw/v1/alerts/{THEIRS}/data_gap"]


def test_wrong_password_another_zones_password_and_anonymous_are_refused(
        broker: tuple[PrivateBroker, dict[str, str]]) -> None:
    server, pw = broker
    for who in (settings(server, MINE, "wrong"), settings(server, THEIRS, pw[MINE]),
                settings(server, "nobody", pw[MINE]), settings(server)):
        device = Device(who)
        try:
            reason = device.connect()
            assert reason is not None and reason.is_failure, (who.username, reason)
            assert reason.value in (134, NOT_AUTHORIZED), reason  # bad user name or password
        finally:
            device.close()
