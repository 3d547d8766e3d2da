"""What the worker keeps per point, and the judgement that turns it into changes.

A record is the point's state plus what has already been said about it (the published
status and which alerts are open), so only real differences ever go out, and a restart that
re-reads the changelog says nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
    (the pipeline watermark); None while unknown, when no status or gap is judged."""
    signals: list[Signal] = []
    rec = record
    changed = False
    if now is not None:
        status = status_at(rec.state, point, now)
        changed = status != rec.published
        rec = replace(rec, published=status)
        rec = _gap(rec, status, point, signals)
    rec = _invalid(rec, rules, signals)
    rec = _factor_runs(rec, point, rules, signals)
    return Judgement(rec, changed, signals)


def _gap(rec: PointRecord, status: PointStatus, point: Point, out: list[Signal]) -> PointRecord:
    offline = status is PointStatus.OFFLINE
    if offline and not rec.gap_open:
        out.append(Signal("raise", AlertKind.DATA_GAP, rec.state.last_valid_ts,
                          facts={"threshold_s": point.threshold_s}))
    elif not offline and rec.gap_open:
        out.append(Signal("clear", AlertKind.DATA_GAP))
    return replace(rec, gap_open=offline)


def _invalid(rec: PointRecord, rules: Rules, out: list[Signal]) -> PointRecord:
    persists = fault_persists(rec.state, rules)
    if persists and not rec.invalid_open:
        out.append(Signal("raise", AlertKind.INVALID_DATA, rec.state.fault_since,
                          facts={"flag": rec.state.last_class.value
                                 if rec.state.last_class else None}))
    elif not persists and rec.invalid_open:
        out.append(Signal("clear", AlertKind.INVALID_DATA))
    return replace(rec, invalid_open=persists)


def _factor_runs(rec: PointRecord, point: Point, rules: Rules,
                 out: list[Signal]) -> PointRecord:
    over = exceeding(rec.state)
    stuck = suspect(rec.state, rules)
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
    return replace(rec, over=frozenset(over), stuck=frozenset(stuck))
