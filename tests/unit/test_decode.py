import json
from datetime import UTC, datetime, timedelta

import pytest

from ingest.decode import DecodeLimits, Decoder, Record
from ingest.hj212 import encode_frame, wrap_segment
from schemas import DeadLetter, ReadingEvent, Registry, SafetyEvent
from tests.factories import tiny_registry
from zonewatch.settings import Topics

NOW = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
TOPIC = "zw/v1/jiangning-edz/readings"


@pytest.fixture
def decoder() -> Decoder:
    return Decoder(tiny_registry(), Topics(), DecodeLimits(max_payload_bytes=4096))


def reading(**over: object) -> bytes:
    body = {"point": "jn-0001-ww1", "ts": "2026-11-27T08:00:00+08:00",
            "values": {"w01018": 23.1}, "flags": {"w01018": "N"}}
    body.update(over)
    return json.dumps(body).encode()


def test_valid_json_reading_becomes_a_record_keyed_by_point(decoder: Decoder) -> None:
    out = decoder.decode(TOPIC, reading(), NOW)
    assert isinstance(out, Record)
    assert out.topic == "zw.readings" and out.key == b"jn-0001-ww1"
    event = ReadingEvent.model_validate_json(out.value)
    assert event.zone == "jiangning-edz" and event.enterprise == "jn-0001"
    assert event.ts == NOW and event.values == {"w01018": 23.1}


@pytest.mark.parametrize(("topic", "payload", "code", "words"), [
    (TOPIC, b"{not json", "bad_json", "Invalid JSON"),
    (TOPIC, reading(values={"w01018": "23.1"}), "invalid", "values.w01018"),
    (TOPIC, reading(values={"w01018": True}), "invalid", "values.w01018"),
    (TOPIC, reading(point="nope"), "unknown_point", "'nope'"),
    (TOPIC, reading(ts="2026-11-27T08:00:00"), "invalid", "ts"),
    (TOPIC, reading(ts="2026-11-28T08:00:00+08:00"), "future_timestamp", "ahead"),
    (TOPIC, reading(flags={"w01018": "Q"}), "invalid", "flags.w01018"),
    ("zw/v1/pukou-edz/readings", reading(), "zone_mismatch", "belongs to zone"),
    ("zw/v1/nowhere/readings", reading(), "unknown_zone", "'nowhere'"),
    ("zw/v1/jiangning-edz/weather", reading(), "bad_topic", "zw/v1/"),
    (TOPIC, b"x" * 5000, "oversized", "5000 bytes"),
])
def test_bad_input_becomes_a_dead_letter_with_a_reason(
        decoder: Decoder, topic: str, payload: bytes, code: str, words: str) -> None:
    out = decoder.decode(topic, payload, NOW)
    assert isinstance(out, DeadLetter), out
    assert out.code == code
    assert words in out.reason
    assert out.raw == payload and out.topic == topic


def test_hj212_frame_resolves_its_mn_to_the_point(decoder: Decoder) -> None:
    frame = encode_frame(st="32", cn="2011", pw="123456", mn="010000A89000000000000002",
                         data_time=NOW - timedelta(minutes=1),
                         values={"w01018": 12.5}, flags={"w01018": "N"})
    out = decoder.decode("zw/v1/jiangning-edz/hj212", frame.encode(), NOW)
    assert isinstance(out, Record), out
    event = ReadingEvent.model_validate_json(out.value)
    assert event.point == "jn-0002-ww1" and event.source == "hj212" and event.cn == "2011"


def test_hj212_unknown_mn_and_bad_crc_are_dead_letters(decoder: Decoder) -> None:
    frame = encode_frame(st="32", cn="2011", pw="123456", mn="99999999",
                         data_time=NOW - timedelta(minutes=1), values={"w01018": 1.0})
    out = decoder.decode("zw/v1/jiangning-edz/hj212", frame.encode(), NOW)
    assert isinstance(out, DeadLetter) and out.code == "unknown_mn"
    good = encode_frame(st="32", cn="2011", pw="123456", mn="010000A89000000000000001",
                        data_time=NOW, values={"w01018": 1.0})
    broken = good.replace("w01018-Rtd=1", "w01018-Rtd=2")
    out = decoder.decode("zw/v1/jiangning-edz/hj212", broken.encode(), NOW)
    assert isinstance(out, DeadLetter) and out.code.startswith("hj212_")


def test_heartbeat_of_another_zones_platform_is_rejected(decoder: Decoder) -> None:
    hb = json.dumps({"platform": "pukou-safety", "ts": "2026-11-27T08:00:00+08:00"}).encode()
    out = decoder.decode("zw/v1/jiangning-edz/heartbeat", hb, NOW)
    assert isinstance(out, DeadLetter) and out.code == "zone_mismatch"
    hb = json.dumps({"platform": "jiangning-edz-safety", "ts": "2026-11-27T08:00:00+08:00"})
    out = decoder.decode("zw/v1/jiangning-edz/heartbeat", hb.encode(), NOW)
    assert isinstance(out, Record) and out.key == b"jiangning-edz"
    assert SafetyEvent.model_validate_json(out.value).heartbeat is not None


def test_assessment_for_unknown_enterprise_is_rejected(decoder: Decoder) -> None:
    body = json.dumps({"enterprise": "jn-9999", "status": "completed"}).encode()
    out = decoder.decode("zw/v1/jiangning-edz/assessment", body, NOW)
    assert isinstance(out, DeadLetter) and out.code == "unknown_enterprise"


def test_ack_over_mqtt_becomes_a_command_keyed_by_alert(decoder: Decoder) -> None:
    body = json.dumps({"alert": "dg-0123456789abcdef", "by": "值班员"}).encode()
    out = decoder.decode("zw/v1/jiangning-edz/ack", body, NOW)
    assert isinstance(out, Record) and out.topic == "zw.alert-commands"
    assert out.key == b"dg-0123456789abcdef"
    bad = decoder.decode("zw/v1/jiangning-edz/ack", b'{"alert": "x y", "by": ""}', NOW)
    assert isinstance(bad, DeadLetter) and bad.code == "invalid"


def hazard(**over: object) -> bytes:
    body = {"id": "hz-1", "enterprise": "jn-0001", "status": "reported",
            "ts": "2026-11-27T08:00:00+08:00", "due": "2026-12-27T08:00:00+08:00"}
    body.update(over)
    return json.dumps(body).encode()


def assessment(**over: object) -> bytes:
    body = {"enterprise": "jn-0001", "status": "completed",
            "completed_at": "2025-11-27T08:00:00+08:00",
            "valid_until": "2028-11-27T08:00:00+08:00", "level": "general"}
    body.update(over)
    return json.dumps(body).encode()


@pytest.mark.parametrize(("kind", "payload", "code", "words"), [
    ("hazard", hazard(due="0001-01-01T00:00:00+01:00"), "ancient_timestamp",
     "hazard due 0001-01-01T00:00:00+01:00 is before 1970"),
    ("hazard", hazard(due="9999-12-31T23:59:59+08:00"), "future_timestamp", "after 2099"),
    ("hazard", hazard(ts="1900-01-01T00:00:00+08:00"), "ancient_timestamp", "hazard ts"),
    ("assessment", assessment(valid_until="0001-01-01T00:00:00+01:00"), "ancient_timestamp",
     "assessment valid_until"),
    ("assessment", assessment(valid_until="2100-01-01T00:00:00Z"), "future_timestamp",
     "assessment valid_until"),
    ("assessment", assessment(completed_at="1969-12-31T23:59:59Z"), "ancient_timestamp",
     "assessment completed_at"),
    ("assessment", assessment(completed_at="2027-11-27T08:00:00+08:00"), "future_timestamp",
     "assessment completed_at"),
], ids=["due-year-1", "due-year-9999", "ts-1900", "valid-until-year-1", "valid-until-2100",
        "completed-1969", "completed-next-year"])
def test_safety_dates_out_of_range_are_dead_letters(
        decoder: Decoder, kind: str, payload: bytes, code: str, words: str) -> None:
    """The worker turns these dates into epoch seconds and back: year 1 would stop it."""
    out = decoder.decode(f"zw/v1/jiangning-edz/{kind}", payload, NOW)
    assert isinstance(out, DeadLetter), out
    assert out.code == code and words in out.reason, out.reason


@pytest.mark.parametrize(("kind", "payload"), [
    ("hazard", hazard(due="2099-12-31T23:59:59Z")),
    ("hazard", hazard(due=None)),
    ("assessment", assessment(valid_until="2099-06-01T00:00:00+08:00")),
    ("assessment", assessment(completed_at=None, valid_until=None)),
], ids=["due-2099", "no-due", "valid-until-2099", "no-dates"])
def test_deadlines_ahead_are_accepted(decoder: Decoder, kind: str, payload: bytes) -> None:
    out = decoder.decode(f"zw/v1/jiangning-edz/{kind}", payload, NOW)
    assert isinstance(out, Record), out


def test_hj212_2005_frame_with_numeric_factor_codes_becomes_a_reading(
        decoder: Decoder) -> None:
    """HJ/T 212-2005 devices name factors 011 (COD), 060 (ammonia), B01 (flow)."""
    frame = wrap_segment("ST=32;CN=2011;PW=123456;MN=010000A89000000000000002;"
                         "CP=&&DataTime=20261127075900000;B01-Rtd=36.91;"
                         "011-Rtd=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N&&")
    out = decoder.decode("zw/v1/jiangning-edz/hj212", frame.encode(), NOW)
    assert isinstance(out, Record), out
    event = ReadingEvent.model_validate_json(out.value)
    assert event.point == "jn-0002-ww1"
    assert event.values == {"B01": 36.91, "011": 231.0, "060": 1.803}
    assert event.flags == {"011": "N", "060": "N"}


@pytest.mark.parametrize("code", ["_field", "-1", "w01018 x", "w0,1", ""])
def test_factor_codes_stay_safe_field_keys(decoder: Decoder, code: str) -> None:
    out = decoder.decode(TOPIC, reading(values={code: 1.0}, flags={}), NOW)
    assert isinstance(out, DeadLetter) and out.code == "invalid", out


def test_an_unexpected_error_becomes_a_dead_letter_naming_it(
        decoder: Decoder, monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry whose point names an enterprise it lacks: the bridge must go on."""
    def dangling(_registry: Registry, _point: object) -> str:
        raise KeyError("jn-0001")
    monkeypatch.setattr(Registry, "zone_of_point", dangling)
    out = decoder.decode(TOPIC, reading(), NOW)
    assert isinstance(out, DeadLetter), out
    assert out.code == "internal_error" and "KeyError" in out.reason
    assert out.raw == reading() and out.topic == TOPIC
