"""A simulated fleet for a registry: the MQTT messages its points and platforms would send.

Pure: no I/O, no clock of its own. `Fleet.due(until)` yields every message due up to `until`,
in the order the devices would send them; the caller decides what "now" is, so tests run a
day in milliseconds and `zonewatch simulate` publishes in real time. The same registry, seed,
scenario and start give the same messages, byte for byte.

    fleet = Fleet(registry, start=t0, seed=1, scenario="realistic")
    fleet.silence("jn-0001-ww1", t0 + 10 * MIN, t0 + 25 * MIN, backfill=True)
    for topic, payload, event_time in fleet.due(t0 + HOUR): ...
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from datetime import datetime

from schemas import Point, Registry
from zonewatch.fleet_core import BadMessage, Message, Once, Schedule, Shared
from zonewatch.fleet_incidents import (
    FLAG_CHOICES,
    SCENARIOS,
    Incident,
    IncidentKind,
    Scenario,
)
from zonewatch.fleet_payloads import BAD_KINDS, at, bad_payload
from zonewatch.fleet_points import PlatformSim, PointSim, point_traits
from zonewatch.fleet_safety import Assessments, Hazards

__all__ = ["SCENARIOS", "BadMessage", "Fleet", "IncidentKind", "Message", "Scenario"]

_SPARE_MN = "320100000000000000BAD000"


class Fleet:
    """Every point, platform and enterprise of a registry, reporting from `start` on."""

    def __init__(self, registry: Registry, *, start: datetime, seed: int = 1,
                 scenario: str | Scenario = "realistic", bad_rate: float | None = None,
                 points: int | None = None, shard: tuple[int, int] = (0, 1)) -> None:
        """`points`: only the first N points. `shard=(k, n)`: only every n-th of those from
        the k-th, so n processes share a fleet; platforms and enterprises go to shard 0."""
        self.scenario = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
        self.seed = seed
        self.start = at(math.floor(start.timestamp()))
        self.bad_rate = self.scenario.bad_rate if bad_rate is None else bad_rate
        self._shared = Shared(random.Random(seed), Schedule(), self.scenario)
        self._points: dict[str, PointSim] = {}
        self._platforms: dict[str, PlatformSim] = {}
        t0 = self.start.timestamp()
        index, count = shard
        dark = self._add_points(registry.points[:points][index::count], registry, t0)
        if index == 0:
            dark += self._add_platforms(registry, t0)
            self._add_safety(registry, t0)
        self.dark = frozenset(dark)
        """Ids of the points and platforms that never report in this run."""
        self._point_list = list(self._points.values())

    def _add_points(self, points: list[Point], registry: Registry, t0: float) -> list[str]:
        dark = []
        for point in points:
            traits = point_traits(point, self.seed, self._shared)
            if traits.dark:
                dark.append(point.id)
                continue
            sim = PointSim(point, registry.zone_of_point(point), traits, self._shared, t0)
            self._points[point.id] = sim
            self._shared.schedule.at(t0 + traits.offset_s, sim)
        return dark

    def _add_platforms(self, registry: Registry, t0: float) -> list[str]:
        ids = [p.id for p in registry.platforms]
        count = min(self.scenario.dark_platforms, len(ids))
        dark = random.Random(f"{self.seed}/platforms").sample(ids, count)
        for platform in registry.platforms:
            if platform.id not in dark:
                sim = PlatformSim(platform, self._shared, t0, self.seed)
                self._platforms[platform.id] = sim
                self._shared.schedule.at(t0 + sim.offset_s, sim)
        return dark

    def _add_safety(self, registry: Registry, t0: float) -> None:
        assessed = [e for e in registry.enterprises if e.assessment_required]
        if not assessed:
            return
        schedule = self._shared.schedule
        schedule.at(t0, Assessments(assessed, self._shared, self.seed))
        hazards = Hazards(assessed, self._shared, self.seed)
        if backlog := hazards.backlog(t0):
            schedule.at(t0, Once(backlog))
        if math.isfinite(first := hazards.first_due(t0)):
            schedule.at(first, hazards)

    # -- reading the fleet ------------------------------------------------------------------

    def due(self, until: datetime) -> Iterator[Message]:
        """Every message due at or before `until`, in sending order; resends keep their time."""
        limit = until.timestamp()
        schedule, rng, out = self._shared.schedule, self._shared.rng, []
        heap, bad_rate = schedule.heap, self.bad_rate if self._point_list else 0.0
        while heap and heap[0][0] <= limit:
            t, _, actor = heapq.heappop(heap)
            following = actor.fire(t, out)
            if following is not None and math.isfinite(following):
                schedule.at(following, actor)
            if out and bad_rate and rng.random() < bad_rate:
                out.append(self._bad(t))
            yield from out
            out.clear()

    def next_due(self) -> datetime | None:
        """When the next message is due: how long a real-time publisher may sleep."""
        t = self._shared.schedule.next_time()
        return None if t is None else at(t)

    def protocol(self, point_id: str) -> str:
        """"hj212", "json" or "dark" (never reports); KeyError for a point not simulated."""
        if point_id in self.dark:
            return "dark"
        return "hj212" if self._points[point_id].hj212 else "json"

    @property
    def point_ids(self) -> list[str]:
        """The points that report (dark ones left out), in registry order."""
        return list(self._points)

    def _bad(self, t: float) -> BadMessage:
        rng = self._shared.rng
        sim = rng.choice(self._point_list)
        kind, payload = bad_payload(rng.choice(BAD_KINDS), at(t), rng, sim.id,
                                    sim.mn or _SPARE_MN)
        zone = sim.topic.split("/")[2]
        return BadMessage(f"zw/v1/{zone}/{kind}", payload, at(t))

    # -- scripted incidents -----------------------------------------------------------------

    def silence(self, subject_id: str, start: datetime, end: datetime,
                backfill: bool = False) -> None:
        """A point or platform goes silent over [start, end); with `backfill` the device
        resends the missed readings at `end` with their original event times (HJ 212 补发)."""
        subject = self._points.get(subject_id) or self._platforms[subject_id]
        subject.add(Incident(IncidentKind.OUTAGE, start.timestamp(), end.timestamp(),
                             backfill=backfill))

    def incident(self, point_id: str, kind: IncidentKind | str, start: datetime, end: datetime,
                 *, flag: str | None = None, factor: str | None = None) -> None:
        """Script a fault (D/B), maintenance (M/C), stop (F), exceedance (T/N) or stuck values
        on one point over [start, end); `flag` defaults to the kind's first one."""
        kind = IncidentKind(kind)
        sim = self._points[point_id]
        if kind is IncidentKind.EXCEEDANCE and factor is None:
            factor = next((p.code for p in sim.traits.profiles if p.limit), None)
            if factor is None:
                raise ValueError(f"point {point_id} has no limit to exceed")
        sim.add(Incident(kind, start.timestamp(), end.timestamp(),
                         flag or FLAG_CHOICES[kind][0], factor=factor))
