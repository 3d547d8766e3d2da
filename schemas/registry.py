"""The registry: what should be reporting. It is the denominator of every coverage figure."""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, PositiveInt


class Level(StrEnum):
    NATIONAL = "national"
    PROVINCIAL = "provincial"


class Domain(StrEnum):
    ENVIRONMENT = "environment"
    SAFETY = "safety"


_ID = r"^[a-z0-9][a-z0-9._-]{0,62}$"
"""Ids travel in MQTT topics, Kafka keys and InfluxDB tags: keep them plain ASCII."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Zone(_Strict):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    name_en: str | None = None
    level: Level = Field(strict=False)
    """Not strict: YAML gives the plain string 'national', never a `Level` instance."""


class Enterprise(_Strict):
    id: str = Field(pattern=_ID)
    zone: str
    name: str = Field(min_length=1)
    key_polluter: bool = False
    assessment_required: bool = False


class MaintenanceWindow(_Strict):
    """Declared planned work: data gaps inside it are excused, not alerted."""

    start: str
    end: str
    reason: str = ""


class Point(_Strict):
    id: str = Field(pattern=_ID)
    enterprise: str
    domain: Domain = Field(strict=False)
    kind: str = Field(min_length=1)
    mn: str | None = Field(default=None, pattern=r"^[0-9A-Za-z]{1,24}$")
    interval_s: PositiveInt
    required: bool = True
    factors: list[str] = Field(min_length=1)
    limits: dict[str, float] = Field(default_factory=dict)
    gap_threshold_s: PositiveInt | None = None
    """Seconds without valid data before the point is offline; default 3 × interval_s."""

    @property
    def threshold_s(self) -> int:
        return self.gap_threshold_s or 3 * self.interval_s


class Platform(_Strict):
    id: str = Field(pattern=_ID)
    zone: str
    heartbeat_s: PositiveInt = 60
    name: str | None = None

    @property
    def threshold_s(self) -> int:
        return 3 * self.heartbeat_s


class Registry(_Strict):
    """The whole registry file. Cross-references are checked by `schemas.registry_check`."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    zones: list[Zone] = Field(default_factory=list)
    enterprises: list[Enterprise] = Field(default_factory=list)
    points: list[Point] = Field(default_factory=list)
    platforms: list[Platform] = Field(default_factory=list)

    @cached_property
    def zone_by_id(self) -> dict[str, Zone]:
        return {z.id: z for z in self.zones}

    @cached_property
    def enterprise_by_id(self) -> dict[str, Enterprise]:
        return {e.id: e for e in self.enterprises}

    @cached_property
    def point_by_id(self) -> dict[str, Point]:
        return {p.id: p for p in self.points}

    @cached_property
    def point_by_mn(self) -> dict[str, Point]:
        return {p.mn: p for p in self.points if p.mn}

    @cached_property
    def platform_by_id(self) -> dict[str, Platform]:
        return {p.id: p for p in self.platforms}

    def zone_of_point(self, point: Point) -> str:
        return self.enterprise_by_id[point.enterprise].zone
