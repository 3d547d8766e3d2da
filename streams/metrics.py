"""The worker's Prometheus metrics, built against a registry passed in, served at /metrics."""

from __future__ import annotations

from faust import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.readings_stored = Counter("zw_worker_readings_stored",
                                       "Readings written to InfluxDB", registry=registry)
        self.deadletters = Counter("zw_worker_deadletters", "Records the worker dead-lettered",
                                   ["code"], registry=registry)
        self.write_failures = Gauge("zw_worker_influx_write_failures",
                                    "InfluxDB write attempts that failed since start",
                                    registry=registry)
        self.watermark_lag = Gauge("zw_worker_watermark_lag_seconds",
                                   "Wall clock minus the oldest watermark of owned partitions: "
                                   "how far behind gap judgement is (ingest + Kafka + worker)",
                                   registry=registry)
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


def register(app, metrics: WorkerMetrics) -> None:
    class MetricsView(web.View):
        """GET /metrics: Prometheus text format."""

        async def get(self, request: web.Request) -> web.Response:
            return self.bytes(generate_latest(metrics.registry),
                              content_type=CONTENT_TYPE_LATEST.split(";")[0])

    app.page("/metrics", name="zw-metrics")(MetricsView)
