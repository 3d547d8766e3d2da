"""An alert, as published on Kafka `zw.alerts`, MQTT and the channels (SPEC "Alerts")."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class AlertKind(StrEnum):
    DATA_GAP = "data_gap"
    INVALID_DATA = "invalid_data"
    EXCEEDANCE = "exceedance"
    SUSPECT_DATA = "suspect_data"
    PLATFORM_OFFLINE = "platform_offline"
    ASSESSMENT_MISSING = "assessment_missing"
    ASSESSMENT_EXPIRING = "assessment_expiring"
    HAZARD_OVERDUE = "hazard_overdue"
    COVERAGE_BELOW_TARGET = "coverage_below_target"
    PIPELINE_STALLED = "pipeline_stalled"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Audience(StrEnum):
    ECOLOGY = "ecology"
    EMERGENCY = "emergency"
    ZONE = "zone"
    OPERATOR = "operator"
    """Whoever runs zonewatch: alerts about the system itself (pipeline_stalled)."""


class Summary(BaseModel):
    model_config = ConfigDict(frozen=True)
    zh: str
    en: str


class Alert(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: AlertKind
    status: AlertStatus
    severity: Severity
    zone: str
    enterprise: str | None = None
    point: str | None = None
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    summary: Summary
    audience: list[Audience] = Field(default_factory=list)
    subject: str | None = None
    """Id of what the alert is about: a point (or `point/factor`), platform, enterprise, hazard,
    zone or pipeline stage. With `kind` it keys the alert book: one live alert per pair."""
    since: datetime | None = None
    """Event time the incident started, e.g. the last valid reading before a gap; the id is
    derived from it. None when unknown (a point that never reported)."""
    factor: str | None = None
    """Factor code, for alerts about one factor of a point (exceedance, suspect_data)."""


class AlertAck(BaseModel):
    """"Seen": an acknowledgement sent over MQTT on `zw/v1/{zone}/ack`."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    alert: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    by: str = Field(min_length=1, max_length=100)
    note: str | None = Field(default=None, max_length=1000)


class AckCommand(BaseModel):
    """An acknowledgement on its way to the alert book (Kafka `zw.alert-commands`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alert: str
    by: str
    note: str | None = None
    zone: str
    at: datetime
    source: str = "mqtt"
