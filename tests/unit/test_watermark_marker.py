"""Watermark markers: only a well-formed, zone-aware time counts; anything else is ignored."""

from datetime import UTC, datetime

from ingest.bridge import marker_time
from ingest.mqtt_source import Message

TOPIC = "zw/sys/ingest/zw-ingest/watermark"


def marker(payload: bytes) -> Message:
    return Message(TOPIC, payload, mid=1, qos=1)


def test_a_marker_carries_the_time_it_was_published() -> None:
    at = datetime(2026, 11, 27, 23, 30, 0, 250_000, tzinfo=UTC)
    assert marker_time(marker(at.isoformat().encode())) == at


def test_a_malformed_or_naive_marker_claims_nothing() -> None:
    for payload in (b"", b"\xff\xfe", b"yesterday", b"2026-11-27T23:30:00"):
        assert marker_time(marker(payload)) is None
