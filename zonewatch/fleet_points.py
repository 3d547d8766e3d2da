"""Simulated monitoring points and platforms: what each sends at its interval, and how incidents
change it. A point's traits (protocol, level, phase, whether it is dark) come from a random
stream seeded by its id, so they do not change when other points are added or left out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from types import MappingProxyType

from schemas import Domain, Platform, Point
from zonewatch.fleet_core import Flush, Message, Shared, Subject
from zonewatch.fleet_incidents import Incident, IncidentKind, draw_incident, next_gap
from zonewatch.fleet_payloads import at, heartbeat, hj212_frame, reading_json
from zonewatch.fleet_values import (
    FactorProfile,
    exceeding_value,
    profiles,
    sample_all,
    stopped_value,
)

_AIR_KINDS = frozenset({"flue_gas", "vocs", "ambient_air"})
_PLATFORM_OUTAGE = MappingProxyType({IncidentKind.OUTAGE: 1.0})


@dataclass(frozen=True, slots=True)
class Traits:
    """What a point is like, fixed for the run."""

    dark: bool
    hj212: bool
    cn: str
    offset_s: int
    profiles: tuple[FactorProfile, ...]
    first_incident_s: float


def point_traits(point: Point, seed: int, shared: Shared) -> Traits:
    """Draw a point's traits from its own seeded stream (same draws in every scenario)."""
    rng = random.Random(f"{seed}/point/{point.id}")
    scenario = shared.scenario
    dark = rng.random() < scenario.dark_point_share
    speaks = rng.random() < scenario.hj212_share
    minute = rng.random() < scenario.minute_data_share and point.interval_s % 60 == 0
    hj212 = bool(point.mn) and point.domain is Domain.ENVIRONMENT and speaks
    return Traits(dark=dark, hj212=hj212, cn="2051" if hj212 and minute else "2011",
                  offset_s=rng.randrange(point.interval_s),
                  profiles=profiles(point.factors, point.limits, rng),
                  first_incident_s=next_gap(scenario.incidents_per_day, rng))


class PointSim(Subject):
    """One monitoring point: a reading every `interval_s`, unless an incident says otherwise."""

    __slots__ = ("hj212", "id", "interval", "kinds", "mn", "st", "topic", "traits")

    def __init__(self, point: Point, zone: str, traits: Traits, shared: Shared,
                 start: float) -> None:
        self.kinds = _applicable(point, shared)
        first = start + traits.first_incident_s if self.kinds else float("inf")
        super().__init__(shared, first)
        self.id, self.mn, self.traits = point.id, point.mn or "", traits
        self.interval = float(point.interval_s)
        self.hj212 = traits.hj212
        self.topic = f"zw/v1/{zone}/{'hj212' if traits.hj212 else 'readings'}"
        self.st = "31" if point.kind in _AIR_KINDS else "32"

    def fire(self, t: float, out: list[Message]) -> float | None:
        incident = self.current(t)
        if incident is None or incident.kind is not IncidentKind.OUTAGE:
            out.append(self.message(t, incident))
        elif incident.backfill:
            if not incident.held:
                self.shared.schedule.at(incident.end, Flush(incident))
            incident.held.append(self.message(t, None))
        return t + self.interval

    def message(self, t: float, incident: Incident | None) -> Message:
        """The reading at `t` as this point sends it: HJ 212 frame or JSON."""
        values = sample_all(self.traits.profiles, t, self.shared.rng)
        if incident is None and not self.hj212:  # the common case, kept short
            when = at(t)
            return Message(self.topic, reading_json(self.id, when, values), when)
        flags = dict.fromkeys(values, "N")
        if incident is not None:
            self._apply(incident, values, flags)
        if not self.hj212:
            when = at(t)
            return Message(self.topic, reading_json(self.id, when, values, flags), when)
        cn = self.traits.cn
        when = at(t if cn == "2011" else (t // 60 - 1) * 60)  # 2051: the minute just ended
        frame = hj212_frame(st=self.st, cn=cn, mn=self.mn, when=when, values=values, flags=flags)
        return Message(self.topic, frame, when)

    def _apply(self, incident: Incident, values: dict[str, float], flags: dict[str, str]) -> None:
        """Change values and flags in place as the incident would."""
        kind = incident.kind
        if kind is IncidentKind.STUCK:
            incident.frozen = incident.frozen or dict(values)
            values.update(incident.frozen)
        elif kind is IncidentKind.EXCEEDANCE and incident.factor in values:
            profile = next(p for p in self.traits.profiles if p.code == incident.factor)
            values[profile.code] = exceeding_value(profile, self.shared.rng)
            flags[profile.code] = incident.flag
        elif kind is IncidentKind.STOPPED:
            for profile in self.traits.profiles:
                values[profile.code] = stopped_value(profile, values[profile.code])
            flags.update(dict.fromkeys(flags, "F"))
        elif kind in (IncidentKind.FAULT, IncidentKind.MAINTENANCE):
            flags.update(dict.fromkeys(flags, incident.flag))

    def draw(self, t: float) -> Incident:
        rng = self.shared.rng
        incident = draw_incident(self.kinds, t, rng)
        if incident.kind is IncidentKind.OUTAGE:
            incident.backfill = self.hj212 and rng.random() < self.shared.scenario.backfill_share
        elif incident.kind is IncidentKind.EXCEEDANCE:
            incident.factor = rng.choice([p.code for p in self.traits.profiles if p.limit])
        return incident

    def gap(self) -> float:
        if not self.kinds:
            return float("inf")
        return next_gap(self.shared.scenario.incidents_per_day, self.shared.rng)


def _applicable(point: Point, shared: Shared) -> MappingProxyType[IncidentKind, float]:
    """The scenario's incident weights, less what cannot happen to this point."""
    weights = dict(shared.scenario.weights)
    if point.domain is not Domain.ENVIRONMENT:
        weights.pop(IncidentKind.STOPPED, None)
    if not point.limits:
        weights.pop(IncidentKind.EXCEEDANCE, None)
    return MappingProxyType({k: w for k, w in weights.items() if w > 0})


class PlatformSim(Subject):
    """A zone's safety platform: a heartbeat every `heartbeat_s`, silent during outages."""

    __slots__ = ("id", "interval", "offset_s", "topic")

    def __init__(self, platform: Platform, shared: Shared, start: float, seed: int) -> None:
        rng = random.Random(f"{seed}/platform/{platform.id}")
        self.offset_s = rng.randrange(platform.heartbeat_s)
        super().__init__(shared, start + next_gap(shared.scenario.platform_outages_per_day, rng))
        self.id, self.interval = platform.id, float(platform.heartbeat_s)
        self.topic = f"zw/v1/{platform.zone}/heartbeat"

    def fire(self, t: float, out: list[Message]) -> float | None:
        if self.current(t) is None:
            when = at(t)
            out.append(Message(self.topic, heartbeat(self.id, when), when))
        return t + self.interval

    def draw(self, t: float) -> Incident:
        return draw_incident(_PLATFORM_OUTAGE, t, self.shared.rng)

    def gap(self) -> float:
        return next_gap(self.shared.scenario.platform_outages_per_day, self.shared.rng)
