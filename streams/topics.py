"""The worker's Faust topics, declared once: all raw bytes, decoded with pydantic in agents."""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.config import StreamSettings


def _raw(app: faust.App, name: str, partitions: int) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw",
                     value_serializer="raw", partitions=partitions)


@dataclass(frozen=True)
class StreamTopics:
    readings: faust.TopicT
    events: faust.TopicT
    point_status: faust.TopicT
    alert_signals: faust.TopicT
    alerts: faust.TopicT
    deadletter: faust.TopicT
    alert_commands: faust.TopicT
    maintenance: faust.TopicT
    """Compacted, one partition: every worker reads it whole (`streams.maintenance`)."""

    @classmethod
    def declare(cls, app: faust.App, settings: StreamSettings) -> StreamTopics:
        t, n = settings.topics, settings.readings_partitions
        return cls(_raw(app, t.readings, n), _raw(app, t.events, n),
                   _raw(app, t.point_status, n), _raw(app, t.alert_signals, n),
                   _raw(app, t.alerts, n), _raw(app, t.deadletter, 1),
                   _raw(app, t.alert_commands, n), _raw(app, t.maintenance, 1))
