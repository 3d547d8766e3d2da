"""Scenarios and incidents of the simulated fleet: what goes wrong, how often, for how long.

An incident is a window of time on one point or platform. Random ones are drawn per point at
the scenario's rates; tests and benchmarks script them exactly through `Fleet`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zonewatch.fleet import Message


class IncidentKind(StrEnum):
    OUTAGE = "outage"            # silent; HJ 212 devices may resend (补发) afterwards
    FAULT = "fault"              # flag D (instrument fault) or B (communication fault)
    MAINTENANCE = "maintenance"  # flag M (maintenance) or C (calibration)
    STOPPED = "stopped"          # flag F, production stopped
    EXCEEDANCE = "exceedance"    # a factor over its limit, flag T or N
    STUCK = "stuck"              # the same values over and over: how a falsified monitor looks


DURATION_S: MappingProxyType[IncidentKind, tuple[float, float]] = MappingProxyType({
    IncidentKind.OUTAGE: (300, 1800),
    IncidentKind.FAULT: (600, 3600),
    IncidentKind.MAINTENANCE: (1200, 5400),
    IncidentKind.STOPPED: (3600, 4 * 3600),
    IncidentKind.EXCEEDANCE: (300, 2400),
    IncidentKind.STUCK: (3600, 6 * 3600),
})
FLAG_CHOICES: MappingProxyType[IncidentKind, str] = MappingProxyType({
    IncidentKind.FAULT: "DB", IncidentKind.MAINTENANCE: "MC", IncidentKind.STOPPED: "F",
    IncidentKind.EXCEEDANCE: "TN", IncidentKind.STUCK: "N", IncidentKind.OUTAGE: "N",
})


@dataclass(slots=True)
class Incident:
    """A window [start, end) of epoch seconds; `held` keeps frames to resend after an outage."""

    kind: IncidentKind
    start: float
    end: float
    flag: str = "N"
    backfill: bool = False
    factor: str | None = None
    frozen: dict[str, float] | None = None
    held: list[Message] = field(default_factory=list)


def _weights(**kw: float) -> MappingProxyType[IncidentKind, float]:
    return MappingProxyType({IncidentKind(k): v for k, v in kw.items()})


@dataclass(frozen=True)
class Scenario:
    """Rates of everything that goes wrong; `calm` has none of it."""

    name: str
    incidents_per_day: float = 0.0
    """Random incidents per point and day."""
    weights: MappingProxyType[IncidentKind, float] = field(default_factory=lambda: _weights())
    dark_point_share: float = 0.0
    """Points that never report at all."""
    dark_platforms: int = 0
    platform_outages_per_day: float = 0.0
    bad_rate: float = 0.0
    """Bad messages (malformed JSON, bad CRC, unknown point) per good message."""
    hj212_share: float = 0.55
    """Environment points with an MN that speak HJ 212 rather than JSON."""
    minute_data_share: float = 0.25
    """HJ 212 points sending CN 2051 minute data instead of CN 2011 real-time data."""
    backfill_share: float = 0.8
    """HJ 212 outages after which the device resends the missed frames."""
    assessment_missing: float = 0.0
    assessment_expiring: float = 0.0
    hazards_per_day: float = 0.2
    """New hazards per assessed enterprise and day."""
    hazard_overdue_share: float = 0.0
    """Hazards never remediated: they become overdue."""
    hazard_backlog: float = 0.0
    """Assessed enterprises holding an old, overdue hazard at start."""


_REALISTIC = _weights(outage=4, fault=2, maintenance=2, stopped=1, exceedance=2, stuck=0.5)
_STORMY = _weights(outage=5, fault=3, maintenance=1, stopped=1, exceedance=3, stuck=1)

SCENARIOS: MappingProxyType[str, Scenario] = MappingProxyType({
    "calm": Scenario("calm"),
    "realistic": Scenario(
        "realistic", incidents_per_day=1.0, weights=_REALISTIC, dark_point_share=0.015,
        dark_platforms=1, platform_outages_per_day=1.0, bad_rate=0.0005,
        assessment_missing=0.05, assessment_expiring=0.05, hazards_per_day=0.5,
        hazard_overdue_share=0.1, hazard_backlog=0.03),
    "stormy": Scenario(
        "stormy", incidents_per_day=6.0, weights=_STORMY, dark_point_share=0.04,
        dark_platforms=1, platform_outages_per_day=4.0, bad_rate=0.002,
        assessment_missing=0.12, assessment_expiring=0.1, hazards_per_day=2.0,
        hazard_overdue_share=0.25, hazard_backlog=0.08),
})


def next_gap(rate_per_day: float, rng: random.Random) -> float:
    """Seconds to the next random incident: exponential, infinite at rate zero."""
    return rng.expovariate(rate_per_day / 86_400) if rate_per_day > 0 else float("inf")


def draw_incident(kinds: MappingProxyType[IncidentKind, float], start: float,
                  rng: random.Random) -> Incident:
    """One incident of a kind drawn by weight, with a duration and a flag fitting the kind."""
    kind = rng.choices(list(kinds), list(kinds.values()))[0]
    low, high = DURATION_S[kind]
    return Incident(kind, start, start + rng.uniform(low, high), rng.choice(FLAG_CHOICES[kind]))
