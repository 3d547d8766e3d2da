"""The worker's Prometheus metrics, built against a registry passed in, served at /metrics.

/metrics holds every zone's figures (`zw_zone_rate{zone}`), so it answers only to a token
that may see every zone (roles ecology, emergency, admin, and `metrics`, which reads nothing
else): 401 without one, 403 for a zone token, as the API does for another zone's data.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import ClassVar

import faust
from aiokafka.errors import KafkaError
from faust import web
from faust.exceptions import ConsumerNotStarted
from faust.types import TP
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from streams.web.api import ApiView, Backend, bind
from streams.web.auth import Role

log = logging.getLogger(__name__)

KAFKA_LAG_EVERY_S = 5.0


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.readings_stored = Counter("zw_worker_readings_stored",
                                       "Readings written to InfluxDB", registry=registry)
        self.deadletters = Counter("zw_worker_deadletters", "Records the worker dead-lettered",
                                   ["code"], registry=registry)
        self.zone_sweep_failures = Counter(
            "zw_worker_zone_sweep_failures", "Zone sweeps, or one zone in a sweep, that failed "
            "(logged with the cause; the other zones and the next sweep go on)", registry=registry)
        self.write_failures = Gauge("zw_worker_influx_write_failures",
                                    "InfluxDB write attempts that failed since start",
                                    registry=registry)
        self.watermark_lag = Gauge("zw_worker_watermark_lag_seconds",
                                   "Wall clock minus the oldest watermark of owned partitions: "
                                   "how far behind gap judgement is (ingest + Kafka + worker)",
                                   registry=registry)
        self.kafka_lag = Gauge("zw_worker_kafka_lag",
                               "Records of an assigned partition not yet done: its end offset "
                               "minus the group's committed offset (the log start before the "
                               "first commit)", ["topic", "partition"], registry=registry)
        self._lag_labels: set[tuple[str, str]] = set()
        self.batch_seconds = Histogram(
            "zw_worker_batch_seconds", "One readings batch, taken to done, by stage: store "
            "(InfluxDB) and judge (point states, watermark, gap sweep)", ["stage"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5), registry=registry)
        self.tick_age = Histogram(
            "zw_worker_tick_age_seconds", "Age of a watermark tick when it moves a partition's "
            "watermark: how late silence is judged, from the ingest's claim",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30), registry=registry)
        self.zone_rate = Gauge("zw_zone_rate", "A zone's coverage rate (0-1)",
                               ["zone", "measure"], registry=registry)
        self.alert_changes = Counter("zw_alert_changes", "Alert state changes published",
                                     ["kind", "status"], registry=registry)
        self.open_alerts = Gauge("zw_open_alerts",
                                 "Open or acknowledged alerts in the alert books this worker "
                                 "owns (sum over workers for the city)", ["kind"],
                                 registry=registry)

    def show_kafka_lag(self, lags: Mapping[TP, int]) -> None:
        """Set the lag of these partitions, and drop those no longer assigned: a partition
        that moved to another worker is that worker's to report."""
        labels = {(tp.topic, str(tp.partition)) for tp in lags}
        for gone in self._lag_labels - labels:
            self.kafka_lag.remove(*gone)
        for tp, lag in lags.items():
            self.kafka_lag.labels(tp.topic, str(tp.partition)).set(lag)
        self._lag_labels = labels


def kafka_lag(ends: Mapping[TP, int | None], committed: Mapping[TP, int | None],
              starts: Mapping[TP, int]) -> dict[TP, int]:
    """Per partition: end offset minus the next offset the group reads, which is the committed
    one, or before the first commit the log start (the worker reads from the earliest). A
    partition whose end or start is not known is left out rather than guessed."""
    lags = {}
    for tp, end in ends.items():
        start = committed.get(tp)
        if start is None:
            start = starts.get(tp)
        if end is not None and start is not None:
            lags[tp] = max(0, end - start)
    return lags


class MetricsView(ApiView):
    """GET /metrics: Prometheus text format, for a token that may see every zone."""

    registry: ClassVar[CollectorRegistry]
    roles: ClassVar[frozenset[Role]] = frozenset(Role) - {Role.ZONE}
    """Every zone's figures: a city-wide role, or the scrape's own read-only `metrics`."""

    async def get(self, request: web.Request) -> web.Response:
        self.principal(request)
        return self.bytes(generate_latest(self.registry),
                          content_type=CONTENT_TYPE_LATEST.split(";")[0])


def register(app: faust.App, metrics: WorkerMetrics, backend: Backend) -> None:
    """Serve /metrics with the API's tokens, and measure the Kafka lag on a timer."""
    view = bind(MetricsView, backend)
    view.registry = metrics.registry
    app.page("/metrics", name="zw-metrics")(view)

    @app.timer(interval=KAFKA_LAG_EVERY_S, name="kafka-lag")
    async def measure_kafka_lag() -> None:
        """The partitions of the agents' topics (changelogs are read only to recover); end
        offsets are asked of Kafka, since the fetcher's last ones go stale exactly when
        records pile up undone."""
        if app.rebalancing:
            return  # the assignment is moving; the next tick reports the new one
        consumer = app.consumer
        try:
            assigned = [tp for tp in consumer.assignment()
                        if app.topics.acks_enabled_for(tp.topic)]
            committed = {tp: consumer._committed_offset.get(tp) for tp in assigned}
            unset = [tp for tp, offset in committed.items() if offset is None]
            ends = await consumer.highwaters(*assigned) if assigned else {}
            starts = await consumer.earliest_offsets(*unset) if unset else {}
        except (KafkaError, ConsumerNotStarted) as e:
            log.info("Kafka lag not measured this time: %r", e)
            return
        metrics.show_kafka_lag(kafka_lag(ends, committed, starts))
