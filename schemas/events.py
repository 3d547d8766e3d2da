"""Safety-side messages: platform heartbeats, risk assessments, hazards."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Heartbeat(_Message):
    platform: str = Field(min_length=1, max_length=64)
    ts: AwareDatetime


class AssessmentStatus(StrEnum):
    COMPLETED = "completed"
    IN_PROGRESS = "in_progress"
    REVOKED = "revoked"


class AssessmentLevel(StrEnum):
    MAJOR = "major"
    LARGE = "large"
    GENERAL = "general"
    LOW = "low"


class Assessment(_Message):
    enterprise: str = Field(min_length=1, max_length=64)
    status: AssessmentStatus
    completed_at: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    level: AssessmentLevel | None = None


class HazardStatus(StrEnum):
    REPORTED = "reported"
    REMEDIATED = "remediated"


class Hazard(_Message):
    id: str = Field(min_length=1, max_length=64)
    enterprise: str = Field(min_length=1, max_length=64)
    status: HazardStatus
    ts: AwareDatetime
    due: AwareDatetime | None = None
    severity: str | None = None


class SafetyEvent(BaseModel):
    """A safety-side message as ingest puts it on Kafka `zw.events`, keyed by zone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["heartbeat", "assessment", "hazard"]
    zone: str
    received_at: datetime
    heartbeat: Heartbeat | None = None
    assessment: Assessment | None = None
    hazard: Hazard | None = None
