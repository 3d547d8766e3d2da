"""What the worker keeps per point, and the judgement that turns it into changes.

A record is the point's state plus what has already been said about it (the published
status and which alerts are open), so only real differences ever go out, and a restart that
re-reads the changelog says nothing twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from schemas import AlertKind, Point
from streams.point_state import (
    DEFAULT_RULES,
    PointState,
    PointStatus,
    Rules,
    exceeding,
    fault_persists,
    status_at,
    suspect,
)

Op = Literal["raise", "clear"]


@dataclass(frozen=True, slots=True)
class Signal:
    """Raise or clear one incident of this point (per factor where `factor` is set)."""

    op: Op
    kind: AlertKind
    start: float | None = None
    factor: str | None = None
    facts: dict[str, float | str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PointRecord:
    state: PointState = field(default_factory=PointState)
    published: PointStatus | None = None
    gap_open: bool = False
    invalid_open: bool = False
    over: frozenset[str] = frozenset()
    stuck: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"s": self.state.to_dict()}
        if self.published is not None:
            out["p"] = self.published.value
        if self.gap_open or self.invalid_open:
            out["o"] = [int(self.gap_open), int(self.invalid_open)]
        if self.over:
            out["x"] = sorted(self.over)
        if self.stuck:
            out["u"] = sorted(self.stuck)
        return out

    def to_json(self) -> str:
        """What the `points` table holds: compact JSON text, about 200 bytes in memory, where
        the dict it comes from takes about 700 (a million points' worth is the difference)."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | dict[str, Any] | None) -> PointRecord:
        """A record from the table; a changelog written before records were kept as text
        holds the dict itself, which is read as it is."""
        if isinstance(text, dict):
            return cls.from_dict(text)
        return cls.from_dict(json.loads(text) if text else None)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> PointRecord:
        if not d:
            return cls()
        gap, invalid = d.get("o", (0, 0))
        return cls(PointState.from_dict(d.get("s", {})),
                   PointStatus(d["p"]) if "p" in d else None, bool(gap), bool(invalid),
                   frozenset(d.get("x", ())), frozenset(d.get("u", ())))


@dataclass(frozen=True, slots=True)
class Judgement:
    record: PointRecord
    status_changed: bool
    signals: list[Signal]


def judge(record: PointRecord, point: Point, now: float | None,
          rules: Rules = DEFAULT_RULES) -> Judgement:
    """Compare what the state says with what was said before. `now` is the trusted time
    (the pipeline watermark); None while unknown, when no status or gap is judged.

    The hot path of the worker (once per touched point per batch): a record is built only
    when something in it changed, otherwise the same one comes back."""
    signals: list[Signal] = []
    published, gap_open, changed = record.published, record.gap_open, False
    if now is not None:
        published = status_at(record.state, point, now)
        changed = published != record.published
        gap_open = _gap(record, published, point, signals)
    invalid_open = _invalid(record, rules, signals)
    over, stuck = _factor_runs(record, point, rules, signals)
    if (published is record.published and gap_open == record.gap_open
            and invalid_open == record.invalid_open and over is record.over
            and stuck is record.stuck):
        return Judgement(record, changed, signals)
    return Judgement(PointRecord(record.state, published, gap_open, invalid_open, over, stuck),
                     changed, signals)


def _gap(rec: PointRecord, status: PointStatus, point: Point, out: list[Signal]) -> bool:
    offline = status is PointStatus.OFFLINE
    if offline and not rec.gap_open:
        out.append(Signal("raise", AlertKind.DATA_GAP, rec.state.last_valid_ts,
                          facts={"threshold_s": point.threshold_s}))
    elif not offline and rec.gap_open:
        out.append(Signal("clear", AlertKind.DATA_GAP))
    return offline


def _invalid(rec: PointRecord, rules: Rules, out: list[Signal]) -> bool:
    persists = fault_persists(rec.state, rules)
    if persists and not rec.invalid_open:
        out.append(Signal("raise", AlertKind.INVALID_DATA, rec.state.fault_since,
                          facts={"flag": rec.state.last_class.value
                                 if rec.state.last_class else None}))
    elif not persists and rec.invalid_open:
        out.append(Signal("clear", AlertKind.INVALID_DATA))
    return persists


def _factor_runs(rec: PointRecord, point: Point, rules: Rules,
                 out: list[Signal]) -> tuple[frozenset[str], frozenset[str]]:
    """The factors over their limit and stuck, as sets; the record's own sets when unchanged."""
    over = exceeding(rec.state)
    stuck = suspect(rec.state, rules)
    if over.keys() == rec.over and stuck.keys() == rec.stuck:
        return rec.over, rec.stuck
    for factor in sorted(over.keys() - rec.over):
        value = rec.state.factors[factor].value
        out.append(Signal("raise", AlertKind.EXCEEDANCE, over[factor], factor,
                          {"value": value, "limit": point.limits.get(factor)}))
    for factor in sorted(rec.over - over.keys()):
        out.append(Signal("clear", AlertKind.EXCEEDANCE, factor=factor))
    for factor in sorted(stuck.keys() - rec.stuck):
        out.append(Signal("raise", AlertKind.SUSPECT_DATA, stuck[factor], factor,
                          {"value": rec.state.factors[factor].value}))
    for factor in sorted(rec.stuck - stuck.keys()):
        out.append(Signal("clear", AlertKind.SUSPECT_DATA, factor=factor))
    return (rec.over if over.keys() == rec.over else frozenset(over),
            rec.stuck if stuck.keys() == rec.stuck else frozenset(stuck))
