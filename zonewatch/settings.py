"""Settings shared by every zonewatch process, read once from the environment at the edge.

Each part (ingest, streams, alerts) has its own settings class built on this one; the
entry point builds it and passes it inward. Nothing else reads `os.environ`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Topics(BaseSettings):
    """Kafka topic names; overridable so several test runs can share one broker."""

    model_config = SettingsConfigDict(env_prefix="ZW_TOPIC_", frozen=True)

    readings: str = "zw.readings"
    events: str = "zw.events"
    registry: str = "zw.registry"
    deadletter: str = "zw.deadletter"
    alerts: str = "zw.alerts"
    point_status: str = "zw.point-status"
    alert_signals: str = "zw.alert-signals"
    alert_commands: str = "zw.alert-commands"
    maintenance: str = "zw.maintenance"


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZW_", frozen=True, extra="ignore")

    kafka_url: str = "kafka://127.0.0.1:9092"
    registry: Path | None = None
    """A registry YAML file to start from before the registry topic has one."""
    topics: Topics = Field(default_factory=Topics)
    readings_partitions: int = Field(default=8, ge=1)

    @field_validator("kafka_url")
    @classmethod
    def _kafka_scheme(cls, v: str) -> str:
        if urlsplit(v).scheme != "kafka" or not urlsplit(v).hostname:
            raise ValueError("must look like kafka://host:port[,host:port]")
        return v

    @property
    def kafka_bootstrap(self) -> str:
        """`kafka://a:9092,b:9092` → `a:9092,b:9092`, as aiokafka wants it."""
        return self.kafka_url.removeprefix("kafka://").rstrip("/")


class InfluxSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZW_INFLUX_", frozen=True, extra="ignore")

    url: str = "http://127.0.0.1:8086"
    token: SecretStr = SecretStr("")
    org: str = "zonewatch"
    bucket: str = "zonewatch"
    timeout_ms: int = Field(default=10_000, ge=100)


class MqttSettings(BaseSettings):
    """The MQTT broker, as every process that talks to it sees it."""

    model_config = SettingsConfigDict(env_prefix="ZW_MQTT_", frozen=True, extra="ignore")

    url: str = "mqtt://127.0.0.1:1883"
    """mqtt://host:port, or mqtts://host:port for TLS."""
    username: str | None = None
    password: SecretStr | None = None
    ca_file: str | None = None
    """CA bundle that signed the broker's certificate (mqtts://); unset: the system's CAs."""
    cert_file: str | None = None
    """Client certificate (PEM), for a broker that asks for one (`require_certificate`)."""
    key_file: str | None = None
    """Its private key (PEM); unset: the key is in `cert_file`."""

    @field_validator("url")
    @classmethod
    def _mqtt_scheme(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("must look like mqtt://host:port or mqtts://host:port")
        return v

    @model_validator(mode="after")
    def _tls_files_need_mqtts(self) -> MqttSettings:
        """A CA or a client certificate on a plain mqtt:// URL would be silently unused."""
        if not self.tls and (self.ca_file or self.cert_file or self.key_file):
            raise ValueError("ZW_MQTT_CA_FILE/CERT_FILE/KEY_FILE need ZW_MQTT_URL=mqtts://…")
        if self.key_file and not self.cert_file:
            raise ValueError("ZW_MQTT_KEY_FILE needs ZW_MQTT_CERT_FILE")
        return self

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"
