"""Watermark markers: only a well-formed, zone-aware time counts; anything else is ignored."""

from datetime import UTC, datetime, timedelta

from ingest.bridge import marker_time
from ingest.mqtt_source import Message
from ingest.ticks import BrokerOutage

TOPIC = "zw/sys/ingest/zw-ingest/watermark"


def marker(payload: bytes) -> Message:
    return Message(TOPIC, payload, mid=1, qos=1)


def test_a_marker_carries_the_time_it_was_published() -> None:
    at = datetime(2026, 11, 27, 23, 30, 0, 250_000, tzinfo=UTC)
    assert marker_time(marker(at.isoformat().encode())) == at


def test_a_malformed_or_naive_marker_claims_nothing() -> None:
    for payload in (b"", b"\xff\xfe", b"yesterday", b"2026-11-27T23:30:00"):
        assert marker_time(marker(payload)) is None


def test_after_a_broker_outage_ticks_wait_for_the_devices_to_catch_up() -> None:
    t0 = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    outage = BrokerOutage(grace_s=30)
    assert outage.cap(t0, now=t0) == t0  # no outage: a claim stands
    outage.went_down(t0)
    outage.came_up(t0 + timedelta(seconds=12))
    later = t0 + timedelta(seconds=20)
    assert outage.cap(later, now=later) == t0  # devices may still be sending what they kept
    done = t0 + timedelta(seconds=43)
    assert outage.cap(done, now=done) == done  # 30 s after it came back
    assert outage.down_since is None


def test_the_first_connection_is_not_an_outage() -> None:
    outage = BrokerOutage(grace_s=30)
    now = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    outage.came_up(now)
    assert outage.cap(now, now=now) == now
