"""`zonewatch hj212 parse`: JSON per frame on stdout, named errors on stderr, exit status."""

from __future__ import annotations

import io
import json

from ingest.hj212 import wrap_segment
from zonewatch.hj212_cmd import run_parse

GOOD = wrap_segment(
    "QN=20261127080001123;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=4;"
    "CP=&&DataTime=20261127080000;w01018-Rtd=23.1,w01018-Flag=N&&"
)
BAD_CRC = GOOD.strip()[:-4] + "0000\r\n"


def _run(stdin: io.IOBase) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    status = run_parse(stdin, stdout, stderr)  # type: ignore[arg-type]
    return status, stdout.getvalue(), stderr.getvalue()


def test_valid_frames_print_json_and_exit_0() -> None:
    status, out, err = _run(io.StringIO(GOOD + "\n   \n" + GOOD))
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["values"] == {"w01018": 23.1}
    assert json.loads(lines[0])["data_time"] == "2026-11-27T08:00:00+08:00"


def test_every_cp_field_is_printed() -> None:
    frame = wrap_segment(
        "QN=20261127090001123;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=4;"
        "CP=&&DataTime=20261127090000;w01018-Min=20.5,w01018-Avg=23.1,w01018-Max=25.0,"
        "w01018-Cou=1.2,w01018-Flag=N;Note=ok&&")
    status, out, _ = _run(io.StringIO(frame))
    printed = json.loads(out)
    assert status == 0 and printed["values"] == {"w01018": 23.1}
    assert printed["fields"]["w01018"] == {"Min": 20.5, "Avg": 23.1, "Max": 25.0, "Cou": 1.2,
                                           "Flag": "N"}
    assert printed["Note"] == "ok"


def test_invalid_frame_is_named_by_line_and_exit_1() -> None:
    status, out, err = _run(io.StringIO(GOOD + "\n" + BAD_CRC + "garbage\n" + GOOD))
    assert status == 1
    assert len(out.splitlines()) == 2
    assert err.splitlines() == [
        f"line 3: bad_crc: CRC mismatch: frame says 0000, data gives {GOOD.strip()[-4:]}",
        "line 4: bad_header: frame must start with ## and 4 digits: b'garbage'",
    ]


def test_binary_stdin_with_gbk_and_broken_bytes() -> None:
    data = "ST=32;CN=3020;PW=1;MN=M1;CP=&&i12001-Info=正常&&".encode("gbk")
    gbk = b"##%04d" % len(data) + data + b"0000\r\n"
    stdin = io.TextIOWrapper(io.BytesIO(gbk + b"\xff\xfe\xfd\n" + GOOD.encode()))
    status, out, err = _run(stdin)
    assert status == 1 and len(out.splitlines()) == 1
    assert [line.split(":")[0] for line in err.splitlines()] == ["line 1", "line 2"]


def test_chinese_is_printed_as_is() -> None:
    frame = wrap_segment("ST=32;CN=3020;PW=1;MN=M1;CP=&&Note=江宁经开区&&")
    status, out, _ = _run(io.BytesIO(frame.encode()))
    assert status == 0 and "江宁经开区" in out


def test_empty_input_exits_0() -> None:
    assert _run(io.StringIO("")) == (0, "", "")
