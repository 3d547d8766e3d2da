"""Fuzzing what devices send: whatever bytes arrive on whatever topic, ingest's decoder answers
with a Kafka record or a dead letter (declared code, readable reason, the raw bytes kept), and
the HJ 212 parser with a Frame or an `Hj212Error` of a declared code. Mutated frames are
re-framed with a correct length and CRC, so the mutations reach the parser's inner layers."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.decode import INPUT_KINDS, DecodeLimits, Decoder, Record
from ingest.hj212 import DATA_FLAGS, Frame, Hj212Error, encode_frame, parse_frame
from ingest.hj212_crc import crc16
from schemas import DeadLetter, ReadingEvent, SafetyEvent
from schemas.alert import AckCommand
from tests.factories import tiny_registry
from zonewatch.settings import Topics

NOW = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
ZONE = "jiangning-edz"
MN = "010000A89000000000000001"  # tiny_registry's jn-0001-ww1
HJ212_CODES = {"bad_length", "bad_header", "bad_crc", "bad_structure", "bad_value",
               "missing_field", "bad_time"}
DEAD_CODES = {"bad_topic", "oversized", "unknown_zone", "bad_json", "invalid", "unknown_point",
              "unknown_mn", "unknown_platform", "unknown_enterprise", "zone_mismatch",
              "future_timestamp", "ancient_timestamp", "hj212_not_data", "hj212_no_values",
              *(f"hj212_{code}" for code in HJ212_CODES)}
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DECODER = Decoder(tiny_registry(), Topics(), DecodeLimits(max_payload_bytes=8192))

# --- HJ 212 ----------------------------------------------------------------------------------
VALID_SEGMENTS = [
    encode_frame(st="32", cn=cn, pw="123456", mn=MN, data_time=NOW - timedelta(minutes=5),
                 values={"w01018": 23.1, "w21003": 0.52}, flags={"w01018": "N"},
                 fields=fields)[6:-6]
    for cn, fields in (("2011", None), ("2051", {"w01018": {"Min": 1.0, "Max": 30.5}}))
] + ["ST=32;CN=8013;PW=123456;MN=ZG130182201205;Flag=0;CP=&&HeartbeatTime=120&&",
     "ST=31;CN=2011;PW=123456;MN=LD1;CP=&&DataTime=20160824050243000;01-Rtd=3.56,01-Flag=N;"
     "01-ZsRtd=4.93,01-Flag=N&&"]
TOKENS = [";", ",", "=", "&&", "CP=&&", "-Rtd", "-Avg", "-Flag", "-ZsRtd", "DataTime=",
          "20261127080000", "20261327080000", "9e999", "1e308", "-", "+", ".", "N", "X",
          "w01018", "MN=", "QN=", "Flag=", "PNUM=2;PNO=3", "é", "设备", "\x00", "\r\n", "##",
          " ", "999999", "0.5", "nan", "inf", "1_0", "\u0660", "Ⅻ"]


@st.composite
def mutated_segments(draw: st.DrawFn) -> bytes:
    """A valid data segment with 1–4 insertions, deletions, replacements or repeats;
    sometimes as GBK or with a raw invalid byte."""
    text = draw(st.sampled_from(VALID_SEGMENTS))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 12)))
        token = draw(st.sampled_from(TOKENS) | st.text(max_size=6))
        op = draw(st.sampled_from(["insert", "delete", "replace", "repeat"]))
        text = {"insert": text[:i] + token + text[i:], "delete": text[:i] + text[j:],
                "replace": text[:i] + token + text[j:],
                "repeat": text[:j] + text[i:j] + text[j:]}[op]
    codec = draw(st.sampled_from(["utf-8", "gbk"]))
    data = text.encode(codec, errors="replace")
    if draw(st.booleans()):
        k = draw(st.integers(0, len(data)))
        data = data[:k] + draw(st.sampled_from([b"\xff", b"\x80", b"\xc3"])) + data[k:]
    return data


def framed(segment: bytes) -> bytes:
    """`##` + length + segment + CRC + CRLF, all correct, whatever the segment says."""
    return b"##%04d" % len(segment) + segment + b"%04X\r\n" % crc16(segment)


def check_frame(frame: Frame) -> None:
    """What a parsed frame promises: finite numbers, known flags, printable as strict JSON."""
    assert all(isinstance(v, float) and math.isfinite(v) for v in frame.values.values())
    assert set(frame.flags.values()) <= DATA_FLAGS
    assert frame.data_time is None or frame.data_time.utcoffset() is not None
    json.dumps(frame.to_json_dict(), allow_nan=False)  # what `zonewatch hj212 parse` prints


@FUZZ
@given(mutated_segments())
@example(b"ST=32;CN=2011;PW=1;MN=M1;CP=&&DataTime=20261127080000;w01018-Rtd=9e999&&")
def test_a_mutated_frame_is_a_frame_or_a_declared_error(segment: bytes) -> None:
    try:
        frame = parse_frame(framed(segment))
    except Hj212Error as e:
        assert e.code in HJ212_CODES and str(e)
        return
    check_frame(frame)


@FUZZ
@given(st.binary(max_size=600))
def test_arbitrary_bytes_behind_a_valid_header_are_a_frame_or_a_declared_error(
        data: bytes) -> None:
    try:
        check_frame(parse_frame(framed(data)))
    except Hj212Error as e:
        assert e.code in HJ212_CODES


# --- the decoder: any topic, any payload -----------------------------------------------------
topics = st.one_of(
    st.sampled_from([f"zw/v1/{z}/{k}" for z in (ZONE, "pukou-edz", "nowhere")
                     for k in (*INPUT_KINDS, "weather", "")]),
    st.text(max_size=40),
    st.lists(st.sampled_from(["zw", "v1", ZONE, "+", "#", "", "readings", "alerts"]),
             max_size=6).map("/".join),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)
VALID_BODIES = {
    "readings": {"point": "jn-0001-ww1", "ts": "2026-11-27T07:55:00+08:00",
                 "values": {"w01018": 23.1}, "flags": {"w01018": "N"}},
    "heartbeat": {"platform": f"{ZONE}-safety", "ts": "2026-11-27T07:55:00+08:00"},
    "assessment": {"enterprise": "jn-0001", "status": "completed",
                   "completed_at": "2026-01-01T00:00:00+08:00",
                   "valid_until": "2029-01-01T00:00:00+08:00", "level": "major"},
    "hazard": {"id": "hz-1", "enterprise": "jn-0001", "status": "reported",
               "ts": "2026-11-27T07:00:00+08:00", "due": "2026-12-27T07:00:00+08:00"},
    "ack": {"alert": "dg-0123456789abcdef", "by": "值班员", "note": "已知"},
}


@st.composite
def mutated_json(draw: st.DrawFn) -> tuple[str, bytes]:
    """A valid body for its kind with fields replaced, dropped or added, then sometimes cut
    or spliced at the byte level."""
    kind = draw(st.sampled_from(sorted(VALID_BODIES)))
    body = dict(VALID_BODIES[kind])
    for key in draw(st.lists(st.sampled_from([*body, "extra", "values", "ts"]), max_size=3)):
        if draw(st.booleans()):
            body[key] = draw(json_values)
        else:
            body.pop(key, None)
    raw = json.dumps(body, ensure_ascii=draw(st.booleans())).encode()
    if draw(st.integers(0, 3)) == 0:
        i = draw(st.integers(0, len(raw)))
        raw = raw[:i] + draw(st.binary(max_size=8)) + raw[i + draw(st.integers(0, 4)):]
    return f"zw/v1/{ZONE}/{kind}", raw


def check_outcome(topic: str, payload: bytes, out: Record | DeadLetter) -> None:
    """A record decodes as the model of its topic; a dead letter says why and keeps it all."""
    if isinstance(out, DeadLetter):
        assert out.code in DEAD_CODES, out.code
        assert out.reason.strip() and out.topic == topic and out.raw == payload
        return
    assert isinstance(out, Record) and out.key
    model = {"zw.readings": ReadingEvent, "zw.events": SafetyEvent,
             "zw.alert-commands": AckCommand}[out.topic]
    event = model.model_validate_json(out.value)
    if isinstance(event, ReadingEvent):
        assert event.zone == ZONE and all(math.isfinite(v) for v in event.values.values())
        assert datetime(1970, 1, 1, tzinfo=UTC) <= event.ts <= NOW + timedelta(minutes=5)


@FUZZ
@given(topics, st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_payload_on_any_topic_is_a_record_or_a_dead_letter(topic: str,
                                                               payload: bytes) -> None:
    check_outcome(topic, payload, DECODER.decode(topic, payload, NOW))


@FUZZ
@given(mutated_json())
def test_mutated_json_is_a_record_or_a_dead_letter(case: tuple[str, bytes]) -> None:
    topic, payload = case
    check_outcome(topic, payload, DECODER.decode(topic, payload, NOW))


@FUZZ
@given(mutated_segments())
def test_mutated_hj212_frames_are_records_or_dead_letters(segment: bytes) -> None:
    topic, payload = f"zw/v1/{ZONE}/hj212", framed(segment)
    check_outcome(topic, payload, DECODER.decode(topic, payload, NOW))


def test_the_valid_bodies_are_records() -> None:
    """The fuzzers start from input that passes, so their mutations test the edges."""
    for kind, body in VALID_BODIES.items():
        out = DECODER.decode(f"zw/v1/{ZONE}/{kind}", json.dumps(body).encode(), NOW)
        assert isinstance(out, Record), (kind, out)
    assert isinstance(DECODER.decode(f"zw/v1/{ZONE}/hj212", framed(
        VALID_SEGMENTS[0].encode()), NOW), Record)


@pytest.mark.parametrize("ts", ["0001-01-01T00:00:00+23:59", "1600-01-01T00:00:00Z",
                                "1969-12-31T23:59:59Z"])
def test_event_times_influxdb_cannot_hold_are_dead_letters(ts: str) -> None:
    """Before 1677 InfluxDB refuses the point, and with it the worker's whole batch."""
    body = {**VALID_BODIES["readings"], "ts": ts}
    out = DECODER.decode(f"zw/v1/{ZONE}/readings", json.dumps(body).encode(), NOW)
    assert isinstance(out, DeadLetter) and out.code == "ancient_timestamp", out


@pytest.mark.parametrize("payload", [b"[" * 8000, b'{"point": ' + b"{" * 5000,
                                     b'"\\ud800"', b"\xef\xbb\xbf{}", b"1e999999"])
def test_pathological_json_is_a_dead_letter(payload: bytes) -> None:
    for kind in INPUT_KINDS:
        if kind != "hj212":
            topic = f"zw/v1/{ZONE}/{kind}"
            check_outcome(topic, payload, DECODER.decode(topic, payload, NOW))
