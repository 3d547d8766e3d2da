"""Settings of the MQTT → Kafka ingest process."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from zonewatch.settings import CommonSettings


class IngestSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="ZW_", frozen=True, extra="ignore")

    mqtt_url: str = "mqtt://127.0.0.1:1883"
    """mqtt://host:port, or mqtts://host:port for TLS."""
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_ca_file: str | None = None
    mqtt_client_id: str = "zonewatch-ingest-1"
    """Fixed, so the broker keeps this client's session (and queued messages) across restarts."""
    mqtt_share_group: str | None = "zonewatch-ingest"
    """MQTT 5 shared-subscription group, so several ingest processes split the load; unset: none."""
    mqtt_session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    mqtt_receive_maximum: int = Field(default=2000, ge=1, le=65535)
    """Unacknowledged messages the broker may have in flight to us: the in-memory bound."""
    max_payload_bytes: int = Field(default=64 * 1024, ge=256)
    max_future_skew_s: int = Field(default=300, ge=0)
    """Readings timestamped further ahead of the clock than this go to dead letters."""
    batch_max: int = Field(default=500, ge=1)
    batch_linger_ms: int = Field(default=20, ge=0)
    metrics_port: int | None = 9108

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_scheme(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("must look like mqtt://host:port or mqtts://host:port")
        return v

    @property
    def mqtt_host(self) -> str:
        return urlsplit(self.mqtt_url).hostname or "127.0.0.1"

    @property
    def mqtt_port(self) -> int:
        parts = urlsplit(self.mqtt_url)
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def mqtt_tls(self) -> bool:
        return urlsplit(self.mqtt_url).scheme == "mqtts"
