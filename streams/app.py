"""The Faust application, built by a factory from explicit settings: no import-time app."""

from __future__ import annotations

import asyncio
import os

import faust
from prometheus_client import CollectorRegistry

from alerts.config import AlertSettings, routes_from_settings
from alerts.deliver import DeliveryMetrics, RetryPolicy
from streams import ack_agent, acks, alert_agent, readings, web, zone_agent
from streams import metrics as worker_metrics
from streams.config import StreamSettings
from streams.consumer import App
from streams.context import WorkerContext
from streams.emit import Emitter
from streams.maintenance import MaintenanceBook, MaintenanceFeed
from streams.metrics import WorkerMetrics
from streams.point_state import Rules
from streams.points import PointTracker
from streams.storage import InfluxWriter
from streams.topics import StreamTopics
from zonewatch.mqtt import Publisher
from zonewatch.registry_feed import RegistryFeed
from zonewatch.topics import changelog_specs, ensure_topics


def rules_of(settings: StreamSettings) -> Rules:
    return Rules(fault_readings=settings.fault_readings, fault_after_s=settings.fault_after_s,
                 suspect_after_s=settings.suspect_after_s)


def create_app(settings: StreamSettings,
               metrics_registry: CollectorRegistry | None = None) -> faust.App:
    """The worker's app. Routes and settings are checked here, before anything starts."""
    metrics_registry = metrics_registry or CollectorRegistry()
    metrics = WorkerMetrics(metrics_registry)
    app = App(
        settings.app_id,
        broker=settings.kafka_url,
        store="memory://",
        datadir=settings.data_dir,
        web_host=settings.web_host,
        web_bind=settings.web_host,
        web_port=settings.web_port,
        topic_partitions=settings.readings_partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        broker_session_timeout=settings.kafka_session_timeout_s,
        # Faust sends each message in its own request unless told to linger; changelog
        # writes, signals and alerts come in bursts, so a few ms batch them.
        producer_linger=settings.producer_linger_s,
        producer_max_batch_size=256 * 1024,
        autodiscover=False,
        web_tables_enabled=False,  # Faust's /table/… would show the tables to anyone
        web_router_enabled=False,
    )
    acks.register(app)
    ctx = WorkerContext(settings, rules_of(settings))
    ctx.streaming = lambda: not app.rebalancing and app.tables.recovery.completed.is_set()
    topics = StreamTopics.declare(app, settings)
    emit = Emitter(topics, settings.readings_partitions, metrics.deadletters)
    writer = InfluxWriter(settings.influx, settings.write_retry_max_s,
                          stopping=lambda: bool(app.should_stop))
    points = app.Table("points", partitions=settings.readings_partitions, key_type=bytes,
                       value_type=str, use_partitioner=True)
    tracker = PointTracker(ctx, points)

    @app.on_partitions_revoked.connect
    async def write_states_before_handing_over(_app: faust.App, _revoked: object,
                                               **_: object) -> None:
        """Every changed point state to the changelog before the partitions go: the next
        owner restores from it and must not judge a point by a state seconds old.

        And forget the watermarks: whoever owns a partition next (this worker too) reads it
        again from its committed offset into a state restored from the changelog, so silence
        may be judged only from ticks read after that, behind the readings they vouch for."""
        ctx.forget_watermarks()
        ctx.rebalances += 1
        if tracker.flush():
            await app.producer.flush()
    alert_settings = AlertSettings()
    maintenance = MaintenanceBook(lambda: ctx.registry if ctx.index is not None else None)
    delivery = alert_agent.Delivery(
        Publisher(settings.mqtt, f"{settings.app_id}-alerts-{os.getpid()}"),
        routes_from_settings(alert_settings), RetryPolicy.from_settings(alert_settings),
        DeliveryMetrics(metrics_registry), maintenance, alert_settings.alert_tick_s)
    readings.register(app, ctx, writer, tracker, emit, metrics)
    zone_agent.register(app, ctx, writer, emit, metrics)
    alert_agent.register(app, ctx, topics, writer, delivery, metrics)
    ack_agent.register(app, ctx, emit)
    backend = web.register(app, ctx, emit, web.WebSettings(), maintenance)
    worker_metrics.register(app, metrics, backend)

    feed = RegistryFeed(settings, on_change=lambda r: (ctx.use_registry(r), tracker.reset()))
    windows = MaintenanceFeed(settings, maintenance)

    @app.task
    async def follow_registry() -> None:
        try:
            await feed.start()
            await feed.run()
        finally:
            await feed.stop()

    @app.task
    async def follow_maintenance() -> None:
        try:
            await windows.start()
            await windows.run()
        finally:
            await windows.stop()

    return app


def run_worker(settings: StreamSettings, loglevel: str = "info") -> None:
    """Run a worker until SIGTERM/SIGINT (Faust handles the signals and a clean stop)."""
    app = create_app(settings)
    changelogs = [t.changelog_topic.get_topic_name() for t in app.tables.values()]
    asyncio.run(ensure_topics(settings, changelog_specs(changelogs,
                                                        settings.readings_partitions)))
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    worker.execute_from_commandline()
