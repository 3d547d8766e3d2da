"""The Faust application, built by a factory from explicit settings: no import-time app."""

from __future__ import annotations

import faust

from streams import readings
from streams.config import StreamSettings
from streams.storage import InfluxWriter


def create_app(settings: StreamSettings) -> faust.App:
    app = faust.App(
        settings.app_id,
        broker=settings.kafka_url,
        store="memory://",
        datadir=settings.data_dir,
        web_host=settings.web_host,
        web_port=settings.web_port,
        topic_partitions=settings.readings_partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        autodiscover=False,
    )
    writer = InfluxWriter(settings.influx, settings.write_retry_max_s,
                          stopping=lambda: bool(app.should_stop))
    readings.register(app, settings, writer)
    return app


def run_worker(settings: StreamSettings, loglevel: str = "info") -> None:
    """Run a worker until SIGTERM/SIGINT (Faust handles the signals and a clean stop)."""
    app = create_app(settings)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    worker.execute_from_commandline()
