"""The worker's Kafka lag: the pure computation, and series that follow the assignment."""

from __future__ import annotations

from faust.types import TP
from prometheus_client import CollectorRegistry

from streams.metrics import WorkerMetrics, kafka_lag

R0, R1, E0 = TP("zw.readings", 0), TP("zw.readings", 1), TP("zw.events", 0)


def test_lag_is_the_end_offset_minus_the_committed_one() -> None:
    assert kafka_lag({R0: 120, R1: 7}, {R0: 100, R1: 7}, {}) == {R0: 20, R1: 0}


def test_before_the_first_commit_everything_since_the_log_start_is_to_do() -> None:
    assert kafka_lag({R0: 120}, {R0: None}, {R0: 30}) == {R0: 90}
    assert kafka_lag({R0: 120}, {}, {R0: 0}) == {R0: 120}


def test_a_partition_whose_end_or_start_is_unknown_is_left_out() -> None:
    assert kafka_lag({R0: None, R1: 50}, {R0: 10, R1: None}, {}) == {}


def test_a_commit_ahead_of_a_stale_end_is_no_negative_lag() -> None:
    assert kafka_lag({R0: 100}, {R0: 105}, {}) == {R0: 0}


def samples(registry: CollectorRegistry) -> dict[tuple[str, str], float]:
    return {(s.labels["topic"], s.labels["partition"]): s.value
            for m in registry.collect() if m.name == "zw_worker_kafka_lag" for s in m.samples}


def test_partitions_no_longer_assigned_lose_their_series() -> None:
    registry = CollectorRegistry()
    metrics = WorkerMetrics(registry)
    metrics.show_kafka_lag({R0: 5, R1: 0, E0: 2})
    assert samples(registry) == {("zw.readings", "0"): 5, ("zw.readings", "1"): 0,
                                 ("zw.events", "0"): 2}
    metrics.show_kafka_lag({R1: 3})
    assert samples(registry) == {("zw.readings", "1"): 3}
    metrics.show_kafka_lag({})
    assert samples(registry) == {}
