"""Settings of the MQTT → Kafka ingest process."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from schemas.deadletter import RAW_KEPT_BYTES
from zonewatch.settings import CommonSettings, MqttSettings


class IngestSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="ZW_", frozen=True, extra="ignore")

    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    mqtt_client_id: str = "zonewatch-ingest-1"
    """Fixed, so the broker keeps this client's session (and queued messages) across restarts."""
    mqtt_share_group: str | None = None
    """MQTT 5 shared-subscription group, so several ingest processes split the load. Unset (one
    ingest): a plain subscription, which Mosquitto 2.0 keeps across its own restart; it does
    not keep a shared one (deploy/OPERATIONS.md, "Ingest")."""
    mqtt_session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    mqtt_receive_maximum: int = Field(default=2000, ge=1, le=65535)
    """Unacknowledged messages the broker may have in flight to us: the in-memory bound."""
    max_payload_bytes: int = Field(default=64 * 1024, ge=256, le=RAW_KEPT_BYTES)
    """Larger payloads go to dead letters; at most what a dead letter keeps whole."""
    max_future_skew_s: int = Field(default=300, ge=0)
    """Readings timestamped further ahead of the clock than this go to dead letters."""
    batch_max: int = Field(default=500, ge=1)
    batch_linger_ms: int = Field(default=20, ge=0)
    reconnect_grace_s: float = Field(default=30.0, ge=0)
    """After the broker comes back, how long devices get to reconnect and send what they
    buffered before silence may be judged past the moment it went away."""
    tick_interval_s: float = Field(default=0.2, gt=0, le=10)
    """Watermark ticks per partition this often: how soon a worker may judge silence, so a
    part of every gap alert's latency."""
    metrics_port: int | None = 9108
    metrics_host: str = "127.0.0.1"
