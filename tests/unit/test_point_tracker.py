"""PointTracker over a plain dict table: silence judged from readings and from registration."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas import ReadingEvent
from streams.app import rules_of
from streams.config import StreamSettings
from streams.context import WorkerContext
from streams.points import PointTracker
from tests.factories import tiny_registry

REG = tiny_registry(interval_s=60)
T0 = 1_795_000_000.0


def tracker_at(now: float) -> tuple[PointTracker, WorkerContext]:
    settings = StreamSettings()
    ctx = WorkerContext(settings, rules_of(settings))
    ctx.use_registry(REG)
    ctx.assigned = frozenset(range(settings.readings_partitions))
    ctx.watermarks = {p: now for p in ctx.assigned}
    return PointTracker(ctx, {}), ctx


def reading(pid: str, ts: float) -> ReadingEvent:
    point = REG.point_by_id[pid]
    when = datetime.fromtimestamp(ts, UTC)
    return ReadingEvent(point=pid, zone=REG.zone_of_point(point), enterprise=point.enterprise,
                        ts=when, values={f: 1.0 for f in point.factors}, received_at=when)


def gaps(signals: list) -> set[str]:
    return {s.point for s in signals if s.kind == "data_gap" and s.op == "raise"}


def test_never_reported_points_are_alerted_one_threshold_after_they_are_expected() -> None:
    tracker, ctx = tracker_at(T0)
    reporter = REG.points[0]
    assert not gaps(tracker.sweep().signals)  # registered just now: no storm
    tracker.apply([reading(reporter.id, T0 + 30)])
    ctx.watermarks = dict.fromkeys(ctx.assigned, T0 + reporter.threshold_s + 1)
    silent = {p.id for p in REG.points if p.id != reporter.id}
    assert gaps(tracker.sweep().signals) == silent
    assert not gaps(tracker.sweep().signals)  # said once


def test_a_point_silent_past_its_threshold_raises_one_gap() -> None:
    tracker, ctx = tracker_at(T0)
    point = REG.points[0]
    tracker.apply([reading(p.id, T0) for p in REG.points])
    tracker.sweep()
    ctx.watermarks = dict.fromkeys(ctx.assigned, T0 + point.threshold_s - 1)
    assert not gaps(tracker.sweep().signals)
    ctx.watermarks = dict.fromkeys(ctx.assigned, T0 + point.threshold_s + 1)
    assert point.id in gaps(tracker.sweep().signals)
