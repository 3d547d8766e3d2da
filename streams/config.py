"""Settings of the Faust worker: Kafka, InfluxDB, the web port, batching."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from zonewatch.settings import CommonSettings, InfluxSettings


class StreamSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="ZW_", frozen=True, extra="ignore")

    app_id: str = "zonewatch"
    """Faust application id: names the consumer group and the changelog topics."""
    web_port: int = Field(default=6066, ge=1, le=65535)
    web_host: str = "127.0.0.1"
    data_dir: str = "/tmp/zonewatch-worker"
    influx: InfluxSettings = Field(default_factory=InfluxSettings)
    batch_max: int = Field(default=2000, ge=1)
    batch_within_s: float = Field(default=0.5, gt=0)
    write_retry_max_s: float = Field(default=30.0, gt=0)
