"""Settings of the Faust worker: Kafka, InfluxDB, the web port, batching."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from zonewatch.settings import CommonSettings, InfluxSettings, MqttSettings


class StreamSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="ZW_", frozen=True, extra="ignore")

    app_id: str = "zonewatch"
    """Faust application id: names the consumer group and the changelog topics."""
    kafka_session_timeout_s: float = Field(default=60.0, ge=6, le=90)
    """How long Kafka waits for a worker that stopped without leaving (SIGKILL, lost host)
    before its partitions go to the others: the longest pause of their alerts and readings.
    Kafka's broker allows 6…300 s by default; Faust's request timeout (90 s) caps it."""
    web_port: int = Field(default=6066, ge=1, le=65535)
    web_host: str = "127.0.0.1"
    data_dir: str = "/tmp/zonewatch-worker"
    influx: InfluxSettings = Field(default_factory=InfluxSettings)
    batch_records: int = Field(default=64, ge=1)
    """`zw.readings` records (each a batch of readings) the readings agent takes at once."""
    batch_max: int = Field(default=5000, ge=1)
    """Readings per InfluxDB write request."""
    batch_within_s: float = Field(default=0.1, gt=0)
    """Longest wait to fill a batch: watermark ticks wait with the readings, so a part of
    every gap alert's latency."""
    write_retry_max_s: float = Field(default=30.0, gt=0)
    sweep_interval_s: float = Field(default=0.5, gt=0)
    """How often the gap timer looks at due deadlines."""
    zone_interval_s: float = Field(default=5.0, gt=0)
    """How often zone figures and zone-level alerts are worked out."""
    coverage_write_s: float = Field(default=60.0, gt=0)
    """Coverage goes to InfluxDB at least this often (and whenever it changes)."""
    producer_linger_s: float = Field(default=0.01, ge=0, le=1)
    """How long the Kafka producer waits to fill a batch; 0 sends each message alone."""
    state_flush_s: float = Field(default=2.0, gt=0)
    """Point states go to their changelog-backed table at most this often (write-behind)."""
    stall_after_s: float = Field(default=20.0, gt=0)
    """No watermark tick for this long: the pipeline, not the sensors, is silent."""
    ingest_gone_s: float = Field(default=60.0, gt=0)
    """An ingest whose ticks stopped this long ago no longer holds the watermark back: it was
    scaled down or died (a restart, or a backlog, takes less; judgement waits meanwhile)."""
    fault_readings: int = Field(default=3, ge=1)
    fault_after_s: float = Field(default=3600, gt=0)
    suspect_after_s: float = Field(default=4 * 3600, gt=0)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
