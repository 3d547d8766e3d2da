"""HJ 212 codec: published frames, the 2005 variant, errors, and round-trip properties."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ingest.hj212 import BEIJING, Frame, Hj212Error, encode_frame, parse_frame, wrap_segment
from ingest.hj212_crc import crc16

# The standard's own worked example: HJ 212-2017, 附录 A (CRC16 algorithm), the
# "##0101QN=20160801085857223;…;CP=&&RtdInterval=30&&1C80" request to set the real-time
# data interval. Verbatim.
STANDARD_EXAMPLE = (
    "##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;"
    "Flag=5;CP=&&RtdInterval=30&&1C80\r\n"
)

# Real frames captured from devices in the field (HJ/T 212-2005 variant: no QN, no Flag,
# DataTime with milliseconds, 2005 factor codes), verbatim from
# github.com/xiaoyao9184/hj-t212-parser, hj-t212-parser/src/test/resources/AllData/
# "2016-08-24 05.h212" (one frame per line there).
FIELD_FRAMES = [
    "##0121ST=32;CN=2011;PW=123456;MN=ZG130102201215;CP=&&DataTime=20160824045130;"
    "B01-Rtd=0.00,B01-Flag=D;011-Rtd=32.00,011-Flag=N&&0140",
    "##0247ST=32;CN=2051;PW=123456;MN=LD130103000388;CP=&&DataTime=20160824045000000;"
    "011-Cou=66.9,011-Min=19.73,011-Avg=19.73,011-Max=19.73;060-Cou=1.635,060-Min=0.48,"
    "060-Avg=0.48,060-Max=0.48;B01-Cou=3392.21,B01-Min=5614.86,B01-Avg=5653.68,"
    "B01-Max=5690.82&&1DC0",
    "##0073ST=32;CN=8013;PW=123456;MN=ZG130182201205;Flag=0;CP=&&HeartbeatTime=120&&0500",
    "##0382ST=31;CN=2011;PW=123456;MN=ZG130182201325;CP=&&DataTime=20160824050243000;"
    "S01-Rtd=10.2,S01-Flag=N;S02-Rtd=8.93,S02-Flag=N;S03-Rtd=51.1,S03-Flag=N;S05-Rtd=0.0,"
    "S05-Flag=N;S07-Rtd=0.00,S07-Flag=N;01-Rtd=3.56,01-Flag=N;01-ZsRtd=4.93,01-Flag=N;"
    "02-Rtd=13.00,02-Flag=N;02-ZsRtd=18.05,02-Flag=N;03-Rtd=32.742,03-Flag=N;03-ZsRtd=45.474,"
    "03-Flag=N;B02-Rtd=38.57;S08-Rtd=395.507813,S08-Flag=N&&E8C1",
]

# Same project, hj-t212-parser/src/test/java/com/xy/format/hbt212/core/T212ParserTest.java.
PARSER_TEST_FRAME = (
    "##0139ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817000;"
    "B01-Rtd=36.91;011-Rtd=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N&&4980\r\n"
)


# Both from the same capture, "2016-08-24 00.h212", lines 1877 and 616.
ZS_FLAG_FRAME = (
    "##0381ST=31;CN=2011;PW=123456;MN=LD130105000182;CP=&&DataTime=20160824001000000;"
    "B02-Rtd=105.66;01-Rtd=3.52,01-Flag=N;02-Rtd=8.17,02-Flag=N;03-Rtd=24.920,03-Flag=N;"
    "S01-Rtd=9.7,S01-Flag=N;S02-Rtd=9.68,S02-Flag=N;S03-Rtd=49.1,S03-Flag=N;S05-Rtd=12.0,"
    "S05-Flag=N;S08-Rtd=0.407290,S08-Flag=N;S07-Rtd=14.58,S07-Flag=M;01-ZsRtd=4.69,01-Flag=M;"
    "03-ZsRtd=32.800,03-Flag=M;02-ZsRtd=11.59,02-Flag=M&&EE01\r\n"
)
AMBIGUOUS_FRAME = (
    "##0165ST=32;CN=2011;PW=123456;MN=LD130185000294;CP=&&DataTime=20160824004926000;"
    "B01-Rtd=19.52;060-Rtd=4.660,060-Flag=N;B01-Rtd=16.34;B01-Rtd=0.00;011-Rtd=61.0,"
    "011-Flag=N&&74C0\r\n"
)


def _segment(frame: str) -> bytes:
    return frame.strip()[6:-4].encode()


def _error(raw: bytes | str) -> Hj212Error:
    with pytest.raises(Hj212Error) as info:
        parse_frame(raw)
    return info.value


def _frame(segment: str) -> str:
    return wrap_segment(segment)


# --- CRC and published frames -------------------------------------------------------------

ALL_PUBLISHED = [STANDARD_EXAMPLE, *FIELD_FRAMES, PARSER_TEST_FRAME, ZS_FLAG_FRAME,
                 AMBIGUOUS_FRAME]


@pytest.mark.parametrize("frame", ALL_PUBLISHED)
def test_crc_matches_published_frames(frame: str) -> None:
    assert f"{crc16(_segment(frame)):04X}" == frame.strip()[-4:]


def test_standard_example_parses() -> None:
    frame = parse_frame(STANDARD_EXAMPLE)
    assert (frame.qn, frame.st, frame.cn, frame.pw) == ("20160801085857223", "32", "1062", "100000")
    assert (frame.mn, frame.flag, frame.data_time) == ("010000A8900016F000169DC0", 5, None)
    assert frame.extra == {"RtdInterval": "30"}


def test_2005_realtime_frame() -> None:
    frame = parse_frame(FIELD_FRAMES[0])
    assert frame.qn is None and frame.flag is None
    assert frame.data_time == datetime(2016, 8, 24, 4, 51, 30, tzinfo=BEIJING)
    assert frame.values == {"B01": 0.0, "011": 32.0}
    assert frame.flags == {"B01": "D", "011": "N"}


def test_2005_minute_frame_takes_avg_and_keeps_all_fields() -> None:
    frame = parse_frame(FIELD_FRAMES[1])
    assert frame.values == {"011": 19.73, "060": 0.48, "B01": 5653.68}
    assert frame.fields["B01"] == {"Cou": 3392.21, "Min": 5614.86, "Avg": 5653.68, "Max": 5690.82}
    assert frame.data_time == datetime(2016, 8, 24, 4, 50, tzinfo=BEIJING)


def test_heartbeat_without_datatime_keeps_extra() -> None:
    frame = parse_frame(FIELD_FRAMES[2])
    assert frame.cn == "8013" and frame.data_time is None and frame.values == {}
    assert frame.to_json_dict()["HeartbeatTime"] == "120"


def test_zsrtd_and_repeated_identical_flag_are_tolerated() -> None:
    frame = parse_frame(FIELD_FRAMES[3])
    assert frame.fields["01"] == {"Rtd": 3.56, "Flag": "N", "ZsRtd": 4.93, "ZsFlag": "N"}
    assert frame.values["01"] == 3.56 and frame.values["B02"] == 38.57
    assert "B02" not in frame.flags  # sent without a flag: left to the caller's default


def test_flag_of_a_zs_only_group_is_the_zs_flag() -> None:
    frame = parse_frame(ZS_FLAG_FRAME)
    assert frame.fields["01"] == {"Rtd": 3.52, "Flag": "N", "ZsRtd": 4.69, "ZsFlag": "M"}
    assert frame.flags["01"] == "N" and frame.values["01"] == 3.52


def test_three_different_values_for_one_factor_are_rejected() -> None:
    error = _error(AMBIGUOUS_FRAME)
    assert error.code == "bad_structure" and "B01-Rtd" in str(error)


def test_datatime_with_milliseconds() -> None:
    frame = parse_frame(PARSER_TEST_FRAME)
    assert frame.data_time == datetime(2016, 8, 24, 0, 38, 17, tzinfo=BEIJING)
    assert frame.values == {"B01": 36.91, "011": 231.0, "060": 1.803}


# --- 2017 data frames -------------------------------------------------------------------------

SPEC_SEGMENT = (
    "QN=20261127080001123;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=4;"
    "CP=&&DataTime=20261127080000;w01018-Rtd=23.1,w01018-Flag=N;w21003-Rtd=1.2,w21003-Flag=N&&"
)


def test_to_json_dict_is_what_the_cli_prints() -> None:
    frame = parse_frame(_frame(SPEC_SEGMENT))
    assert frame.to_json_dict() == {
        "qn": "20261127080001123", "st": "32", "cn": "2011", "pw": "123456",
        "mn": "010000A8900016F000169DC0", "flag": 4, "data_time": "2026-11-27T08:00:00+08:00",
        "values": {"w01018": 23.1, "w21003": 1.2}, "flags": {"w01018": "N", "w21003": "N"},
        "fields": {"w01018": {"Rtd": 23.1, "Flag": "N"}, "w21003": {"Rtd": 1.2, "Flag": "N"}},
    }


def test_hourly_frame_with_begin_end_time_and_packets() -> None:
    segment = (
        "QN=20261127090000000;ST=32;CN=2061;PW=1;MN=M1;Flag=6;PNUM=2;PNO=1;CP=&&"
        "DataTime=20261127080000;BeginTime=20261127080000;EndTime=20261127085959;"
        "w01018-Min=1.5,w01018-Avg=2.5,w01018-Max=3.5,w01018-Cou=40,w01018-Flag=N&&"
    )
    frame = parse_frame(_frame(segment))
    assert frame.values == {"w01018": 2.5} and (frame.pnum, frame.pno) == (2, 1)
    assert frame.extra == {"BeginTime": "20261127080000", "EndTime": "20261127085959"}


def test_avg_frame_falls_back_to_rtd() -> None:
    segment = "ST=32;CN=2051;PW=1;MN=M1;CP=&&DataTime=20261127080000;w01018-Rtd=4&&"
    assert parse_frame(_frame(segment)).values == {"w01018": 4.0}


@pytest.mark.parametrize("wrap", [
    lambda f: f.strip(), lambda f: "  \t" + f + "\n\n", lambda f: f.encode(),
    lambda f: f.strip()[:-4] + f.strip()[-4:].lower(),
])
def test_lenient_framing(wrap) -> None:
    frame = _frame(SPEC_SEGMENT)
    assert parse_frame(wrap(frame)) == parse_frame(frame)


def test_gbk_text_in_a_cp_field() -> None:
    data = "ST=32;CN=3020;PW=1;MN=M1;CP=&&i12001-Info=设备正常&&".encode("gbk")
    raw = b"##%04d" % len(data) + data + b"%04X\r\n" % crc16(data)
    assert parse_frame(raw).fields["i12001"]["Info"] == "设备正常"


# --- errors -----------------------------------------------------------------------------------

def test_crc_mismatch_names_both_crcs() -> None:
    error = _error(STANDARD_EXAMPLE.replace("1C80", "2A4F"))
    assert error.code == "bad_crc"
    assert str(error) == "CRC mismatch: frame says 2A4F, data gives 1C80"


@pytest.mark.parametrize(("raw", "code"), [
    ("", "bad_header"), ("hello", "bad_header"), ("##01x1QN=1&&1C80", "bad_header"),
    (STANDARD_EXAMPLE[:60], "bad_length"),
    (STANDARD_EXAMPLE.replace("0101", "0102"), "bad_length"),
    (STANDARD_EXAMPLE.replace("1C80", "1CXX"), "bad_crc"),
    (b"##" + b"\xff" * 100_000, "bad_length"),
    ("\ud800", "bad_structure"),
])
def test_framing_errors(raw: bytes | str, code: str) -> None:
    assert _error(raw).code == code


@pytest.mark.parametrize(("segment", "code", "words"), [
    ("ST=32;CN=2011;PW=1;MN=M1;CP=&&DataTime=20261127080000;w01018-Rtd=abc&&", "bad_value",
     "w01018"),
    ("ST=32;CN=2011;PW=1;MN=M1;CP=&&DataTime=20261127080000;w01018-Rtd=nan&&", "bad_value",
     "w01018"),
    ("ST=32;CN=2011;PW=1;MN=M1;CP=&&DataTime=20261127080000;w01018-Flag=X&&", "bad_value",
     "flag"),
    ("ST=32;CN=2011;PW=1;CP=&&DataTime=20261127080000;w01018-Rtd=1&&", "missing_field", "MN"),
    ("ST=32;CN=2011;PW=1;MN=M1;CP=&&w01018-Rtd=1&&", "missing_field", "DataTime"),
    ("ST=32;CN=2011;PW=1;MN=M1;CP=&&DataTime=20261327080000&&", "bad_time", "DataTime"),
    ("ST=32;CN=2011;PW=1;MN=M1;CP=&&DataTime=2026112708&&", "bad_time", "DataTime"),
    ("ST=32;CN=2011;PW=1;MN=M1;CP=&&DataTime=20261127080000;a-Rtd=1,a-Rtd=2&&", "bad_structure",
     "twice"),
    ("ST=32;CN=2011;PW=1;MN=M1;CP=&&DataTime=20261127080000;w01018&&", "bad_structure", "w01018"),
    ("ST=32;CN=2011;PW=1;MN=M1;XX=1;CP=&&&&", "bad_structure", "XX"),
    ("ST=32;CN=2011;PW=1;MN=M1;CP=&&DataTime=20261127080000", "bad_structure", "&&"),
    ("ST=32;CN=2011;PW=1;MN=M1", "bad_structure", "CP"),
    ("QN=2026;ST=32;CN=2011;PW=1;MN=M1;CP=&&&&", "bad_value", "QN"),
    ("ST=32;CN=8013;PW=1;MN=M1;Flag=999;CP=&&&&", "bad_value", "Flag"),
    ("ST=32;CN=8013;PW=1;MN=M1;PNUM=2;CP=&&&&", "missing_field", "PNO"),
    ("ST=32;CN=8013;PW=1;MN=M1;PNUM=2;PNO=3;CP=&&&&", "bad_value", "PNO"),
])
def test_segment_errors_are_named(segment: str, code: str, words: str) -> None:
    error = _error(_frame(segment))
    assert error.code == code
    assert words in str(error)


def test_encode_rejects_what_would_not_parse_back() -> None:
    ok = {"st": "32", "cn": "2011", "pw": "1", "mn": "M1", "values": {"w01018": 1.0}}
    for bad in ({"values": {"w01018": float("nan")}}, {"mn": "a;b"}, {"flags": {"w01018": "Q"}},
                {"data_time": datetime(2026, 1, 1)}, {"values": {"w0-1": 1.0}}):
        with pytest.raises(Hj212Error):
            encode_frame(**{**ok, **bad})


# --- properties -------------------------------------------------------------------------------

factors = st.from_regex(r"[A-Za-z0-9_]{1,8}", fullmatch=True)
times = st.datetimes(min_value=datetime(1990, 1, 2), max_value=datetime(2098, 12, 30),
                     timezones=st.sampled_from([UTC, BEIJING])).map(
    lambda t: t.replace(microsecond=0))


finite = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def frames(draw: st.DrawFn) -> tuple[dict, str]:
    """Components and the frame encode_frame builds from them."""
    values = draw(st.dictionaries(factors, finite, max_size=6))
    flags = {f: draw(st.sampled_from("NFMSDCTB")) for f in values if draw(st.booleans())}
    parts = {
        "st": draw(st.sampled_from(["21", "22", "31", "32"])), "values": values, "flags": flags,
        "cn": draw(st.sampled_from(["2011", "2051", "2061", "2031"])),
        "pw": draw(st.from_regex(r"[0-9A-Za-z]{0,9}", fullmatch=True)),
        "mn": draw(st.from_regex(r"[0-9A-Za-z]{1,24}", fullmatch=True)), "data_time": draw(times),
        "qn": draw(st.none() | st.from_regex(r"[0-9]{17}", fullmatch=True)),
        "flag": draw(st.none() | st.integers(0, 255)),
        "fields": {f: draw(st.dictionaries(st.sampled_from(["Min", "Max", "Cou"]), finite,
                                           max_size=3)) for f in values},
    }
    if draw(st.booleans()):  # a packet of a split message
        parts["pnum"] = draw(st.integers(1, 9999))
        parts["pno"] = draw(st.integers(1, parts["pnum"]))
    return parts, encode_frame(**parts)


@given(frames())
def test_encode_parse_round_trip(case: tuple[dict, str]) -> None:
    parts, raw = case
    frame = parse_frame(raw)
    assert frame.values == parts["values"] and frame.flags == parts["flags"]
    assert (frame.mn, frame.cn, frame.st, frame.pw) == (
        parts["mn"], parts["cn"], parts["st"], parts["pw"])
    assert frame.data_time == parts["data_time"]
    assert frame.data_time.isoformat().endswith("+08:00")
    assert frame.flag == parts["flag"]
    assert frame.qn == (parts["qn"] or frame.data_time.strftime("%Y%m%d%H%M%S") + "000")
    assert (frame.pnum, frame.pno) == (parts.get("pnum"), parts.get("pno"))
    for factor, extra in parts["fields"].items():
        assert {k: frame.fields[factor][k] for k in extra} == extra


def _frame_or_error(raw: bytes | str) -> Frame | None:
    try:
        return parse_frame(raw)
    except Hj212Error:
        return None


@given(st.binary(max_size=400) | st.text(max_size=400))
def test_arbitrary_input_gives_frame_or_hj212error(raw: bytes | str) -> None:
    _frame_or_error(raw)
    _frame_or_error(b"##%04d" % len(raw) + (raw.encode() if isinstance(raw, str) else raw))


@given(st.text(alphabet="QNSTCPWMFlagDtRdvi=;,&-0123456789.wEBZsXé设", max_size=200))
def test_arbitrary_segment_with_valid_crc_gives_frame_or_hj212error(segment: str) -> None:
    _frame_or_error(wrap_segment(segment))
    _frame_or_error(wrap_segment(f"ST=32;CN=2011;PW=1;MN=M;CP=&&{segment}&&"))


@given(frames(), st.data())
def test_a_flipped_byte_is_never_a_wrong_silent_parse(case: tuple[dict, str], data) -> None:
    raw = bytearray(case[1].encode())
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] ^= data.draw(st.integers(1, 255))
    assume(bytes(raw) != case[1].encode())
    parsed = _frame_or_error(bytes(raw))
    assert parsed is None or parsed == parse_frame(case[1])


@given(frames(), st.data())
def test_truncated_frames_are_rejected(case: tuple[dict, str], data) -> None:
    raw = case[1].rstrip()
    cut = data.draw(st.integers(0, len(raw) - 1))
    assert _frame_or_error(raw[:cut]) is None
