"""Messages between zonewatch's own stages (not from the field)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


def instant(ts: float | None) -> datetime | None:
    """Epoch seconds as the time a signal or a status change carries; None when there are none,
    or they are no time (not finite, or out of a datetime's range, as a hazard "due" in the
    year 1 is in UTC): the message then says "unknown" instead of failing."""
    if ts is None:
        return None
    try:
        return datetime.fromtimestamp(ts, UTC)
    except (OverflowError, OSError, ValueError):
        return None


TICK_KEY = b"\x00tick"
"""Key of ingest's watermark ticks on the readings topic; no point id can look like it."""


class Tick(BaseModel):
    """Ingest's heartbeat into every readings partition: "everything sent before this is in".

    Workers judge silence only up to the newest tick they processed, so a stalled ingest, a
    lagging Kafka or a blocked InfluxDB writer pauses gap detection instead of making every
    sensor look silent at once.
    """

    model_config = ConfigDict(frozen=True)

    tick: datetime
    ingest: str
    mqtt_connected: bool


class PointStatusChange(BaseModel):
    """A point's status moved; keyed by zone so one worker sees its whole zone."""

    model_config = ConfigDict(frozen=True)

    point: str
    zone: str
    enterprise: str
    status: str
    since: datetime | None
    at: datetime


class AlertSignal(BaseModel):
    """What a detector says about an incident; the alert book turns signals into changes.

    Signals are idempotent: saying "raise" twice for the same open incident changes nothing.
    """

    model_config = ConfigDict(frozen=True)

    op: Literal["raise", "clear", "ack"]
    kind: str
    subject: str
    zone: str
    enterprise: str | None = None
    point: str | None = None
    factor: str | None = None
    incident_start: datetime | None = None
    at: datetime
    by: str | None = None
    alert_id: str | None = None
    detail: dict[str, str | float | None] = Field(default_factory=dict)

    @property
    def key(self) -> bytes:
        """`kind:subject`: the alert-book entry, and the partition, this signal belongs to."""
        return f"{self.kind}:{self.subject}".encode()


class StatusBatch(BaseModel):
    """One `zw.point-status` record: the status changes of one pass bound for one partition
    (by zone), so a pass that moves thousands of points costs a few records, not thousands."""

    model_config = ConfigDict(frozen=True)

    changes: list[PointStatusChange] = Field(min_length=1)


class SignalBatch(BaseModel):
    """One `zw.alert-signals` record: signals of one pass bound for one partition (by
    `AlertSignal.key`), in the order they were said."""

    model_config = ConfigDict(frozen=True)

    signals: list[AlertSignal] = Field(min_length=1)
