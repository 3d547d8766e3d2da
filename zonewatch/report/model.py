"""`ReportData`: everything a report shows, gathered once, so rendering is pure and testable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from schemas import Alert
from streams.coverage import Completeness
from zonewatch.report.period import Period
from zonewatch.report.timeline import Shortfall

TARGET = 1.0
"""宁政发〔2021〕20号: all three rates at 100 %."""
MEASURES = ("monitoring_rate", "assessment_rate", "platform_rate")


class Verdict(StrEnum):
    MET = "达标"
    NOT_MET = "未达标"
    NO_DATA = "无数据"
    NOT_APPLICABLE = "不适用"

    @property
    def en(self) -> str:
        return {"达标": "met", "未达标": "not met", "无数据": "no data",
                "不适用": "n/a"}[self.value]


@dataclass(frozen=True, slots=True)
class Figure:
    """One target over the period, from the `coverage` figures (what the bureaus saw live)."""

    measure: str
    registered: int
    """Units, enterprises or platforms registered: 0 makes the target not applicable."""
    average: float | None
    """Time-weighted: each figure counts for as long as it held."""
    low: float | None
    at_end: float | None
    seconds: float
    """Time of the period with figures (the worker writes at least once a minute)."""

    @property
    def verdict(self) -> Verdict:
        """Met only when the average is the target: any time under 100 % is a shortfall."""
        if self.registered == 0:
            return Verdict.NOT_APPLICABLE
        if self.average is None:
            return Verdict.NO_DATA
        return Verdict.MET if self.average >= TARGET - 1e-9 else Verdict.NOT_MET


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    average: Mapping[str, float | None]
    low: Mapping[str, float | None]


@dataclass(frozen=True, slots=True)
class UnitRow:
    """A key polluter unit: when it was not covered, and how its points transmitted."""

    enterprise: str
    name: str
    points: tuple[str, ...]
    shortfall: Shortfall
    completeness: Completeness | None


@dataclass(frozen=True, slots=True)
class PointRow:
    point: str
    enterprise: str
    kind: str
    interval_s: int
    counted: bool
    """A required environment point of a key polluter unit: it counts toward the rate."""
    shortfall: Shortfall
    completeness: Completeness | None


@dataclass(frozen=True, slots=True)
class ReportData:
    zone: str
    zone_name: str
    zone_name_en: str | None
    period: Period
    generated_at: datetime
    registry_digest: str
    figures: tuple[Figure, ...]
    recomputed_rate: float | None
    """Online-monitoring rate rebuilt from the stored readings, late data included."""
    days: tuple[Day, ...]
    completeness: Completeness | None
    units: tuple[UnitRow, ...]
    points: tuple[PointRow, ...]
    unassessed: tuple[str, ...]
    platforms_offline: tuple[str, ...]
    alerts: tuple[Alert, ...]
    """As they stood at the end of the period."""
    names: Mapping[str, str]
    """enterprise and platform id → registry name."""

    def name(self, ident: str | None) -> str:
        return self.names.get(ident or "", ident or "")


def fell_short(row: UnitRow | PointRow) -> bool:
    """Not online at some time, or transmitted less than every interval on time."""
    c = row.completeness
    late_or_missing = c is not None and (c.missing > 0 or c.filled_late > 0)
    return row.shortfall.dark_s > 0 or row.shortfall.excused_s > 0 or late_or_missing


def alert_seconds(alert: Alert, end: datetime) -> float:
    """How long the alert was open: until resolved, or until the end of the period."""
    stop = alert.resolved_at if alert.status == "resolved" and alert.resolved_at else end
    return max(0.0, (stop - alert.opened_at).total_seconds())


def ack_seconds(alert: Alert) -> float | None:
    if alert.acknowledged_at is None:
        return None
    return max(0.0, (alert.acknowledged_at - alert.opened_at).total_seconds())
