"""The zone agent and its timer: coverage per zone, written to InfluxDB, and zone alerts."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import faust
from pydantic import ValidationError

from schemas import AlertKind, SafetyEvent
from schemas.pipeline import PointStatusChange, StatusBatch
from streams.acks import unless_finished
from streams.context import WorkerContext
from streams.coverage import ZoneCoverage, zone_of_units
from streams.emit import Emitter
from streams.metrics import WorkerMetrics
from streams.point_state import PointStatus
from streams.storage import InfluxWriter, coverage_point
from streams.unit_tally import UnitTally
from streams.zones import (
    apply_event,
    apply_status,
    dark_json,
    diff_signals,
    wanted_incidents,
)

log = logging.getLogger(__name__)


def register(app: faust.App, ctx: WorkerContext, writer: InfluxWriter, emit: Emitter,
             metrics: WorkerMetrics) -> None:
    settings = ctx.settings
    n = settings.readings_partitions
    statuses = app.Table("zone-point-status", partitions=n, key_type=bytes)
    beats = app.Table("platform-beats", partitions=n, key_type=bytes)
    assessments = app.Table("assessments", partitions=n, key_type=bytes)
    hazards = app.Table("hazards", partitions=n, key_type=bytes)
    source = app.topic(settings.topics.point_status, settings.topics.events,
                       key_type=bytes, value_type=bytes, key_serializer="raw",
                       value_serializer="raw")

    board = ZoneBoard(ctx, emit, writer, metrics)

    @app.agent(source, name="zones")
    async def follow_zones(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():  # iterate first, then wait (see readings.py)
            with unless_finished(event):
                await ctx.ready.wait()
                try:
                    if event.message.topic == settings.topics.point_status:
                        for change in StatusBatch.model_validate_json(event.value).changes:
                            apply_status(statuses, change)
                            board.note(change)
                    else:
                        apply_event(beats, assessments, hazards,
                                    SafetyEvent.model_validate_json(event.value))
                except ValidationError as e:
                    log.warning("bad record on %s: %s", event.message.topic, e)

    @app.timer(interval=settings.zone_interval_s, name="zone-sweep")
    async def sweep_zones() -> None:
        if ctx.ready.is_set() and ctx.index is not None:
            await board.sweep(statuses, beats, assessments, hazards)


def _by_str(table: Mapping[bytes, Any]) -> dict[str, Any]:
    """Tables are keyed by bytes (raw keys survive the changelog as they are); rules use str."""
    return {k.decode(): v for k, v in table.items()}


class ZoneBoard:
    """Works out the figures of the zones this worker owns, and says what changed."""

    def __init__(self, ctx: WorkerContext, emit: Emitter, writer: InfluxWriter,
                 metrics: WorkerMetrics) -> None:
        self._ctx = ctx
        self._metrics = metrics
        self._emit = emit
        self._writer = writer
        self._said: set[tuple[str, str]] | None = None
        self._written: dict[str, tuple[float, tuple]] = {}
        self.latest: dict[str, ZoneCoverage] = {}
        self._tally: UnitTally | None = None
        self._tally_for: tuple[object, frozenset[int], int] | None = None
        self._candidates_for: tuple[tuple, list[tuple[AlertKind, str, str]]] | None = None

    def note(self, change: PointStatusChange) -> None:
        """A point's status as it lands in the table; the tally follows it."""
        if self._tally is not None:
            self._tally.set(change.point, PointStatus(change.status))

    def tally(self, statuses: Mapping[bytes, Any]) -> UnitTally:
        """The tally, rebuilt from the table when the registry, the partitions owned or the
        consumer's rebalance count changed: a table restored from its changelog was filled
        without the agent, so what the tally followed before is no longer the table."""
        index = self._ctx.index
        key = (index, self._ctx.assigned, self._ctx.rebalances)
        if self._tally is None or key != self._tally_for:
            assert index is not None
            self._tally = UnitTally(index.view, {k.decode(): PointStatus(v[0])
                                                 for k, v in statuses.items()})
            self._tally_for = key
        return self._tally

    def owned_zones(self) -> list[str]:
        index = self._ctx.index
        assert index is not None
        return [z for z, p in index.zone_partition.items() if p in self._ctx.assigned]

    async def sweep(self, statuses, beats, assessments, hazards) -> None:
        now = self._ctx.trusted_now()
        zones = self.owned_zones()
        if now is None or not zones:
            return
        index = self._ctx.index
        assert index is not None
        units = self.tally(statuses).summaries(zones)
        beats, assessments, hazards = (_by_str(t) for t in (beats, assessments, hazards))
        ass = {e: (v[0], v[1]) for e, v in assessments.items()}
        figures = {z: zone_of_units(index.view, z, units[z], beats, ass, now) for z in zones}
        self.latest.update(figures)
        for zone, cov in figures.items():
            for measure, rate in (("monitoring", cov.monitoring), ("assessment", cov.assessment),
                                  ("platform", cov.platforms)):
                if rate.value is not None:
                    self._metrics.zone_rate.labels(zone=zone, measure=measure).set(rate.value)
        await self._write(figures)
        wanted = [w for cov in figures.values() for w in wanted_incidents(
            index.view, cov, beats, assessments, hazards, now)]
        signals, self._said = diff_signals(wanted, self._said, self._candidates(zones),
                                           datetime.now(UTC))
        for sig in signals:
            await self._emit.signal(sig)

    async def _write(self, figures: dict[str, ZoneCoverage]) -> None:
        """Write a zone's figures when they changed, and at least every `coverage_write_s`."""
        due = []
        for zone, cov in figures.items():
            key = (cov.monitoring, cov.assessment, cov.platforms, len(cov.excused_units))
            last = self._written.get(zone)
            if last is None or last[1] != key or \
                    time.time() - last[0] >= self._ctx.settings.coverage_write_s:
                due.append(coverage_point(cov, dark_json(cov)))
                self._written[zone] = (time.time(), key)
        if due:
            await self._writer.write(due)

    def _candidates(self, zones: list[str]) -> list[tuple[AlertKind, str, str]]:
        """Every subject a zone-level alert could be about, for clearing after a restart;
        worked out again only when the registry or the zones owned change."""
        key = (self._ctx.index, tuple(zones))
        if self._candidates_for is None or self._candidates_for[0] != key:
            self._candidates_for = (key, self._all_candidates(zones))
        return self._candidates_for[1]

    def _all_candidates(self, zones: list[str]) -> list[tuple[AlertKind, str, str]]:
        reg = self._ctx.registry
        mine = set(zones)
        out = [(AlertKind.COVERAGE_BELOW_TARGET, z, z) for z in zones]
        out += [(AlertKind.PLATFORM_OFFLINE, p.id, p.zone) for p in reg.platforms
                if p.zone in mine]
        for e in reg.enterprises:
            if e.zone in mine and e.assessment_required:
                out += [(AlertKind.ASSESSMENT_MISSING, e.id, e.zone),
                        (AlertKind.ASSESSMENT_EXPIRING, e.id, e.zone)]
        return out
