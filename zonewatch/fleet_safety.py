"""The safety side of the simulated fleet: risk assessments at start, hazards found and fixed.

Whether an enterprise's assessment is valid, expiring or missing comes from a stream seeded by
its id, so the same enterprises lag in every run with the same seed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from schemas import Enterprise
from zonewatch.fleet_core import Message, Shared
from zonewatch.fleet_incidents import next_gap
from zonewatch.fleet_payloads import assessment, at, hazard

DAY = 86_400.0
_VALIDITY = 3 * 365 * DAY
"""A safety risk assessment holds for three years, the policy's rectification period."""
_LEVELS = ("major", "large", "general", "low")
_LEVEL_WEIGHTS = (1, 2, 4, 3)


def _topic(enterprise: Enterprise, kind: str) -> str:
    return f"zw/v1/{enterprise.zone}/{kind}"


def pick(ids: Sequence[str], share: float, rng: random.Random) -> set[str]:
    """`share` of the ids, but at least one when the share is not zero (and some are left):
    "a few" must show up in a small registry too."""
    if share <= 0 or len(ids) < 2:
        return set()
    count = min(len(ids) - 1, max(1, round(share * len(ids))))
    return set(rng.sample(list(ids), count))


class Assessments:
    """Fires once at start: one completed assessment per enterprise, except the missing ones."""

    __slots__ = ("enterprises", "expiring", "missing", "seed")

    def __init__(self, enterprises: Sequence[Enterprise], shared: Shared, seed: int) -> None:
        self.enterprises, self.seed = enterprises, seed
        scenario, rng = shared.scenario, random.Random(f"{seed}/assessments")
        ids = [e.id for e in enterprises]
        self.missing = pick(ids, scenario.assessment_missing, rng)
        rest = [i for i in ids if i not in self.missing]
        self.expiring = pick(rest, scenario.assessment_expiring, rng)

    def fire(self, t: float, out: list[Message]) -> float | None:
        for enterprise in self.enterprises:
            message = self._message(enterprise, t)
            if message is not None:
                out.append(message)
        return None

    def _message(self, enterprise: Enterprise, t: float) -> Message | None:
        """Valid for months or years, expiring within days, or never sent (missing)."""
        if enterprise.id in self.missing:
            return None
        rng = random.Random(f"{self.seed}/assessment/{enterprise.id}")
        expiring = enterprise.id in self.expiring
        valid_until = t + (rng.uniform(2, 20) if expiring else rng.uniform(60, 1000)) * DAY
        level = rng.choices(_LEVELS, _LEVEL_WEIGHTS)[0]
        payload = assessment(enterprise.id, at(valid_until - _VALIDITY), at(valid_until), level)
        return Message(_topic(enterprise, "assessment"), payload, at(t))


class Hazards:
    """Hazards reported by the platforms: most remediated before due, some left overdue."""

    __slots__ = ("enterprises", "seed", "shared")

    def __init__(self, enterprises: Sequence[Enterprise], shared: Shared, seed: int) -> None:
        self.enterprises, self.shared, self.seed = enterprises, shared, seed

    def first_due(self, start: float) -> float:
        return start + self.gap()

    def gap(self) -> float:
        rate = self.shared.scenario.hazards_per_day * len(self.enterprises)
        return next_gap(rate, self.shared.rng)

    def backlog(self, start: float) -> list[Message]:
        """Old hazards still open at start, long past due: the overdue ones of a real zone."""
        rng = random.Random(f"{self.seed}/hazards")
        chosen = pick([e.id for e in self.enterprises], self.shared.scenario.hazard_backlog, rng)
        out = []
        for enterprise in self.enterprises:
            if enterprise.id in chosen:
                reported = start - rng.uniform(10, 40) * DAY
                due = reported + rng.uniform(3, 7) * DAY
                out.append(self._message(enterprise, reported, due, "reported", "general"))
        return out

    def fire(self, t: float, out: list[Message]) -> float | None:
        """A new hazard; its remediation is scheduled unless it is meant to go overdue."""
        rng = self.shared.rng
        enterprise = rng.choice(self.enterprises)
        severity = "major" if rng.random() < 0.15 else "general"
        if rng.random() < self.shared.scenario.hazard_overdue_share:
            due = t + rng.uniform(600, 2400)
        else:
            due = t + rng.uniform(1800, 8 * 3600)
            fixed = t + rng.uniform(0.1, 0.9) * (due - t)
            self.shared.schedule.at(fixed, _Remediation(enterprise, t, due, severity))
        out.append(self._message(enterprise, t, due, "reported", severity))
        return t + self.gap()

    @staticmethod
    def _message(enterprise: Enterprise, t: float, due: float, status: str,
                 severity: str) -> Message:
        ident = hazard_id(enterprise, t)
        when = at(t)
        payload = hazard(ident, enterprise.id, status, when, at(due), severity)
        return Message(_topic(enterprise, "hazard"), payload, when)


def hazard_id(enterprise: Enterprise, reported: float) -> str:
    """Unique per enterprise and second of reporting, within the schema's 64 characters."""
    return f"hz-{int(reported):x}-{enterprise.id}"[:64]


class _Remediation:
    """Fires once: the platform reports the hazard fixed."""

    __slots__ = ("due", "enterprise", "reported", "severity")

    def __init__(self, enterprise: Enterprise, reported: float, due: float,
                 severity: str) -> None:
        self.enterprise, self.reported, self.due, self.severity = (
            enterprise, reported, due, severity)

    def fire(self, t: float, out: list[Message]) -> float | None:
        ident = hazard_id(self.enterprise, self.reported)
        when = at(t)
        payload = hazard(ident, self.enterprise.id, "remediated", when, at(self.due),
                         self.severity)
        out.append(Message(_topic(self.enterprise, "hazard"), payload, when))
        return None
