import asyncio
import csv
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from schemas import AlertStatus
from tests.factories import tiny_registry
from zonewatch import query
from zonewatch.query import QueryError, flux_string

T0 = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
JN = "jiangning-edz"
EVIL = 'jiangning-edz" or r.zone != "x'


class FakeApi:
    """Sync or async, like influxdb-client's QueryApi / QueryApiAsync: records → tables."""

    def __init__(self, rows: list[dict[str, Any]], is_async: bool = False) -> None:
        self.rows, self.is_async = rows, is_async
        self.flux: list[str] = []

    def _tables(self) -> list[Any]:
        return [SimpleNamespace(records=[SimpleNamespace(values=r) for r in self.rows])]

    def query(self, flux: str) -> Any:
        self.flux.append(flux)
        if not self.is_async:
            return self._tables()

        async def later() -> Any:
            return self._tables()
        return later()

    def query_csv(self, flux: str) -> Any:
        self.flux.append(flux)
        return csv.reader(flux_csv(flux, self.rows).splitlines())


class AsyncFakeApi(FakeApi):
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        super().__init__(rows, is_async=True)

    async def query_raw(self, flux: str) -> str:
        self.flux.append(flux)
        return flux_csv(flux, self.rows)


def flux_csv(flux: str, readings: list[dict[str, Any]]) -> str:
    """What InfluxDB answers to the completeness queries, as annotated CSV, two tables each."""
    def iso(t: datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    if "_flag$" in flux:
        cols = ["_time", "point"]
        rows = [[iso(r["_time"]), r["point"]] for r in readings
                if any(v not in "NT" for k, v in r.items() if k.endswith("_flag"))]
    else:
        cols = ["_time", "_value", "point"]
        rows = [[iso(r["_time"]), str(r[lag]), r["point"]] for r in readings
                for lag in ("arrival_lag_s", "late_lag_s") if lag in r]
    out = []
    for table, part in enumerate((rows[::2], rows[1::2])):
        out += ["#datatype,string,long," + ",".join("string" for _ in cols),
                "#group,false,false," + ",".join("false" for _ in cols), "#default,_result,,",
                ",result,table," + ",".join(cols)]
        out += [f",,{table}," + ",".join(r) for r in part] + [""]
    return "\n".join(out)


# --- building Flux: every outside value checked and escaped ---------------------------------

@pytest.mark.parametrize(("value", "literal"), [
    ("plain", '"plain"'), ('a"b', '"a\\"b"'), ("a\\b", '"a\\\\b"'), ("${x}", '"\\${x}"'),
    ('\\"', '"\\\\\\""')])
def test_flux_strings_escape_quotes_backslashes_and_interpolation(value: str,
                                                                   literal: str) -> None:
    assert flux_string(value) == literal


def test_control_characters_never_reach_a_query() -> None:
    with pytest.raises(QueryError):
        flux_string("a\nb")


@pytest.mark.parametrize("bad", [EVIL, "", "A-upper", "a b", "a/b", "x" * 64, "é"])
def test_zone_ids_are_validated_before_any_query_is_built(bad: str) -> None:
    with pytest.raises(QueryError):
        query.latest_coverage_query("b", [bad])
    with pytest.raises(QueryError):
        query.alerts_query("b", zone=bad)
    with pytest.raises(QueryError):
        query.coverage_trend_query("b", bad, T0, 60)


def test_filters_name_exactly_the_checked_values() -> None:
    flux = query.latest_coverage_query("my-bucket", [JN, "pukou-edz"]).flux
    assert 'from(bucket: "my-bucket")' in flux
    assert f'(r.zone == "{JN}" or r.zone == "pukou-edz")' in flux
    assert "range(start: -900s)" in flux
    assert "false" in query.latest_coverage_query("b", []).flux  # nobody: nothing, not all


def test_alert_filters_are_checked() -> None:
    flux = query.alerts_query("b", status="open", zone=JN, kind="data_gap").flux
    assert f'r.zone == "{JN}"' in flux and 'r.kind == "data_gap"' in flux
    for kwargs in ({"status": "closed"}, {"kind": 'x" or true'}):
        with pytest.raises(QueryError):
            query.alerts_query("b", **kwargs)
    with pytest.raises(QueryError):
        query.alert_history_query("b", 'dg-0123" or true')
    assert 'r.id == "dg-0123456789abcdef"' in query.alert_history_query(
        "b", "dg-0123456789abcdef").flux


def test_alert_state_filters_run_in_influxdb_on_the_latest_state() -> None:
    """Status and severity are fields: filtered after last() and the pivot, on each alert's
    newest row, so InfluxDB returns only matching alerts and nothing caps them before."""
    flux = query.alerts_query("b", status={"open", "acknowledged"}, kind=["data_gap", "exceedance"],
                              severity="critical").flux
    pivot = flux.index("pivot(")
    assert flux.index(
        'exists r.status and (r.status == "acknowledged" or r.status == "open")') > pivot
    assert flux.index('exists r.severity and (r.severity == "critical")') > pivot
    assert '(r.kind == "data_gap" or r.kind == "exceedance")' in flux[:pivot]
    assert "r.status" not in query.alerts_query("b").flux
    for kwargs in ({"status": ["open", "closed"]}, {"severity": "urgent"}):
        with pytest.raises(QueryError):
            query.alerts_query("b", **kwargs)


def test_bucket_names_are_escaped_too() -> None:
    assert 'from(bucket: "a\\"b")' in query.alerts_query('a"b').flux


def test_times_must_be_aware_and_durations_positive() -> None:
    assert query.flux_time(datetime(2026, 11, 27, 8, tzinfo=UTC) + timedelta(microseconds=5)) \
        == "2026-11-27T08:00:00Z"
    with pytest.raises(QueryError):
        query.flux_time(datetime(2026, 11, 27))
    with pytest.raises(QueryError):
        query.flux_duration(0)
    assert query.flux_duration(timedelta(minutes=2)) == "120s"


def test_completeness_periods_are_bounded_and_zones_registered() -> None:
    reg = tiny_registry(zone=JN)
    readings, invalid = query.completeness_fluxes("b", reg, JN, T0, T0 + timedelta(days=1))
    for flux in (readings, invalid):
        assert "range(start: 2026-11-27T00:00:00Z, stop: 2026-11-28T00:00:00Z)" in flux
        assert f'r.zone == "{JN}"' in flux and "pivot" not in flux
    with pytest.raises(QueryError, match="unknown zone"):
        query.completeness_fluxes("b", reg, "gaochun-edz", T0, T0 + timedelta(hours=1))
    with pytest.raises(QueryError, match="at most"):
        query.completeness_fluxes("b", reg, JN, T0, T0 + timedelta(days=32))
    with pytest.raises(QueryError):
        query.completeness_fluxes("b", reg, JN, T0, T0)


# --- parsing rows ---------------------------------------------------------------------------

def coverage_row(zone: str, at: datetime, rate: float | None, dark: Any = None) -> dict:
    row = {"zone": zone, "_time": at, "units_total": 4, "units_covered": 3, "units_dark": 1,
           "units_excused": 0, "assessment_total": 4, "assessment_ok": 4,
           "platforms_total": 1, "platforms_ok": 1, "assessment_rate": 1.0,
           "platform_rate": 1.0, "monitoring_rate": rate}
    if dark is not None:
        row["dark_json"] = dark if isinstance(dark, str) else json.dumps(dark)
    return row


def test_latest_coverage_keeps_the_newest_row_per_zone_with_its_gaps() -> None:
    dark = {"dark": [{"enterprise": "jn-0002", "points": {"jn-0002-ww1": "offline"}}],
            "excused": [], "unassessed": ["jn-0003"], "platforms_offline": []}
    api = FakeApi([coverage_row(JN, T0 + timedelta(minutes=1), 0.75, dark),
                   coverage_row(JN, T0, 1.0, {}),
                   coverage_row("pukou-edz", T0, None, "{not json")])
    figs = query.latest_coverage(api, "b")
    assert figs[JN].rates["monitoring_rate"] == 0.75
    assert figs[JN].gaps["dark"][0]["points"] == {"jn-0002-ww1": "offline"}
    assert figs[JN].gaps["unassessed"] == ["jn-0003"]
    assert figs["pukou-edz"].rates["monitoring_rate"] is None
    assert figs["pukou-edz"].gaps == {k: [] for k in query.GAP_KEYS}  # bad JSON: no gaps
    assert figs[JN].as_json()["at"] == (T0 + timedelta(minutes=1)).isoformat()


def test_the_same_functions_run_on_an_async_query_api() -> None:
    api = FakeApi([coverage_row(JN, T0, 0.5)], is_async=True)
    figs = asyncio.run(query.latest_coverage(api, "b"))
    assert figs[JN].rates["monitoring_rate"] == 0.5


def test_trend_rows_group_by_zone_in_time_order() -> None:
    rows = [{"zone": JN, "_time": T0 + timedelta(hours=1), "monitoring_rate": 0.5},
            {"zone": JN, "_time": T0, "monitoring_rate": 1.0, "platform_rate": 1}]
    trend = query.coverage_trend(FakeApi(rows), "b", JN, T0, 3600)
    assert [p["monitoring_rate"] for p in trend[JN]] == [1.0, 0.5]
    assert trend[JN][0]["assessment_rate"] is None and trend[JN][0]["platform_rate"] == 1.0


def alert_row(at: datetime, status: str, aid: str = "dg-0123456789abcdef", **more: Any) -> dict:
    return {"_time": at, "id": aid, "zone": JN, "kind": "data_gap", "status": status,
            "severity": "warning", "summary_zh": "数据中断", "summary_en": "gap",
            "audience": "ecology,zone", "opened_at": T0.isoformat(), "subject": "jn-0001-ww1",
            "point": "jn-0001-ww1", **more}


def test_alerts_take_each_ids_latest_state_and_filter_on_it() -> None:
    later = T0 + timedelta(minutes=5)
    rows = [alert_row(T0, "open"),
            alert_row(later, "acknowledged", acknowledged_by="王工",
                      acknowledged_at=later.isoformat()),
            {**alert_row(T0, "open", "dg-1111111111111111"), "acknowledged_by": None},
            {"_time": T0, "id": "dg-2222222222222222", "zone": JN}]  # unreadable: skipped
    found = query.alerts(FakeApi(rows), "b")
    assert [a.id for a in found] == ["dg-0123456789abcdef", "dg-1111111111111111"]
    assert found[0].status is AlertStatus.ACKNOWLEDGED and found[0].acknowledged_by == "王工"
    assert found[0].updated_at == later and found[0].audience == ["ecology", "zone"]
    assert [a.id for a in query.alerts(FakeApi(rows), "b", status="open")] == [
        "dg-1111111111111111"]  # the first one was open, but is acknowledged now
    assert len(query.alerts(FakeApi(rows), "b", limit=1)) == 1
    assert len(query.alerts(FakeApi(rows), "b", limit=None)) == 2
    assert query.alerts(FakeApi(rows), "b", status=["open", "resolved"], severity="critical") == []


def test_alert_ids_read_only_the_fields_filtered_on() -> None:
    flux = query.alert_ids_query("b", status="open", zone=JN).flux
    assert '(r._field == "status")' in flux and "r.severity" not in flux
    assert flux.index('r.status == "open"') > flux.index("pivot(")
    flux = query.alert_ids_query("b", severity=["critical"]).flux
    assert '(r._field == "status" or r._field == "severity")' in flux
    assert 'r.id == "dg-0123456789abcdef"' in query.alerts_query(
        "b", ids=["dg-0123456789abcdef"]).flux
    with pytest.raises(QueryError):
        query.alerts_query("b", ids=['dg-0123" or true'])


def test_an_alert_page_counts_every_match_and_brings_the_newest_whole() -> None:
    later = T0 + timedelta(minutes=5)
    rows = [alert_row(T0, "open"),  # open for long: still in the list and the total
            alert_row(later, "open", "dg-1111111111111111"),
            alert_row(later + timedelta(minutes=1), "resolved", "dg-2222222222222222",
                      resolved_at=later.isoformat())]
    page = asyncio.run(query.alert_page(FakeApi(rows, is_async=True), "b", status="open",
                                        limit=1))
    assert page.total == 2 and [a.id for a in page.alerts] == ["dg-1111111111111111"]
    page = asyncio.run(query.alert_page(FakeApi(rows), "b", limit=5))
    assert page.total == 3 and page.alerts[0].status is AlertStatus.RESOLVED
    api = FakeApi(rows)
    assert asyncio.run(query.alert_page(api, "b", severity="critical")).total == 0
    assert len(api.flux) == 1, "no page to fetch: one query"


def test_alert_history_is_every_state_oldest_first() -> None:
    rows = [alert_row(T0 + timedelta(minutes=9), "resolved",
                      resolved_at=(T0 + timedelta(minutes=9)).isoformat()),
            alert_row(T0, "open")]
    history = query.alert_history(FakeApi(rows), "b", "dg-0123456789abcdef")
    assert [a.status.value for a in history] == ["open", "resolved"]


def test_last_valid_is_the_oldest_factors_last_valid_flag() -> None:
    rows = [{"point": "p1", "_field": "w01018_flag", "_time": T0 + timedelta(minutes=5)},
            {"point": "p1", "_field": "w21003_flag", "_time": T0},
            {"point": "p2", "_field": "w01018_flag", "_time": T0}]
    api = FakeApi(rows)
    assert query.execute(api, query.last_valid_query("b", JN, ["p1", "p2"])) == {
        "p1": T0, "p2": T0}
    assert '(r.point == "p1" or r.point == "p2")' in api.flux[0]


class ByMeasurement(FakeApi):
    """Answers each query with the rows of the measurement it asks for."""

    def __init__(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__([], is_async=True)
        self.by = rows

    def query(self, flux: str) -> Any:
        self.rows = next(r for m, r in self.by.items() if f'_measurement == "{m}"' in flux)
        return super().query(flux)


def test_dark_since_reads_the_readings_then_the_status_history_for_the_rest() -> None:
    old = T0 - timedelta(days=90)  # beyond the readings' 30 days
    api = ByMeasurement({
        "reading": [{"point": "p2", "_field": "w01018_flag", "_time": T0}],
        "point_status": [{"point": "p1", "_value": old.isoformat()},
                         {"point": "p3", "_value": None}]})
    since = asyncio.run(query.dark_since(api, "b", JN, ["p1", "p2", "p3"]))
    assert since == {"p1": old, "p2": T0}  # p2: what the readings say, resends included
    assert '(r.point == "p1" or r.point == "p3")' in api.flux[1]  # only those left
    assert "range(start: -34560000s)" in api.flux[1]  # a year and more of status history


# --- completeness from reading rows --------------------------------------------------------

def reading(point: str, minute: float, lag_s: float = 2.0, **flags: str) -> dict:
    flags = flags or {"w01018": "N"}
    return {"point": point, "_time": T0 + timedelta(minutes=minute), "arrival_lag_s": lag_s,
            **{f"{f}_flag": v for f, v in flags.items()}}


def completeness_rows() -> list[dict]:
    p1 = "jn-0001-ww1"
    return [reading(p1, m) for m in range(0, 10) if m not in (3, 4, 7)] + [
        reading(p1, 3, w01018="N", w21003="D"),   # one factor in fault: not valid
        reading(p1, 4, lag_s=3600),                # backfilled an hour later
        reading(p1, 5.5),                          # a second reading in interval 5
        reading(p1, 6, w01018="T"),                # T is valid
        reading("jn-0002-ww1", 0, w01018="M"),     # maintenance: not valid
        reading("pk-unknown", 0)]                  # not in this zone: ignored


@pytest.mark.parametrize("is_async", [False, True])
def test_completeness_counts_intervals_with_valid_data(is_async: bool) -> None:
    reg = tiny_registry(zone=JN, interval_s=60)
    api = AsyncFakeApi(completeness_rows()) if is_async else FakeApi(completeness_rows())
    result = query.completeness(api, "b", reg, JN, T0, T0 + timedelta(minutes=10))
    done = asyncio.run(result) if is_async else result
    p1 = done.points["jn-0001-ww1"]
    assert (p1.expected, p1.on_time, p1.filled_late, p1.missing) == (10, 7, 1, 2)
    assert done.points["jn-0002-ww1"].missing == 10
    assert done.units["jn-0001"] == p1
    assert done.total.expected == 40 and done.total.on_time == 7
    out = done.as_json()
    assert out["points"]["jn-0001-ww1"]["rate"] == pytest.approx(0.8)
    assert out["rate"] == pytest.approx(8 / 40)


def test_a_resend_of_a_reading_received_on_time_leaves_it_on_time() -> None:
    """The device resent minute 4 an hour later (HJ 212 补发 of data already delivered): the
    row holds its on-time lag and, beside it, the late one (streams.storage.lag_field)."""
    rows = [reading("jn-0001-ww1", m) for m in range(10)]
    rows[4] = {**rows[4], "late_lag_s": 3600.0}
    rows.append({**reading("jn-0001-ww1", 5, lag_s=0), "late_lag_s": 7200.0})
    del rows[-1]["arrival_lag_s"]  # minute 5 came late only: late (its first arrival was)
    done = query.completeness(FakeApi(rows), "b", tiny_registry(zone=JN), JN, T0,
                              T0 + timedelta(minutes=10))
    p1 = done.points["jn-0001-ww1"]
    assert (p1.on_time, p1.filled_late, p1.missing) == (10, 0, 0)
    late_only = [reading("jn-0001-ww1", m) for m in range(10) if m != 5] + [rows[-1]]
    done = query.completeness(FakeApi(late_only), "b", tiny_registry(zone=JN), JN, T0,
                              T0 + timedelta(minutes=10))
    assert (done.points["jn-0001-ww1"].on_time, done.points["jn-0001-ww1"].filled_late) == (9, 1)


def test_zone_figure_counts_the_monitored_points_not_a_detectors_short_interval() -> None:
    """A gas detector every 10 s, silent, would outweigh four wastewater outlets 6 to 1; the
    zone's and the units' figures are the online-monitoring target's: required environment
    points of key polluter units."""
    data = tiny_registry(zone=JN, interval_s=60).model_dump(mode="json")
    data["points"] += [
        {"id": "jn-0001-gas1", "enterprise": "jn-0001", "domain": "safety",
         "kind": "gas_detector", "interval_s": 10, "factors": ["a99001"]},
        {"id": "jn-0001-ww9", "enterprise": "jn-0001", "domain": "environment",
         "kind": "wastewater", "interval_s": 60, "factors": ["w01018"], "required": False}]
    reg = type(tiny_registry())(**data)
    rows = [{"point": f"jn-{i:04d}-ww1", "_time": T0 + timedelta(minutes=m),
             "arrival_lag_s": 2.0} for i in range(1, 5) for m in range(10)]
    done = query.completeness(FakeApi(rows), "b", reg, JN, T0, T0 + timedelta(minutes=10))
    assert done.points["jn-0001-gas1"].missing == 60 and done.points["jn-0001-ww9"].missing == 10
    assert (done.total.expected, done.total.missing) == (40, 0)
    assert (done.units["jn-0001"].expected, done.units["jn-0001"].missing) == (10, 0)
    assert set(done.units) == {"jn-0001", "jn-0002", "jn-0003", "jn-0004"}


def test_a_zone_without_points_has_no_rate_rather_than_a_division_error() -> None:
    done = query.completeness(FakeApi([]), "b", tiny_registry(zone=JN), "pukou-edz",
                              T0, T0 + timedelta(hours=1))
    assert done.as_json()["rate"] is None and done.total.expected == 0
