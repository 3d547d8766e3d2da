"""Per-point state of the stream processor, and what it says about the point at a given time.

One small record per point lives in a Faust table (100k–1M points), so it holds only a few
numbers and one-letter strings and serialises to a compact JSON dict. Pure: no I/O, the clock is
always passed in, so every rule is tested without sleeping.

Event time decides, never arrival time:

- The "latest" fields (newest reading, newest valid reading, its flag class) are maxima over
  event time: they do not depend on arrival order, and a late reading never moves them back.
- The run trackers (a fault run, a value left unchanged, a value over its limit) follow readings
  in event order. A late reading that lands inside a run can only shorten it, never start or
  lengthen one: where the run resumed after it is no longer known, so the run restarts at its
  newest reading. A backfill thus clears a false "persisting" judgement but never invents one;
  exceedances inside a backfill are found reading by reading with `exceedances`.

Validity follows SPEC: N and T are valid. S (manual) is not: a hand-typed value is not online
monitoring, and counting it would let a dead analyser look online. A reading's class is its
worst factor's, so a point with one analyser in fault is not reported online.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from schemas import Flag, Point


class PointStatus(StrEnum):
    """SPEC "Definitions": what a point is at a given time."""

    ONLINE = "online"
    MAINTENANCE = "maintenance"
    STOPPED = "stopped"
    FAULT = "fault"
    OFFLINE = "offline"

    @property
    def excused(self) -> bool:
        """Maintenance and stopped are reported apart, never counted as online nor as dark."""
        return self in (PointStatus.MAINTENANCE, PointStatus.STOPPED)


class FlagClass(StrEnum):
    """What a reading's HJ 212 flags mean for its point; one letter to keep the state small."""

    VALID = "V"  # N, T
    MANUAL = "S"  # S: not monitoring data, and no excuse either
    MAINTENANCE = "M"  # M, C
    STOPPED = "F"  # F
    FAULT = "D"  # D, B


_CLASS_OF: dict[Flag, FlagClass] = {
    Flag.NORMAL: FlagClass.VALID, Flag.OVER_RANGE: FlagClass.VALID,
    Flag.MANUAL: FlagClass.MANUAL,
    Flag.MAINTENANCE: FlagClass.MAINTENANCE, Flag.CALIBRATION: FlagClass.MAINTENANCE,
    Flag.STOPPED: FlagClass.STOPPED,
    Flag.FAULT: FlagClass.FAULT, Flag.COMM_FAULT: FlagClass.FAULT,
}
_RANK: dict[FlagClass, int] = {c: i for i, c in enumerate(FlagClass)}
"""Worst wins: across a reading's factors, and between two readings with the same event time."""

_STATUS_OF: dict[FlagClass, PointStatus] = {
    FlagClass.MAINTENANCE: PointStatus.MAINTENANCE,
    FlagClass.STOPPED: PointStatus.STOPPED,
    FlagClass.FAULT: PointStatus.FAULT,
}


@dataclass(frozen=True, slots=True)
class Rules:
    """Thresholds of the data-quality alerts, built once from settings at the edge."""

    fault_readings: int = 3
    """invalid_data after this many consecutive fault readings (D, B) …"""
    fault_after_s: float = 3600.0
    """… or once a fault run spans this many seconds of event time."""
    suspect_after_s: float = 4 * 3600.0
    """suspect_data once a valid value has stayed the same this long."""
    detection_limits: Mapping[str, float] = field(default_factory=dict)
    """Per factor code, for points whose registry entry names no `detection_limits`: values
    at or below it compare as equal, so "pinned at the limit" is "unchanged"."""

    def __post_init__(self) -> None:
        if self.fault_readings < 1 or self.fault_after_s <= 0 or self.suspect_after_s <= 0:
            raise ValueError("fault_readings, fault_after_s and suspect_after_s must be > 0")


DEFAULT_RULES = Rules()


@dataclass(frozen=True, slots=True)
class FactorState:
    """One factor's valid values in event order: enough for suspect_data and exceedance."""

    ts: float
    """Event time of the newest valid value."""
    value: float
    """That value, raised to the detection limit when below it."""
    same_since: float
    """Event time since which the value has not changed."""
    over_since: float | None = None
    """Event time since which the factor has been over its limit; None when within."""


@dataclass(frozen=True, slots=True)
class PointState:
    """Everything the stream processor keeps about one point. Never mutated: apply returns new."""

    last_ts: float | None = None
    last_class: FlagClass | None = None
    last_valid_ts: float | None = None
    fault_since: float | None = None
    fault_last: float | None = None
    fault_n: int = 0
    factors: Mapping[str, FactorState] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A small JSON-able dict with one-letter keys; absent fields are left out."""
        out: dict[str, Any] = {}
        if self.last_ts is not None and self.last_class is not None:
            out["t"], out["c"] = self.last_ts, self.last_class.value
        if self.last_valid_ts is not None:
            out["v"] = self.last_valid_ts
        if self.fault_n:
            out["f"] = [self.fault_since, self.fault_last, self.fault_n]
        if self.factors:
            out["x"] = {k: [f.ts, f.value, f.same_since]
                        + ([] if f.over_since is None else [f.over_since])
                        for k, f in self.factors.items()}
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PointState:
        """The inverse of `to_dict`."""
        since, last, n = d.get("f", (None, None, 0))
        return cls(
            last_ts=d.get("t"), last_class=FlagClass(d["c"]) if "c" in d else None,
            last_valid_ts=d.get("v"), fault_since=since, fault_last=last, fault_n=n,
            factors={k: FactorState(*v) for k, v in d.get("x", {}).items()},
        )


def flag_class(values: Mapping[str, float], flags: Mapping[str, Flag | str]) -> FlagClass:
    """The class of a reading: its worst factor's (a missing flag means N)."""
    if not flags:  # the common case: every factor N
        return FlagClass.VALID
    classes = [_CLASS_OF[Flag(flags.get(k, Flag.NORMAL))] for k in values] or [FlagClass.VALID]
    return max(classes, key=_RANK.__getitem__)


def exceedances(values: Mapping[str, float], flags: Mapping[str, Flag | str],
                point: Point) -> dict[str, float]:
    """Factors of one reading over their limit (flag T counts too): for late readings as well."""
    out: dict[str, float] = {}
    for factor, value in values.items():
        flag = Flag(flags.get(factor, Flag.NORMAL))
        if flag.is_valid and _is_over(value, flag, point.limits.get(factor)):
            out[factor] = value
    return out


def apply_reading(state: PointState, reading_ts: float, values: Mapping[str, float],
                  flags: Mapping[str, Flag | str], point: Point,
                  rules: Rules = DEFAULT_RULES) -> PointState:
    """The state after one more reading, whatever order readings arrive in (see module doc)."""
    if not math.isfinite(reading_ts):
        raise ValueError(f"reading time must be finite, got {reading_ts!r}")
    cls = flag_class(values, flags)
    since, last, n = _fault_run(state, reading_ts, cls)
    last_ts, last_class = _latest(state, reading_ts, cls)
    valid = state.last_valid_ts
    if cls is FlagClass.VALID and (valid is None or reading_ts > valid):
        valid = reading_ts
    return PointState(last_ts, last_class, valid, since, last, n,
                      _factors(state.factors, reading_ts, values, flags, point, rules))


def _latest(state: PointState, ts: float, cls: FlagClass) -> tuple[float, FlagClass]:
    """Newest reading and its class; at equal event time the worse class wins, for determinism."""
    if state.last_ts is None or state.last_class is None or ts > state.last_ts:
        return ts, cls
    if ts == state.last_ts and _RANK[cls] > _RANK[state.last_class]:
        return ts, cls
    return state.last_ts, state.last_class


def _fault_run(state: PointState, ts: float,
               cls: FlagClass) -> tuple[float | None, float | None, int]:
    """The trailing run of fault readings: (first event time, last event time, count)."""
    since, last, n = state.fault_since, state.fault_last, state.fault_n
    is_fault = cls is FlagClass.FAULT
    if state.last_ts is None or ts > state.last_ts:  # in event order
        if not is_fault:
            return None, None, 0
        return (since if n else ts), ts, n + 1
    if not is_fault and n and since is not None and last is not None and since < ts < last:
        return last, last, 1  # a late good reading cuts the run: restart at its newest reading
    return since, last, n


def _factors(old: Mapping[str, FactorState], ts: float, values: Mapping[str, float],
             flags: Mapping[str, Flag | str], point: Point,
             rules: Rules) -> Mapping[str, FactorState]:
    """Advance each registered factor that carries a valid value; others are left as they were."""
    out = dict(old)
    for factor, value in values.items():
        flag = Flag(flags[factor]) if factor in flags else Flag.NORMAL
        if not flag.is_valid or factor not in point.factors:
            continue
        floor = (point.detection_limits or rules.detection_limits).get(factor)
        level = value if floor is None else max(value, floor)
        over = _is_over(value, flag, point.limits.get(factor))
        out[factor] = _advance_factor(out.get(factor), ts, level, over)
    return out


def _advance_factor(f: FactorState | None, ts: float, value: float, over: bool) -> FactorState:
    """Runs of equal value and of over-limit values, in event order; late values only cut."""
    if f is None:
        return FactorState(ts, value, ts, ts if over else None)
    if ts > f.ts:
        same = f.same_since if value == f.value else ts
        over_since = (ts if f.over_since is None else f.over_since) if over else None
        return FactorState(ts, value, same, over_since)
    same, over_since = f.same_since, f.over_since
    if f.same_since < ts < f.ts and value != f.value:
        same = f.ts
    if over_since is not None and over_since < ts < f.ts and not over:
        over_since = f.ts
    return FactorState(f.ts, f.value, same, over_since)


def _is_over(value: float, flag: Flag, limit: float | None) -> bool:
    """Over the limit, or flagged T (above the analyser's range) where a limit exists."""
    return limit is not None and (value > limit or flag is Flag.OVER_RANGE)


def status_at(state: PointState, point: Point, now: float) -> PointStatus:
    """SPEC "Definitions" at time `now`; a point that never reported is offline.

    A reading is "within the threshold" while now < its event time + threshold, so the point
    leaves online exactly at `deadline`, the moment the gap timer fires.
    """
    limit = now - point.threshold_s
    if state.last_valid_ts is not None and state.last_valid_ts > limit:
        return PointStatus.ONLINE
    if state.last_ts is not None and state.last_class is not None and state.last_ts > limit:
        return _STATUS_OF.get(state.last_class, PointStatus.OFFLINE)
    return PointStatus.OFFLINE


def deadline(state: PointState, point: Point) -> float:
    """Event time at which the point becomes offline if nothing more arrives.

    Last valid reading + threshold; when the newest reading is maintenance, stopped or fault,
    that reading + threshold (those statuses hold until it ages out). -inf when there is
    nothing to go on (never reported, or only manual values): already offline.
    """
    if state.last_class in _STATUS_OF and state.last_ts is not None:
        return state.last_ts + point.threshold_s
    if state.last_valid_ts is None:
        return -math.inf
    return state.last_valid_ts + point.threshold_s


def fault_persists(state: PointState, rules: Rules = DEFAULT_RULES) -> bool:
    """invalid_data: the newest readings are a fault run long enough in count or in time."""
    if not state.fault_n or state.fault_since is None or state.fault_last is None:
        return False
    return (state.fault_n >= rules.fault_readings
            or state.fault_last - state.fault_since >= rules.fault_after_s)


def exceeding(state: PointState) -> dict[str, float]:
    """exceedance: factors whose newest valid value is over the limit, with since-when."""
    return {k: f.over_since for k, f in state.factors.items() if f.over_since is not None}


def suspect(state: PointState, rules: Rules = DEFAULT_RULES) -> dict[str, float]:
    """suspect_data: factors stuck at one value (or at the detection limit), with since-when."""
    return {k: f.same_since for k, f in state.factors.items()
            if f.ts - f.same_since >= rules.suspect_after_s}
