"""MQTT settings as an operator writes them: TLS files only with mqtts://, and
`configure_client` turns them into a TLS context that checks the broker's name."""

from __future__ import annotations

import ssl

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from zonewatch.mqtt import configure_client
from zonewatch.settings import MqttSettings


def test_tls_files_on_a_plain_url_are_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="mqtts"):
        MqttSettings(url="mqtt://127.0.0.1:1883", ca_file="/etc/ssl/ca.crt")
    with pytest.raises(ValueError, match="CERT_FILE"):
        MqttSettings(url="mqtts://127.0.0.1:8883", key_file="/etc/ssl/client.key")


def test_settings_come_from_the_documented_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"URL": "mqtts://broker:8883", "USERNAME": "zonewatch",
                        "PASSWORD": "s3cret", "CA_FILE": "/ca.crt", "CERT_FILE": "/c.crt",
                        "KEY_FILE": "/c.key"}.items():
        monkeypatch.setenv(f"ZW_MQTT_{name}", value)
    s = MqttSettings()
    assert (s.host, s.port, s.tls, s.ca_file, s.cert_file, s.key_file) == (
        "broker", 8883, True, "/ca.crt", "/c.crt", "/c.key")
    assert "s3cret" not in repr(s)


def test_mqtts_checks_the_certificate_and_the_host_name() -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    configure_client(client, MqttSettings(url="mqtts://127.0.0.1:8883"))
    context = client._ssl_context
    assert context is not None and context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname and context.minimum_version >= ssl.TLSVersion.TLSv1_2
