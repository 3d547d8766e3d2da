"""The registry: what should be reporting. It is the denominator of every coverage figure."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveInt,
    model_validator,
)

from schemas.alert import AlertKind


class Level(StrEnum):
    NATIONAL = "national"
    PROVINCIAL = "provincial"


class Domain(StrEnum):
    ENVIRONMENT = "environment"
    SAFETY = "safety"


_ID = r"^[a-z0-9][a-z0-9._-]{0,62}$"
"""Ids travel in MQTT topics, Kafka keys and InfluxDB tags: keep them plain ASCII."""


def _listify(v: object) -> object:
    """`kinds: data_gap` and `kinds: [data_gap, invalid_data]` both read as a list."""
    return [v] if isinstance(v, str) else v


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


class MaintenanceWindow(BaseModel):
    """Planned work on one point or a whole enterprise (unit): while it is on, alerts of its
    `kinds` about them are kept from the channels (still recorded on Kafka, MQTT, InfluxDB).

    One model wherever a window is declared: the registry's `maintenance` section (planned
    long ahead, e.g. the yearly calibration) and `POST /api/v1/maintenance` (ad hoc work).
    Not strict, unlike the registry's other entries: YAML gives times as datetimes or strings.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = Field(default=None, pattern=_ID)
    """Given by the API; optional in the registry (`key` derives one from the content)."""
    point: str | None = None
    enterprise: str | None = None
    start: AwareDatetime
    end: AwareDatetime
    kinds: Annotated[list[AlertKind], BeforeValidator(_listify)] = Field(
        default_factory=lambda: [AlertKind.DATA_GAP], min_length=1)
    reason: str = Field(default="", max_length=500)
    declared_by: str | None = Field(default=None, max_length=100)
    """The API token's name (or the `by` it gave): who silenced what, for the record."""
    declared_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _check(self) -> MaintenanceWindow:
        if (self.point is None) == (self.enterprise is None):
            raise ValueError("a maintenance window names either a point or an enterprise")
        try:  # comparing times with offsets overflows near year 1 or 9999
            self.start.astimezone(UTC), self.end.astimezone(UTC)
        except OverflowError:
            raise ValueError("a maintenance window's times are out of range") from None
        if self.end <= self.start:
            raise ValueError("a maintenance window must end after it starts")
        return self

    @property
    def key(self) -> str:
        """Its id, or for a registry window without one, a stable id derived from what it
        covers and when, so the API can name it."""
        if self.id is not None:
            return self.id
        what = f"{self.point or ''}|{self.enterprise or ''}|{self.start.isoformat()}|" \
               f"{self.end.isoformat()}"
        return "mr-" + hashlib.sha256(what.encode()).hexdigest()[:12]

    def on_at(self, at: datetime) -> bool:
        return self.start <= at < self.end


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
    detection_limits: dict[str, float] | None = None
    """Per factor, the analyser's lower detection limit (检出限): a value held at or below it
    for hours is how a broken or falsified monitor looks (suspect_data). None costs nothing
    on the hundred thousand points that name none."""
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
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    """Planned work known when the registry is written; ad hoc work goes through the API."""

    @model_validator(mode="after")
    def _share_fields_sets(self) -> Registry:
        """Pydantic keeps, per instance, the set of fields that were given: ~700 bytes for a
        point, half of what a registered point costs a worker. Entries are frozen, so entries
        given the same fields can share one set (it is only read, by `exclude_unset`)."""
        shared: dict[frozenset[str], set[str]] = {}
        for entry in (*self.zones, *self.enterprises, *self.points, *self.platforms):
            given = entry.__pydantic_fields_set__
            object.__setattr__(entry, "__pydantic_fields_set__",
                               shared.setdefault(frozenset(given), given))
        return self

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

    def zone_of_window(self, window: MaintenanceWindow) -> str | None:
        """The zone of the window's point or enterprise; None when the registry lacks it."""
        point = self.point_by_id.get(window.point) if window.point else None
        enterprise = self.enterprise_by_id.get(point.enterprise if point
                                               else window.enterprise or "")
        return enterprise.zone if enterprise is not None else None
