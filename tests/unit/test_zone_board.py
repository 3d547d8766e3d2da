"""The zone board over a sweep: what it says when zones come and go, and that one bad record
does not silence the other zones."""

import asyncio
from typing import Any

from prometheus_client import CollectorRegistry

from schemas.pipeline import AlertSignal
from streams.app import rules_of
from streams.config import StreamSettings
from streams.context import WorkerContext
from streams.metrics import WorkerMetrics
from streams.storage import Rejected
from streams.zone_agent import ZoneBoard
from tests.factories import tiny_registry

NOW = 1_800_000_000.0
JN, PK = "jiangning-edz", "pukou-edz"
REG = tiny_registry(zone=JN)


class Signals:
    def __init__(self) -> None:
        self.said: list[AlertSignal] = []

    async def signals(self, signals: list[AlertSignal]) -> None:
        self.said += signals


class Writer:
    refuse = False

    async def write(self, points: list, precision: Any = None) -> None:
        if self.refuse:
            raise Rejected(points, "field type conflict")


class Sweeps:
    """A board with the zones `owning` assigned, and its (empty unless filled) tables."""

    def __init__(self) -> None:
        config = StreamSettings()
        self.ctx = WorkerContext(config, rules_of(config))
        self.ctx.use_registry(REG)
        self.emit = Signals()
        self.metrics = WorkerMetrics(CollectorRegistry())
        self.board = ZoneBoard(self.ctx, self.emit, Writer(), self.metrics)  # type: ignore[arg-type]
        self.hazards: dict[bytes, dict] = {}

    def sweep(self, *zones: str) -> list[tuple[str, str, str, str]]:
        partitions = {self.ctx.index.zone_partition[z] for z in zones}  # type: ignore[union-attr]
        self.ctx.assigned = frozenset(partitions)
        self.ctx.watermarks = dict.fromkeys(partitions, NOW)
        self.emit.said = []
        asyncio.run(self.board.sweep({}, {}, {}, self.hazards))
        return [(s.op, s.kind, s.subject, s.zone) for s in self.emit.said]

    def failures(self) -> float | None:
        """Failed sweeps (or zones of one), as the worker's metrics count them."""
        return self.metrics.registry.get_sample_value("zw_worker_zone_sweep_failures_total")

    def rate(self, zone: str) -> float | None:
        return self.metrics.registry.get_sample_value(
            "zw_zone_rate", {"zone": zone, "measure": "platform"})


def test_losing_one_of_two_zones_says_nothing_of_it() -> None:
    s = Sweeps()
    first = s.sweep(JN, PK)
    assert ("raise", "platform_offline", "pukou-safety", PK) in first
    assert s.sweep(JN, PK) == []
    assert s.sweep(JN) == []  # its alerts are the new owner's: no clear, with or without a zone


def test_gaining_a_zone_raises_what_holds_and_clears_what_no_longer_does() -> None:
    s = Sweeps()
    s.sweep(JN)
    s.hazards[b"hz-9"] = {"enterprise": "pk-0001", "zone": PK, "status": "remediated",
                          "ts": NOW - 60, "due": NOW - 3600}
    gained = s.sweep(JN, PK)
    assert {g for g in gained if g[3] != PK} == set()  # nothing again of the zone kept
    assert ("raise", "platform_offline", "pukou-safety", PK) in gained
    assert ("clear", "hazard_overdue", "hz-9", PK) in gained
    assert s.sweep(JN, PK) == []


def test_a_hazard_remediated_while_the_worker_was_down_is_cleared_after_a_restart() -> None:
    s = Sweeps()
    s.hazards[b"hz-1"] = {"enterprise": "jn-0001", "zone": JN, "status": "remediated",
                          "ts": NOW - 60, "due": NOW - 3600}
    assert ("clear", "hazard_overdue", "hz-1", JN) in s.sweep(JN)


def test_rates_of_a_zone_no_longer_owned_are_no_longer_exported() -> None:
    s = Sweeps()
    s.sweep(JN, PK)
    assert s.rate(JN) == 0.0 and s.rate(PK) == 0.0
    s.sweep(JN)
    assert s.rate(JN) == 0.0 and s.rate(PK) is None
    s.sweep(JN, PK)
    assert s.rate(PK) == 0.0


def test_a_bad_record_in_one_zone_does_not_stop_the_other() -> None:
    s = Sweeps()
    s.hazards[b"hz-bad"] = {"zone": PK, "status": "reported"}  # no due, no enterprise
    said = s.sweep(JN, PK)
    assert ("raise", "platform_offline", f"{JN}-safety", JN) in said
    assert not [x for x in said if x[3] == PK]
    assert s.failures() == 1
    del s.hazards[b"hz-bad"]
    assert ("raise", "platform_offline", "pukou-safety", PK) in s.sweep(JN, PK)


def test_coverage_figures_influxdb_refuses_do_not_hold_back_zone_alerts() -> None:
    s = Sweeps()
    s.board._writer.refuse = True
    said = s.sweep(JN)
    assert ("raise", "platform_offline", f"{JN}-safety", JN) in said
    assert s.failures() == 1
