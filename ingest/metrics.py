"""Ingest's Prometheus metrics, built against a registry that is passed in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.received = Counter("zw_ingest_messages_received", "MQTT messages received",
                                ["kind"], registry=registry)
        self.forwarded = Counter("zw_ingest_messages_forwarded",
                                 "Messages handed to Kafka and acknowledged to MQTT",
                                 ["topic"], registry=registry)
        self.deadletters = Counter("zw_ingest_deadletters", "Messages sent to dead letters",
                                   ["code"], registry=registry)
        self.kafka_retries = Counter("zw_ingest_kafka_retries",
                                     "Kafka sends retried after a failure", registry=registry)
        self.refused = Counter("zw_ingest_kafka_refused",
                               "Messages in records Kafka refused for good (too large, bad "
                               "topic): sent as dead letters, or, for a dead letter, dropped",
                               ["topic", "error"], registry=registry)
        self.batch_seconds = Histogram("zw_ingest_batch_seconds",
                                       "From batch start to every record acknowledged by Kafka",
                                       registry=registry)
        self.mqtt_connected = Gauge("zw_ingest_mqtt_connected", "1 while connected to MQTT",
                                    registry=registry)
