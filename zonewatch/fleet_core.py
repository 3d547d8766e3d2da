"""What every part of the simulated fleet shares: the message, the schedule, incident windows.

The schedule is one heap of (due time, sequence, actor): each step touches only the actor that
is due, so the cost per message does not grow with the size of the fleet.
"""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol

from zonewatch.fleet_incidents import Incident, Scenario


class Message(NamedTuple):
    """One MQTT message; `event_time` is its `ts` / DataTime, in the past for a resend."""

    topic: str
    payload: bytes
    event_time: datetime

    @property
    def kind(self) -> str:
        """readings, hj212, heartbeat, assessment or hazard: the topic's last level."""
        return self.topic.rsplit("/", 1)[-1]


class BadMessage(Message):
    """Deliberately bad input (malformed, bad CRC, unknown point): ingest must dead-letter it."""

    __slots__ = ()

    @property
    def kind(self) -> str:
        return "bad"


class Actor(Protocol):
    def fire(self, t: float, out: list[Message]) -> float | None:
        """Append what is due at `t` to `out`; return when to fire next, or None for never."""


class Schedule:
    """A heap of actors by due time; the sequence number keeps ties in insertion order."""

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, Actor]] = []
        self._seq = itertools.count()

    def at(self, t: float, actor: Actor) -> None:
        heapq.heappush(self.heap, (t, next(self._seq), actor))

    def next_time(self) -> float | None:
        return self.heap[0][0] if self.heap else None


@dataclass(slots=True)
class Shared:
    """State all actors share: the one random stream for noise, the schedule, the scenario."""

    rng: random.Random
    schedule: Schedule
    scenario: Scenario


class Subject:
    """Something that can have incidents: a point or a platform."""

    __slots__ = ("incidents", "next_random", "shared")

    def __init__(self, shared: Shared, first_random: float) -> None:
        self.shared = shared
        self.incidents: list[Incident] = []
        self.next_random = first_random

    def add(self, incident: Incident) -> None:
        """Script an incident; several may overlap, the earliest started wins."""
        self.incidents.append(incident)
        self.incidents.sort(key=lambda i: i.start)

    def current(self, t: float) -> Incident | None:
        """The incident in force at `t`, drawing the next random one when it is due."""
        if t >= self.next_random:
            incident = self.draw(t)
            self.add(incident)
            self.next_random = incident.end + self.gap()
        incidents = self.incidents
        if not incidents:
            return None
        if incidents[0].end <= t:
            self.incidents = incidents = [i for i in incidents if i.end > t]
        for incident in incidents:
            if incident.start <= t:
                return incident
        return None

    def draw(self, t: float) -> Incident:
        raise NotImplementedError

    def gap(self) -> float:
        raise NotImplementedError


class Flush:
    """Fires once when an outage ends: the device resends (补发) the frames it held back."""

    __slots__ = ("incident",)

    def __init__(self, incident: Incident) -> None:
        self.incident = incident

    def fire(self, t: float, out: list[Message]) -> float | None:
        out.extend(self.incident.held)
        self.incident.held = []
        return None


class Once:
    """Fires once with messages made in advance, such as a backlog sent at start."""

    __slots__ = ("messages",)

    def __init__(self, messages: list[Message]) -> None:
        self.messages = messages

    def fire(self, t: float, out: list[Message]) -> float | None:
        out.extend(self.messages)
        return None
