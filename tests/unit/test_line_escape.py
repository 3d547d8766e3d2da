"""No input can inject line protocol: tag and field values full of separators, quotes and
non-ASCII come back from the line exactly as they went in, read by a strict model of InfluxDB's
parser (tests/line_protocol.py, itself checked against the real InfluxDB in
tests/integration/test_line_protocol.py). influxdb-client's `Point` is the second opinion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from schemas import Alert, ReadingEvent
from streams.storage import alert_point, reading_line, reading_point
from tests.line_protocol import Line, LineError, escape_key, parse_line

TS = datetime(2026, 11, 27, 0, 0, 5, tzinfo=UTC)
NASTY = [",", " ", "=", '"', "'", "\t", "\x00", "#", "江宁经开区", "é", "😀", "\u2028", "a=b,c d",
         "\\,", "k=v ", "=", ",,", "  "]
"""Fragments that break naive line protocol (`\\,` only where backslashes are allowed)."""

plain_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\n\r\\"),
                     min_size=1, max_size=24)
nasty_text = st.lists(st.sampled_from([n for n in NASTY if "\\" not in n]) | plain_text,
                      min_size=1, max_size=4).map("".join)
factors = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,31}", fullmatch=True)
values = st.dictionaries(factors, st.floats(allow_nan=False, allow_infinity=False),
                         min_size=1, max_size=5)


@st.composite
def events(draw: st.DrawFn, tag_text: st.SearchStrategy[str] = nasty_text) -> ReadingEvent:
    vals = draw(values)
    flags = {f: draw(st.sampled_from("NFMSDCTB")) for f in vals if draw(st.booleans())}
    ts = draw(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1),
                           timezones=st.just(UTC))).replace(microsecond=0)
    return ReadingEvent(point=draw(tag_text), zone=draw(tag_text), enterprise=draw(tag_text),
                        ts=ts, values=vals, flags=flags, source=draw(st.sampled_from(
                            ["json", "hj212"])),
                        received_at=ts + timedelta(seconds=draw(st.floats(0, 1e6))))


def expected(ev: ReadingEvent) -> Line:
    fields: dict = {"source": ev.source.value,
                    "arrival_lag_s": round((ev.received_at - ev.ts).total_seconds(), 3)}
    for factor, value in ev.values.items():
        fields[factor] = float(value)
        fields[f"{factor}_flag"] = ev.flag_of(factor).value
    return Line("reading", {"zone": ev.zone, "enterprise": ev.enterprise, "point": ev.point},
                fields, int(ev.ts.timestamp()))


def one(ev_or_none: dict[str, str]) -> ReadingEvent:
    base = {"point": "jn-0001-ww1", "zone": "jiangning-edz", "enterprise": "jn-0001", "ts": TS,
            "values": {"w01018": 23.1}, "received_at": TS + timedelta(seconds=2)}
    return ReadingEvent.model_validate({**base, **ev_or_none})


@given(events())
@example(one({"enterprise": 'x,point=evil zone=q w01018=999 1'}))
@example(one({"point": "a b=c", "zone": '"quoted"', "enterprise": "江宁 某某化工,有限公司"}))
def test_a_reading_line_says_exactly_the_reading(ev: ReadingEvent) -> None:
    assert parse_line(reading_line(ev)) == expected(ev)


@given(events(tag_text=st.text(st.characters(exclude_categories=("Cs",),
                                             exclude_characters="\n\r\t\\"), min_size=1)))
def test_the_line_says_what_influxdb_clients_point_says(ev: ReadingEvent) -> None:
    """`Point` escapes a tab as the two characters `\\t`, which InfluxDB keeps as they are:
    tabs are left out of this comparison (our line keeps a tab a tab, which is right)."""
    ours, theirs = parse_line(reading_line(ev)), parse_line(reading_point(ev).to_line_protocol())
    assert (ours.measurement, ours.tags, ours.timestamp) == (theirs.measurement, theirs.tags,
                                                             theirs.timestamp)
    assert ours.fields == pytest.approx(theirs.fields)


def test_backslashes_in_tags_round_trip_or_are_refused() -> None:
    ev = one({"enterprise": "a\\b", "point": "c\\,d"})
    assert parse_line(reading_line(ev)).tags == {"zone": "jiangning-edz", "enterprise": "a\\b",
                                                 "point": "c\\,d"}
    with pytest.raises(ValueError):
        reading_line(one({"enterprise": "ends-in\\"}))


@pytest.mark.parametrize("text", ["a\nb", "a\rb", ""])
def test_what_no_tag_can_hold_is_refused_by_the_reference_escaping(text: str) -> None:
    with pytest.raises(LineError):
        escape_key(text)


@given(st.text(max_size=60), st.text(max_size=60), st.text(max_size=40))
@example('"; drop', 'x" 1\nreading,zone=z w=1 2', "值班员\\")
def test_alert_texts_are_string_fields_that_read_back_unchanged(zh: str, en: str,
                                                                by: str) -> None:
    alert = Alert(id="dg-0123456789abcdef", kind="data_gap", status="acknowledged",
                  severity="warning", zone="jiangning-edz", opened_at=TS, updated_at=TS,
                  summary={"zh": zh, "en": en}, acknowledged_by=by or None)
    line = parse_line(alert_point(alert).to_line_protocol())  # newlines stay inside strings
    back = line.fields
    assert (back["summary_zh"], back["summary_en"]) == (zh, en)
    assert back.get("acknowledged_by") == (by or None)
    assert line.tags == {"zone": "jiangning-edz", "kind": "data_gap", "id": alert.id}


@pytest.mark.parametrize("line", [
    "reading,zone=a,b w=1 1",            # bare comma: a tag without '='
    "reading,zone=a=b w=1 1",            # bare '=' in a value
    "reading,zone=a w=1 1 2",            # a fourth part
    'reading,zone=a s="x 1',             # unterminated string
    "reading,zone=a\\ w=1 1",            # trailing backslash escapes the space: no fields
    "reading,zone= w=1 1",               # empty tag value
])
def test_the_model_refuses_what_influxdb_would_read_differently(line: str) -> None:
    with pytest.raises((LineError, ValueError)):
        parse_line(line)
