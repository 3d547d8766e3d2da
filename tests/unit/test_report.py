"""The compliance report without InfluxDB: periods, timelines, the queries' pure halves, and
rendering (HTML, SVG, CSV) from a hand-made `ReportData`."""

from __future__ import annotations

import argparse
import csv
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas import Alert
from streams.coverage import Completeness
from tests.factories import tiny_registry
from zonewatch import query
from zonewatch.report import ReportError, check_request, run_report, svg
from zonewatch.report.csv_out import write, write_csvs
from zonewatch.report.html import render_html
from zonewatch.report.model import Day, Figure, PointRow, ReportData, UnitRow, Verdict
from zonewatch.report.period import PeriodError, make_period
from zonewatch.report.timeline import Timelines, shortfall, unit_segments
from zonewatch.report.words import hm, pct

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # 18:00 on 27 Nov in Shanghai
JN = "jiangning-edz"
EVIL = '<script>alert("x")</script> & =HYPERLINK("http://evil")'


# --- the period -----------------------------------------------------------------------------

def test_dates_are_shanghai_days_both_included() -> None:
    p = make_period("2026-10-01", "2026-10-31", NOW)
    assert p.start == datetime(2026, 9, 30, 16, tzinfo=UTC)
    assert p.end == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert p.days == 31 and not p.cut_short
    assert len(p.day_starts()) == 31


def test_a_period_reaching_past_now_ends_now() -> None:
    p = make_period("2026-11-01", "2026-11-30", NOW)
    assert p.end == NOW and p.cut_short
    assert p.day_starts()[-1] == datetime(2026, 11, 26, 16, tzinfo=UTC)  # today, partly


@pytest.mark.parametrize(("first", "last", "words"), [
    ("2026-10-31", "2026-10-01", "before"), ("2025-01-01", "2026-01-02", "at most 366"),
    ("2026/10/01", "2026-10-31", "YYYY-MM-DD"), ("2026-02-30", "2026-03-01", "calendar"),
    ("2026-11-28", "2026-11-29", "not begun")])
def test_bad_periods_are_refused_with_a_reason(first: str, last: str, words: str) -> None:
    with pytest.raises(PeriodError, match=words):
        make_period(first, last, NOW)


def test_long_periods_are_read_in_chunks_of_at_most_31_days() -> None:
    p = make_period("2025-11-27", "2026-11-26", NOW)
    chunks = list(p.chunks())
    assert chunks[0][0] == p.start and chunks[-1][1] == p.end
    assert all(b - a <= timedelta(days=31) for a, b in chunks)
    assert all(a[1] == b[0] for a, b in pairwise(chunks))


# --- when points and units were not online ---------------------------------------------------

def _timelines(before: dict[str, float] | None = None) -> Timelines:
    reg = tiny_registry(units=2, zone=JN)  # points jn-0001-ww1, jn-0002-ww1: 60 s, 180 s
    return Timelines({p.id: p for p in reg.points}, before or {})


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_silence_longer_than_the_threshold_is_offline_from_threshold_to_next_data() -> None:
    t = _timelines({"jn-0001-ww1": -60})
    for ts in [*range(0, 600, 60), *range(1200, 3600, 60)]:
        t.valid("jn-0001-ww1", ts)
    t.end_chunk()
    assert t.segments("jn-0001-ww1", 0, 3600) == [(540 + 180, 1200, "offline")]


def test_maintenance_readings_excuse_the_gap_while_they_are_fresh() -> None:
    t = _timelines({"jn-0001-ww1": -60})
    for ts in [*range(0, 600, 60), *range(1500, 3600, 60)]:
        t.valid("jn-0001-ww1", ts)
    t.invalid([{"_time": _iso(ts), "point": "jn-0001-ww1", "_field": "w01018_flag",
                "_value": "M"} for ts in range(600, 900, 60)])
    t.end_chunk()
    assert t.segments("jn-0001-ww1", 0, 3600) == [
        (720, 1020, "maintenance"), (1020, 1500, "offline")]


def test_the_worst_flag_of_a_reading_decides_its_status() -> None:
    t = _timelines({"jn-0001-ww1": -60})
    t.valid("jn-0001-ww1", 0)
    t.invalid([{"_time": _iso(60), "point": "jn-0001-ww1", "_field": f, "_value": v}
               for f, v in (("w01018_flag", "M"), ("w21003_flag", "D"))])
    t.end_chunk()
    assert t.segments("jn-0001-ww1", 0, 300) == [(180, 240, "fault"), (240, 300, "offline")]


def test_gaps_across_chunks_and_a_point_that_never_reported() -> None:
    t = _timelines()
    t.valid("jn-0001-ww1", 100)
    t.end_chunk()
    t.valid("jn-0001-ww1", 1000)
    t.end_chunk()
    assert t.segments("jn-0001-ww1", 0, 1100) == [(0, 100, "offline"), (280, 1000, "offline")]
    assert t.segments("jn-0002-ww1", 0, 1100) == [(0, 1100, "offline")]


def test_a_unit_is_dark_while_any_point_is_dark_and_excused_when_only_excused() -> None:
    a = [(0, 100, "maintenance")]
    b = [(50, 150, "offline")]
    assert unit_segments([a, b], 0, 200) == [(0, 50, "excused"), (50, 150, "dark")]
    assert unit_segments([], 0, 200) == [(0, 200, "dark")]  # nothing monitors it


def test_shortfall_counts_episodes_and_the_one_still_running() -> None:
    s = shortfall([(0, 10, "offline"), (10, 30, "fault"), (50, 60, "maintenance"),
                   (70, 100, "offline")], end=100)
    assert (s.dark_s, s.excused_s, s.episodes, s.longest, s.dark_since) == (60, 10, 2, 30, 70)


# --- the queries a report adds --------------------------------------------------------------

def test_report_queries_check_and_escape_their_values() -> None:
    t0, t1 = NOW - timedelta(days=1), NOW
    for build in (query.coverage_days_query, query.coverage_at_query,
                  query.alerts_during_query):
        with pytest.raises(query.QueryError):
            build("b", 'x" or true', t0, t1)
    flux = query.coverage_days_query('a"b', JN, t0, t1).flux
    assert 'from(bucket: "a\\"b")' in flux and f'r.zone == "{JN}"' in flux
    assert "offset: 16h" in flux and "held > 300" in flux
    assert "stop: 2026-11-27T10:00:00Z" in query.alerts_during_query("b", JN, t0, t1).flux


def test_alerts_of_a_period_are_those_alive_in_it_as_at_its_end() -> None:
    start, end = NOW - timedelta(days=1), NOW
    rows = [_alert_row("dg-0000000000000001", start - timedelta(hours=5), "resolved",
                       resolved=start - timedelta(hours=1)),
            _alert_row("dg-0000000000000002", start - timedelta(hours=5), "open"),
            _alert_row("dg-0000000000000003", start + timedelta(hours=1), "resolved",
                       resolved=start + timedelta(hours=2))]
    found = query.alerts_during_query("b", JN, start, end).parse(rows)
    assert [a.id for a in found] == ["dg-0000000000000002", "dg-0000000000000003"]


def _alert_row(aid: str, opened: datetime, status: str,
               resolved: datetime | None = None) -> dict[str, Any]:
    row = {"_time": resolved or opened, "id": aid, "kind": "data_gap", "zone": JN,
           "status": status, "severity": "warning", "opened_at": opened.isoformat(),
           "summary_zh": "中断", "summary_en": "gap", "audience": "ecology,zone"}
    if resolved:
        row["resolved_at"] = resolved.isoformat()
    return row


def test_completeness_of_chunks_adds_up() -> None:
    def part(start: datetime, c: Completeness) -> query.ZoneCompleteness:
        return query.ZoneCompleteness(JN, start, start + timedelta(days=1), c,
                                      {"e": c}, {"p": c})
    merged = query.merge_completeness([part(NOW, Completeness(10, 7, 1)),
                                       part(NOW + timedelta(days=1), Completeness(10, 9, 0))])
    assert merged.total == Completeness(20, 16, 1) == merged.points["p"]
    assert merged.end == NOW + timedelta(days=2)


class CsvApi:
    """`query_csv` as influxdb-client has it: invalid flags first, then every reading."""

    def __init__(self, readings: list[tuple[str, float, float]], bad: list[tuple]) -> None:
        self.readings, self.bad = readings, bad

    def query_csv(self, flux: str) -> Any:
        if "_flag$" in flux:
            cols, rows = ["_time", "point", "_field", "_value"], [list(r) for r in self.bad]
        else:
            cols = ["_time", "_value", "point"]
            rows = [[_iso(ts), str(lag), p] for p, ts, lag in self.readings]
        lines = ["#datatype,string,long" + ",string" * len(cols), ",result,table," +
                 ",".join(cols), *[",,0," + ",".join(r) for r in rows]]
        return csv.reader(lines)


def test_scan_period_counts_completeness_and_shows_only_valid_readings() -> None:
    start = NOW - timedelta(minutes=10)
    t0 = start.timestamp()
    readings = [("jn-0001-ww1", t0 + 60 * k, 0.5) for k in range(10)]
    bad = [(_iso(t0 + 120), "jn-0001-ww1", "w01018_flag", "D")]
    t = _timelines()
    seen: list[float] = []
    t.valid = lambda point, ts: seen.append(ts)  # type: ignore[method-assign]
    result = query.scan_period(CsvApi(readings, bad), "b", tiny_registry(units=2, zone=JN), JN,
                               start, NOW, t)
    assert result.points["jn-0001-ww1"] == Completeness(10, 9, 0)
    assert t0 + 120 not in seen and len(seen) == 9
    assert t.flags["jn-0001-ww1"] == {t0 + 120: {"w01018": "D"}}


# --- rendering ------------------------------------------------------------------------------

def test_percentages_never_round_up_to_the_target() -> None:
    assert pct(0.99996) == "99.99 %" and pct(1.0) == "100.00 %" and pct(None) == "—"
    assert (hm(0), hm(20), hm(3600 * 76 + 300)) == ("0:00", "<0:01", "76:05")


@pytest.mark.parametrize(("figure", "verdict"), [
    (Figure("monitoring_rate", 4, 1.0, 1.0, 1.0, 86400), Verdict.MET),
    (Figure("monitoring_rate", 4, 0.9999, 0.75, 1.0, 86400), Verdict.NOT_MET),
    (Figure("monitoring_rate", 4, None, None, None, 0), Verdict.NO_DATA),
    (Figure("platform_rate", 0, None, None, None, 0), Verdict.NOT_APPLICABLE)])
def test_verdicts(figure: Figure, verdict: Verdict) -> None:
    assert figure.verdict is verdict


def report_data() -> ReportData:
    period = make_period("2026-11-01", "2026-11-03", NOW)
    days = tuple(Day(date(2026, 11, d), {"monitoring_rate": r, "assessment_rate": 1.0,
                                         "platform_rate": 1.0},
                     {"monitoring_rate": r, "assessment_rate": 1.0, "platform_rate": 1.0})
                 for d, r in ((1, 1.0), (2, 0.985), (3, None)))
    dark = shortfall([(period.start.timestamp() + 3600, period.start.timestamp() + 10800,
                       "offline")], period.end.timestamp())
    clean = shortfall([], period.end.timestamp())
    units = (UnitRow("jn-0001", EVIL, ("jn-0001-ww1",), dark, Completeness(4320, 4100, 100)),
             UnitRow("jn-0002", "某某化工2有限公司", ("jn-0002-ww1",), clean,
                     Completeness(4320, 4320, 0)))
    points = (PointRow("jn-0001-ww1", "jn-0001", "wastewater", 60, True, dark,
                       Completeness(4320, 4100, 100)),)
    alert = Alert(id="dg-00000000000000aa", kind="data_gap", status="resolved",
                  severity="critical", zone=JN, enterprise="jn-0001", point="jn-0001-ww1",
                  opened_at=period.start + timedelta(hours=1), updated_at=period.end,
                  resolved_at=period.start + timedelta(hours=3), acknowledged_by="值班员<张三>",
                  acknowledged_at=period.start + timedelta(hours=1, minutes=20),
                  summary={"zh": "数据中断 " + EVIL, "en": "data gap"}, audience=["zone"])
    return ReportData(
        zone=JN, zone_name="江宁经开区", zone_name_en="Jiangning EDZ", period=period,
        generated_at=NOW, registry_digest="ab" * 32,
        figures=(Figure("monitoring_rate", 2, 0.995, 0.5, 1.0, period.seconds),
                 Figure("assessment_rate", 2, 1.0, 1.0, 1.0, period.seconds),
                 Figure("platform_rate", 0, None, None, None, 0)),
        recomputed_rate=0.9861, days=days, completeness=Completeness(8640, 8420, 100),
        units=units, points=points, unassessed=(), platforms_offline=("jn-safety",),
        alerts=(alert,), names={"jn-0001": EVIL, "jn-safety": "江宁安全平台"})


def test_html_shows_figures_verdicts_and_the_units_that_fell_short() -> None:
    page = render_html(report_data())
    assert "江宁经开区" in page and "2026-11-01 至 2026-11-03" in page
    assert "99.50 %" in page and "50.00 %" in page and "98.61 %" in page
    assert page.count('class="notmet"') == 1 and page.count('class="met"') == 1
    assert "不适用" in page and "江宁安全平台" in page
    assert "2:00" in page  # two hours dark
    assert "值班员&lt;张三&gt;" in page and "0:20" in page  # who acknowledged, how soon


def test_html_escapes_names_and_needs_nothing_outside_itself() -> None:
    page = render_html(report_data())
    assert "<script" not in page and "&lt;script&gt;" in page
    assert not re.search(r"<link|src=|@import|url\(|href=", page)
    assert "@page" in page and "size: A4" in page


def test_every_svg_is_well_formed_xml() -> None:
    charts = re.findall(r"<svg.*?</svg>", render_html(report_data()), re.S)
    assert len(charts) == 2  # the daily line chart, the bars per unit
    for chart in charts:
        ET.fromstring(chart)


def test_line_chart_breaks_where_a_day_has_no_figure() -> None:
    days = [date(2026, 11, d) for d in range(1, 6)]
    chart = svg.line_chart(days, [svg.Series("率 <x>", "#000", [1.0, 0.9, None, 0.95, None])],
                           "t")
    root = ET.fromstring(chart)
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f"{ns}polyline")) == 1 and len(root.findall(f"{ns}circle")) == 1
    assert "率 &lt;x&gt;" in chart


def test_bar_chart_escapes_labels() -> None:
    chart = svg.bar_chart([(EVIL, [2.0, 1.0])], [("a", "#f00"), ("b", "#0f0")], "t")
    ET.fromstring(chart)
    assert "<script" not in chart


def test_csv_files_have_a_bom_bilingual_headers_and_no_formulas(tmp_path: Path) -> None:
    paths = write_csvs(report_data(), tmp_path, "r")
    assert [p.name for p in paths] == ["r_figures.csv", "r_daily.csv", "r_units.csv",
                                       "r_points.csv", "r_alerts.csv"]
    assert all(p.read_bytes().startswith(b"\xef\xbb\xbf") for p in paths)
    rows = {p.stem[2:]: list(csv.reader(p.open(encoding="utf-8-sig"))) for p in paths}
    assert rows["figures"][0][:4] == ["指标 measure", "指标名称 name", "登记数 registered",
                                      "期间平均% average_pct"]
    assert rows["figures"][1][3] == "99.5000" and rows["figures"][1][7] == "未达标"
    unit = dict(zip(rows["units"][0], rows["units"][1], strict=True))
    assert unit["中断小时 dark_h"] == "2.000" and unit["补发 filled_late"] == "100"
    assert unit["未达标 fell_short"] == "是"
    assert rows["daily"][3][1] == ""  # no figure that day: empty, not 0
    alert = dict(zip(rows["alerts"][0], rows["alerts"][1], strict=True))
    assert alert["确认人 acknowledged_by"] == "值班员<张三>"
    assert alert["关闭时间 resolved_at"] == "2026-11-01 03:00:00"


def test_csv_cells_cannot_run_as_formulas(tmp_path: Path) -> None:
    write(tmp_path / "f.csv", [["=1+1", "-x", "@a", "ok =1", -1.5]])
    assert (tmp_path / "f.csv").read_text(encoding="utf-8-sig").strip() == \
        "'=1+1,'-x,'@a,ok =1,-1.5"


# --- the command's checks, before any query --------------------------------------------------

def _args(tmp_path: Path, **over: Any) -> argparse.Namespace:
    reg = tmp_path / "registry.yaml"
    reg.write_text(yaml.safe_dump(tiny_registry(zone=JN).model_dump(mode="json"),
                                  allow_unicode=True), encoding="utf-8")
    base = {"zone": JN, "date_from": "2026-11-01", "date_to": "2026-11-02", "format": "both",
            "out": tmp_path / "out", "registry": reg}
    return argparse.Namespace(**{**base, **over})


def test_unknown_zones_are_named_with_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"unknown zone 'nowhere'.*jiangning-edz, pukou-edz"):
        check_request(_args(tmp_path, zone="nowhere"), NOW)
    assert check_request(_args(tmp_path, format="csv"), NOW).formats == ("csv",)


@pytest.mark.parametrize(("over", "words"), [
    ({"date_from": "1 Nov"}, "--from must be a date"), ({"zone": "x"}, "unknown zone"),
    ({"registry": Path("/nonexistent.yaml")}, "is not valid")])
def test_run_report_exits_1_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture,
                                           over: dict, words: str) -> None:
    args = _args(tmp_path)
    assert run_report(argparse.Namespace(**{**vars(args), **over})) == 1
    assert words in capsys.readouterr().err
