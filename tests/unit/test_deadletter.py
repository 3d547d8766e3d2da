"""Dead letters always fit on Kafka: raw bytes kept whole up to a cap, cut beyond it with the
whole payload's size and SHA-256, and the reason saying so."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from ingest.decode import DecodeLimits, Decoder
from schemas import DeadLetter
from schemas.deadletter import RAW_KEPT_BYTES
from tests.factories import tiny_registry
from zonewatch.settings import Topics

NOW = datetime(2026, 11, 27, tzinfo=UTC)
KAFKA_MAX_REQUEST = 1024 * 1024
"""aiokafka's default max_request_size, which ingest's producer keeps."""


def test_a_900_kb_payload_is_cut_and_its_dead_letter_fits_on_kafka() -> None:
    payload = bytes(range(256)) * 3516  # 900,096 bytes, under Mosquitto's 1 MiB packets
    topic = "zw/v1/jiangning-edz/readings"
    out = Decoder(tiny_registry(), Topics(), DecodeLimits()).decode(topic, payload, NOW)
    assert isinstance(out, DeadLetter) and out.code == "oversized"
    assert len(topic) + len(out.model_dump_json()) < KAFKA_MAX_REQUEST - 1024
    assert out.raw == payload[:RAW_KEPT_BYTES]
    assert out.raw_size == len(payload)
    assert out.raw_sha256 == hashlib.sha256(payload).hexdigest()
    assert f"{len(payload)} bytes exceeds the limit" in out.reason
    assert f"cut to its first {RAW_KEPT_BYTES} of {len(payload)} bytes" in out.reason
    assert DeadLetter.model_validate_json(out.model_dump_json()) == out


def test_a_payload_up_to_the_cap_is_kept_whole() -> None:
    payload = b"x" * RAW_KEPT_BYTES
    out = DeadLetter.of(payload, topic="t", code="oversized", reason="too big", received_at=NOW)
    assert out.raw == payload and out.raw_size is None and out.raw_sha256 is None
    assert out.reason == "too big"


def test_the_largest_topic_mqtt_allows_still_fits() -> None:
    """A 64 KiB topic is the key, the topic field and, quoted, the reason."""
    topic, payload = "zw/v1/" + "z" * 65_000 + "/weather", b"y" * 1_000_000
    out = Decoder(tiny_registry(), Topics(), DecodeLimits()).decode(topic, payload, NOW)
    assert isinstance(out, DeadLetter) and out.code == "bad_topic"
    assert len(topic) + len(out.model_dump_json()) < KAFKA_MAX_REQUEST - 1024
    assert out.reason.endswith(f"sha256 of the whole: {hashlib.sha256(payload).hexdigest()})")


def test_a_readings_batch_kafka_refuses_is_dead_lettered_whole() -> None:
    """Ingest's batches are no larger than a dead letter keeps uncut (ingest.bridge._refused)."""
    from ingest.batches import MAX_RECORD_BYTES
    from schemas.deadletter import RAW_KEPT_BYTES
    assert MAX_RECORD_BYTES <= RAW_KEPT_BYTES
