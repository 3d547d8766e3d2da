"""When each point and unit was not online during a period, rebuilt from the stored readings.

SPEC "Definitions" apply at every instant t: a point is online when it has valid data (every
flag N or T) with event time in (t - threshold, t]. Between two valid readings p < n with
n - p > threshold it is therefore not online over [p + threshold, n); what it was meanwhile is
told by its newest invalid reading within the threshold (M/C maintenance, F stopped, D/B fault),
or offline when there is none. A unit is dark while one of its required points is offline or in
fault, excused while its only gaps are maintenance or stopped (SPEC: reported apart).

`Timelines` is shown the readings chunk by chunk (`query.scan_period`): it keeps only the gaps,
the invalid readings (few) and each point's newest valid time, never the readings themselves.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from schemas import Point
from streams.coverage import UnitState
from streams.point_state import FlagClass, PointStatus, flag_class

Segment = tuple[float, float, str]
"""[start, end) in epoch seconds, and the point's status or the unit's state meanwhile."""

_STATUS = {FlagClass.MAINTENANCE: PointStatus.MAINTENANCE, FlagClass.STOPPED: PointStatus.STOPPED,
           FlagClass.FAULT: PointStatus.FAULT}
DARK = frozenset({PointStatus.OFFLINE, PointStatus.FAULT, UnitState.DARK})


class Timelines:
    """The `query.ReadingObserver` of a report: gaps between valid readings, per point."""

    def __init__(self, points: Mapping[str, Point], before: Mapping[str, float]) -> None:
        self.points = points
        self.newest: dict[str, float] = dict(before)
        """Newest valid event time seen so far; seeded with the last one before the period."""
        self.gaps: dict[str, list[tuple[float, float]]] = {pid: [] for pid in points}
        self.flags: dict[str, dict[float, dict[str, str]]] = {pid: {} for pid in points}
        self._chunk: dict[str, array] = {}

    def invalid(self, rows: Iterable[Mapping[str, str]]) -> None:
        for r in rows:
            if r["point"] in self.flags:
                ts = datetime.fromisoformat(r["_time"]).timestamp()
                factor = r["_field"].removesuffix("_flag")
                self.flags[r["point"]].setdefault(ts, {})[factor] = r["_value"]

    def valid(self, point: str, ts: float) -> None:
        if point in self.points:
            self._chunk.setdefault(point, array("d")).append(ts)

    def end_chunk(self) -> None:
        """Fold the chunk's valid times into gaps; chunks must come in time order."""
        for pid, times in self._chunk.items():
            threshold, newest = self.points[pid].threshold_s, self.newest.get(pid, -math.inf)
            for t in sorted(times):
                if t - newest > threshold:
                    self.gaps[pid].append((newest, t))
                newest = max(newest, t)
            self.newest[pid] = newest
        self._chunk = {}

    def segments(self, pid: str, start: float, end: float) -> list[Segment]:
        """The point's time not online within [start, end), labelled with its status."""
        threshold = self.points[pid].threshold_s
        tail = (self.newest.get(pid, -math.inf), math.inf)
        marks = sorted((ts, _status(f)) for ts, f in self.flags[pid].items())
        times = [ts for ts, _ in marks]
        out: list[Segment] = []
        for p, n in [*self.gaps[pid], tail]:
            inside = marks[bisect_right(times, p):bisect_left(times, n)]
            out += label(p + threshold, n, inside, threshold)
        return clip(out, start, end)


def _status(flags: Mapping[str, str]) -> str:
    try:
        cls = flag_class(dict.fromkeys(flags, 0.0), flags)
    except ValueError:  # a flag letter HJ 212 does not define: no excuse
        return PointStatus.OFFLINE
    return _STATUS.get(cls, PointStatus.OFFLINE)


def label(u: float, v: float, marks: Sequence[tuple[float, str]], threshold: float
          ) -> list[Segment]:
    """Split [u, v), a stretch without valid data, by the newest invalid reading within the
    threshold at each instant (`marks`: sorted, inside the stretch); offline where none is."""
    out: list[Segment] = []
    cur = u
    for i, (x, status) in enumerate(marks):
        following = marks[i + 1][0] if i + 1 < len(marks) else math.inf
        a, b = max(x, u), min(x + threshold, following, v)
        if b <= a:
            continue
        if a > cur:
            out.append((cur, a, PointStatus.OFFLINE))
        out.append((a, b, status))
        cur = b
    if cur < v:
        out.append((cur, v, PointStatus.OFFLINE))
    return out


def clip(segments: Iterable[Segment], start: float, end: float) -> list[Segment]:
    """Segments cut to [start, end), empty ones dropped, touching equal ones joined."""
    out: list[Segment] = []
    for a, b, s in segments:
        a, b = max(a, start), min(b, end)
        if b <= a:
            continue
        if out and out[-1][1] == a and out[-1][2] == s:
            out[-1] = (out[-1][0], b, s)
        else:
            out.append((a, b, s))
    return out


def unit_segments(points: Sequence[Sequence[Segment]], start: float,
                  end: float) -> list[Segment]:
    """A unit's dark and excused time from its required points' segments. With no required
    point nothing monitors it, so it is dark throughout (as in `streams.coverage`)."""
    if not points:
        return [(start, end, UnitState.DARK)]
    edges = sorted({t for segs in points for a, b, _ in segs for t in (a, b)})
    at = [0] * len(points)
    out: list[Segment] = []
    for a, b in pairwise(edges):
        states = _states_at(a, points, at)
        if states:
            excused = all(s not in DARK for s in states)
            out.append((a, b, UnitState.EXCUSED if excused else UnitState.DARK))
    return clip(out, start, end)


def _states_at(t: float, points: Sequence[Sequence[Segment]], at: list[int]) -> list[str]:
    """Status of each point not online at `t`; `at` walks each sorted list once."""
    states = []
    for k, segs in enumerate(points):
        while at[k] < len(segs) and segs[at[k]][1] <= t:
            at[k] += 1
        if at[k] < len(segs) and segs[at[k]][0] <= t:
            states.append(segs[at[k]][2])
    return states


@dataclass(frozen=True, slots=True)
class Shortfall:
    """How long something was not online in a period, and its dark episodes."""

    seconds: Mapping[str, float]
    """status (or unit state) → seconds."""
    episodes: int
    """Dark stretches (offline or fault, back to back counted once)."""
    longest: float
    dark_since: float | None
    """Start of the dark stretch still running at the end of the period."""

    @property
    def dark_s(self) -> float:
        return sum(s for k, s in self.seconds.items() if k in DARK)

    @property
    def excused_s(self) -> float:
        return sum(s for k, s in self.seconds.items() if k not in DARK)


def shortfall(segments: Sequence[Segment], end: float) -> Shortfall:
    seconds: dict[str, float] = {}
    runs: list[list[float]] = []
    for a, b, s in segments:
        seconds[s] = seconds.get(s, 0.0) + b - a
        if s in DARK:
            if runs and runs[-1][1] == a:
                runs[-1][1] = b
            else:
                runs.append([a, b])
    since = runs[-1][0] if runs and runs[-1][1] >= end else None
    return Shortfall(seconds, len(runs), max((b - a for a, b in runs), default=0.0), since)
