"""The hand-built line protocol says what influxdb-client's Point says, and cannot be injected."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas import ReadingEvent
from schemas.pipeline import PointStatusChange
from streams.storage import _escape_tag, point_status_line, reading_line, reading_point
from tests.line_protocol import Line, parse_line

TS = datetime(2026, 11, 27, 0, 0, 5, tzinfo=UTC)


def event(**over: object) -> ReadingEvent:
    base = {"point": "jn-0001-ww1", "zone": "jiangning-edz", "enterprise": "jn-0001", "ts": TS,
            "values": {"w01018": 23.1, "w21003": 1e-7}, "flags": {"w21003": "T"},
            "received_at": TS + timedelta(seconds=2.5)}
    return ReadingEvent.model_validate({**base, **over})


def test_line_matches_influxdb_clients_point() -> None:
    ev = event()
    point_line = reading_point(ev).to_line_protocol()
    ours = reading_line(ev)
    assert ours.split(" ")[0] == point_line.split(" ")[0]
    assert sorted(ours.split(" ")[1].split(",")) == sorted(point_line.split(" ")[1].split(","))
    assert ours.split(" ")[2] == point_line.split(" ")[2]


@pytest.mark.parametrize(("cn", "tagged"), [(None, False), ("2011", False), ("2051", True),
                                           ("2061", True), ("2031", True)])
def test_hj212_statistics_are_a_series_of_their_own(cn: str | None, tagged: bool) -> None:
    """An hourly average dated like a real-time reading must not replace it in InfluxDB."""
    ev = event(cn=cn)
    ours, theirs = reading_line(ev), reading_point(ev).to_line_protocol()
    assert ours.split(" ")[0] == theirs.split(" ")[0]  # the same series key, tags sorted
    assert (f",cn={cn}," in ours) is tagged


@pytest.mark.parametrize(("lag_s", "field"), [(2.5, "arrival_lag_s"), (180, "arrival_lag_s"),
                                              (180.5, "late_lag_s"), (3600, "late_lag_s")])
def test_a_reading_after_its_points_threshold_keeps_its_lag_apart(lag_s: float,
                                                                  field: str) -> None:
    """So that a resend of data received on time does not overwrite its on-time arrival."""
    ev = event(received_at=TS + timedelta(seconds=lag_s))
    for line in (reading_line(ev, late_after_s=180),
                 reading_point(ev, late_after_s=180).to_line_protocol()):
        fields = dict(f.split("=", 1) for f in line.split(" ")[1].split(","))
        assert float(fields[field]) == lag_s
        assert ({"arrival_lag_s", "late_lag_s"} & set(fields)) == {field}
    assert "arrival_lag_s=" in reading_line(ev)  # no threshold known: as before


@pytest.mark.parametrize("factor", ["w01018 x=1", "a,b", 'q"', "a\nb", "", "_abc"])
def test_factor_codes_that_could_inject_are_refused_by_the_schema(factor: str) -> None:
    with pytest.raises(ValidationError):
        event(values={factor: 1.0})


@given(st.text(min_size=1).filter(lambda t: "\n" not in t and "\r" not in t
                                  and not t.endswith("\\")))
def test_escaped_tags_never_contain_a_bare_separator(text: str) -> None:
    """InfluxDB reads a separator as text when the character before it is a backslash."""
    escaped = _escape_tag(text)
    assert all(escaped[i - 1] == "\\" for i, c in enumerate(escaped) if c in ", =")


def test_newline_in_a_tag_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be an InfluxDB tag"):
        _escape_tag("a\nb")


def test_a_status_change_line_says_the_point_its_status_and_since_at_its_time() -> None:
    change = PointStatusChange(point="jn-0001-ww1", zone="jiangning-edz", enterprise="a b,c",
                               status="offline", since=TS, at=TS + timedelta(seconds=181.7))
    line = parse_line(point_status_line(change))
    assert line == Line("point_status", {"enterprise": "a b,c", "point": "jn-0001-ww1",
                                         "zone": "jiangning-edz"},
                        {"status": "offline", "since": TS.isoformat()},
                        int(TS.timestamp()) + 181)
    never = change.model_copy(update={"since": None})
    assert parse_line(point_status_line(never)).fields == {"status": "offline"}
