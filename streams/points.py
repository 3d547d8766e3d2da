"""Point states per worker: applied from readings, swept by a deadline index on a timer."""

from __future__ import annotations

import math
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from schemas import AlertKind, ReadingEvent
from schemas.pipeline import AlertSignal, PointStatusChange, instant
from streams.context import WorkerContext
from streams.gap_index import GapIndex
from streams.point_record import Judgement, PointRecord, Signal, judge
from streams.point_state import apply_reading, deadline
from zonewatch.heap import give_back_freed_memory


@dataclass
class Outputs:
    """What a pass over points has to say: status changes and alert signals."""

    changes: list[PointStatusChange] = field(default_factory=list)
    signals: list[AlertSignal] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changes or self.signals)


class PointTracker:
    """Owns the `points` table entries of this worker's partitions and their gap deadlines.

    Records are written behind: changed ones wait in `_dirty` and go to the changelog-backed
    table at most once per `flush()` (every couple of seconds), not once per batch. A crash
    loses at most that much state, which the replayed readings (offsets are committed only
    after storage) mostly restore; what is left is a point judged by a reading a couple of
    seconds older, and a signal said twice, which the alert book absorbs.
    """

    def __init__(self, ctx: WorkerContext, table: MutableMapping[bytes, str]) -> None:
        """`table` maps a point id's bytes to its record (`PointRecord.to_json`)."""
        self._ctx = ctx
        self._table = table
        self.index = GapIndex()
        self._seeded: frozenset[int] = frozenset()
        self._owned: set[str] = set()
        self._dirty: dict[str, PointRecord] = {}
        self._judged: set[str] = set()

    def _get(self, pid: str) -> PointRecord:
        rec = self._dirty.get(pid)
        return rec if rec is not None else PointRecord.from_json(self._table.get(pid.encode()))

    def flush(self) -> int:
        """Write the changed records to the table; returns how many."""
        dirty, self._dirty = self._dirty, {}
        for pid, rec in dirty.items():
            self._table[pid.encode()] = rec.to_json()
        return len(dirty)

    def apply(self, readings: Iterable[ReadingEvent]) -> Outputs:
        """Fold a batch of readings into the states, then judge each touched point once."""
        touched: dict[str, PointRecord] = {}
        registry = self._ctx.registry
        for r in readings:
            point = registry.point_by_id.get(r.point)
            if point is None:
                continue  # unregistered since ingest accepted it; storage kept it
            rec = touched.get(r.point) or self._get(r.point)
            state = apply_reading(rec.state, r.ts.timestamp(), r.values, r.flags, point,
                                  self._ctx.rules)
            touched[r.point] = PointRecord(state, rec.published, rec.gap_open,
                                           rec.invalid_open, rec.over, rec.stuck)
        out = Outputs()
        now = self._ctx.trusted_now()
        for pid, rec in touched.items():
            self._settle(pid, judge(rec, registry.point_by_id[pid], now, self._ctx.rules), out)
        return out

    def sweep(self) -> Outputs:
        """Judge the points whose deadline the trusted time has passed."""
        out = Outputs()
        now = self._ctx.trusted_now()
        if now is None:
            return out
        self._reseed_if_reassigned(now)
        registry = self._ctx.registry
        for pid in self.index.due(now):
            point = registry.point_by_id.get(pid)
            if point is not None:
                self._settle(pid, judge(self._get(pid), point, now, self._ctx.rules), out)
        return out

    def _settle(self, pid: str, j: Judgement, out: Outputs) -> None:
        """Store the judged record, index its next deadline, collect what it says.

        What was said (a status change, a signal) is written through at once; the rest waits
        for `flush()`. A point judged for the first time by this worker also says "clear" for
        a gap its record does not show: the record may predate a raise that a crash kept from
        reaching the table, and the book ignores a clear of nothing.
        """
        point = self._ctx.registry.point_by_id[pid]
        if j.signals or j.status_changed:
            self._dirty.pop(pid, None)
            self._table[pid.encode()] = j.record.to_json()
        else:
            self._dirty[pid] = j.record
        if pid not in self._judged:
            self._judged.add(pid)
            if j.record.published is not None and not j.record.gap_open and not any(
                    s.kind is AlertKind.DATA_GAP for s in j.signals):
                j = Judgement(j.record, j.status_changed,
                              [*j.signals, Signal("clear", AlertKind.DATA_GAP)])
        due = deadline(j.record.state, point)
        if math.isfinite(due) and pid in self._owned:
            self.index.update(pid, due)
        enterprise = self._ctx.registry.enterprise_by_id[point.enterprise]
        at = datetime.now(UTC)
        if j.status_changed and j.record.published is not None:
            out.changes.append(PointStatusChange(
                point=pid, zone=enterprise.zone, enterprise=enterprise.id,
                status=j.record.published.value, since=instant(j.record.state.last_valid_ts),
                at=at))
        out.signals.extend(_signal(s, pid, enterprise.zone, enterprise.id, at)
                           for s in j.signals)

    def _points_of(self, partitions: frozenset[int]) -> set[str]:
        index = self._ctx.index
        assert index is not None
        return {pid for pid, p in index.point_partition.items() if p in partitions}

    def _reseed_if_reassigned(self, now: float) -> None:
        """On a new assignment, index every registered point this worker now owns: those with
        a state by their deadline; those without one (never reported) one threshold from now.

        A point nobody has heard from is offline at once (coverage counts it so), but its gap
        is alerted only when it has been silent for its threshold since zonewatch started
        expecting it: a registry of thousands of new points, or a cold start, raises no storm
        of alerts for points whose first readings are seconds away."""
        if self._ctx.assigned == self._seeded:
            return
        self.index = GapIndex()
        registry = self._ctx.registry
        self._owned = self._points_of(self._ctx.assigned)
        self._dirty = {p: r for p, r in self._dirty.items() if p in self._owned}
        self.flush()  # what moved to another worker is its now; ours is written before reading
        for pid in sorted(self._owned):
            point = registry.point_by_id[pid]
            due = deadline(self._get(pid).state, point)
            self.index.update(pid, due if math.isfinite(due) else now + point.threshold_s)
        self._seeded = self._ctx.assigned
        give_back_freed_memory()  # the index it replaces, and what the reseed passed through

    def reset(self) -> None:
        """Forget the index (registry reloaded or partitions moved); the next sweep rebuilds."""
        self._seeded = frozenset()


def _signal(s: Signal, pid: str, zone: str, enterprise: str, at: datetime) -> AlertSignal:
    subject = pid if s.factor is None else f"{pid}/{s.factor}"
    return AlertSignal(op=s.op, kind=s.kind.value, subject=subject, zone=zone,
                       enterprise=enterprise, point=pid, factor=s.factor,
                       incident_start=instant(s.start), at=at, detail=s.facts)
