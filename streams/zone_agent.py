"""The zone agent and its timer: point states and coverage per zone, written to InfluxDB,
and zone alerts."""

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
from streams.storage import (
    InfluxWriter,
    Rejected,
    coverage_point,
    lines_of,
    point_status_line,
    refused_line,
    store,
)
from streams.unit_tally import UnitTally
from streams.zones import (
    Said,
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
        # One event at a time, not `take_events`: these tables are partitioned by the event
        # (its zone), so Faust writes them only while an event is current.
        async for event in stream.events():  # iterate first, then wait (see readings.py)
            with unless_finished(event):
                await ctx.ready.wait()
                try:
                    if event.message.topic == settings.topics.point_status:
                        changes = StatusBatch.model_validate_json(event.value).changes
                        await record_statuses(changes)  # stored before the record is done
                        for change in changes:
                            apply_status(statuses, change)
                            board.note(change)
                    else:
                        apply_event(beats, assessments, hazards,
                                    SafetyEvent.model_validate_json(event.value))
                except ValidationError as e:
                    log.warning("bad record on %s: %s", event.message.topic, e)

    async def record_statuses(changes: list[PointStatusChange]) -> None:
        """One `StatusBatch` (a pass's changes for one zone partition) into InfluxDB as
        `point_status`, in one request; a change InfluxDB refuses is dead-lettered, not
        retried for ever."""
        written, letters = lines_of(changes, point_status_line, "point_status")
        refused = await store(writer, [line for _, line in written], settings.batch_max)
        await emit.dead_letters(letters + [refused_line(line, why, "point_status")
                                           for line, why in refused])

    @app.timer(interval=settings.zone_interval_s, name="zone-sweep")
    async def sweep_zones() -> None:
        if ctx.ready.is_set() and ctx.index is not None:
            try:
                await board.sweep(statuses, beats, assessments, hazards)
            except Exception:  # a bug for one sweep must not stop the timer for good
                board.failed()
                log.exception("zone sweep failed; the next one tries again")


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
        self._said: Said = {}
        self._rated: set[tuple[str, str]] = set()
        """(zone, measure) of each `zw_zone_rate` this worker exports."""
        self._written: dict[str, tuple[float, tuple]] = {}
        self._tally: UnitTally | None = None
        self._tally_for: tuple[object, frozenset[int], int] | None = None

    def failed(self) -> None:
        """One sweep, or one zone of it, failed (and was logged): counted in the metrics."""
        self._metrics.zone_sweep_failures.inc()

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
        zones = self.owned_zones()
        self._forget_others(zones)
        now = self._ctx.trusted_now()
        if now is None or not zones:
            return
        index = self._ctx.index
        assert index is not None
        units = self.tally(statuses).summaries(zones)
        beats, assessments, hazards = (_by_str(t) for t in (beats, assessments, hazards))
        ass = {e: (v[0], v[1]) for e, v in assessments.items()}
        figures: dict[str, ZoneCoverage] = {}
        wanted = []
        for z in zones:  # one zone's bad record must not stop the others' figures and alerts
            try:
                cov = zone_of_units(index.view, z, units[z], beats, ass, now)
                wanted += wanted_incidents(index.view, cov, beats, assessments, hazards, now)
                figures[z] = cov
            except Exception:
                self.failed()
                log.exception("zone %s not figured this sweep; the others are", z)
        self._rate(figures)
        await self._write(figures)
        fresh = [z for z in figures if z not in self._said]
        signals, said = diff_signals(wanted, self._said, figures,
                                     self._candidates(fresh, hazards), datetime.now(UTC))
        # a zone not figured keeps what was said of it, to be compared next sweep
        self._said = {**self._said, **said}
        await self._emit.signals(signals)

    def _forget_others(self, zones: list[str]) -> None:
        """Zones this worker no longer owns: what it said of them is forgotten, not cleared
        (their alerts are the new owner's), and their rates are no longer exported."""
        mine = set(zones)
        self._said = {z: keys for z, keys in self._said.items() if z in mine}
        for zone, measure in [r for r in self._rated if r[0] not in mine]:
            self._metrics.zone_rate.remove(zone, measure)
            self._rated.discard((zone, measure))

    def _rate(self, figures: dict[str, ZoneCoverage]) -> None:
        for zone, cov in figures.items():
            for measure, rate in (("monitoring", cov.monitoring), ("assessment", cov.assessment),
                                  ("platform", cov.platforms)):
                if rate.value is not None:
                    self._metrics.zone_rate.labels(zone=zone, measure=measure).set(rate.value)
                    self._rated.add((zone, measure))
                elif (zone, measure) in self._rated:  # nothing of that kind registered now
                    self._metrics.zone_rate.remove(zone, measure)
                    self._rated.discard((zone, measure))

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
            try:
                await self._writer.write(due)
            except Rejected as e:  # figures InfluxDB refuses must not hold back zone alerts
                self.failed()
                log.error("coverage figures refused by InfluxDB: %s", e.reason)

    def _candidates(self, zones: list[str], hazards: Mapping[str, dict[str, Any]]
                    ) -> list[tuple[AlertKind, str, str]]:
        """Every subject a zone-level alert of `zones` could be about, for clearing in a zone
        this worker has said nothing of yet (after a restart or a rebalance): the registry's,
        and each hazard in the table (one remediated meanwhile must not stay open)."""
        if not zones:
            return []
        reg = self._ctx.registry
        mine = set(zones)
        out = [(AlertKind.COVERAGE_BELOW_TARGET, z, z) for z in zones]
        out += [(AlertKind.PLATFORM_OFFLINE, p.id, p.zone) for p in reg.platforms
                if p.zone in mine]
        for e in reg.enterprises:
            if e.zone in mine and e.assessment_required:
                out += [(AlertKind.ASSESSMENT_MISSING, e.id, e.zone),
                        (AlertKind.ASSESSMENT_EXPIRING, e.id, e.zone)]
        out += [(AlertKind.HAZARD_OVERDUE, hid, h["zone"]) for hid, h in hazards.items()
                if h.get("zone") in mine]
        return out
