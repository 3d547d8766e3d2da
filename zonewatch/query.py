"""The InfluxDB read side: coverage, trends, alerts and completeness, for the API and reports.

Each question is a `Query`: a Flux string built from checked values (never raw user input) and a
pure `parse` of the result rows, so both halves are tested without InfluxDB. The public
functions run it on whatever query API they are given: a sync `QueryApi` returns the answer, an
async `QueryApiAsync` (the worker's) returns an awaitable of it.
"""

from __future__ import annotations

import csv
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from pydantic import ValidationError

from schemas import Alert, AlertStatus, Point, Registry, Severity
from streams.coverage import Completeness, RegistryView, completeness_by_arrival
from streams.storage import LATE_LAG, ON_TIME_LAG

T = TypeVar("T")
Row = Mapping[str, Any]

ID_RE = re.compile(r"^[a-z0-9_][a-z0-9._-]{0,62}$")
"""Registry ids (plus `_system`, the zone of zonewatch's own alerts)."""
ALERT_ID_RE = re.compile(r"^[a-z]{2}-[0-9a-f]{16}$")
KINDS_RE = re.compile(r"^[a-z_]{1,40}$")
VALID_FLAGS = ("N", "T")


class QueryError(ValueError):
    """A value that may not go into a query: the caller's input is wrong (HTTP 400)."""


def flux_string(value: str) -> str:
    """A Flux string literal holding `value` exactly: quotes, backslashes and `${` escaped."""
    if any(ord(c) < 0x20 for c in value):
        raise QueryError(f"control character in {value!r}")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${")
    return f'"{escaped}"'


def checked_id(value: str, what: str = "id", pattern: re.Pattern[str] = ID_RE) -> str:
    """`value` if it looks like an id of its kind; ids still go through `flux_string`."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise QueryError(f"not a valid {what}: {value!r}")
    return value


def flux_time(t: datetime) -> str:
    """An RFC 3339 UTC time literal; naive datetimes are refused, not guessed."""
    if t.tzinfo is None:
        raise QueryError("times must carry a timezone")
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def flux_duration(d: timedelta | float) -> str:
    seconds = int(d.total_seconds() if isinstance(d, timedelta) else d)
    if seconds <= 0:
        raise QueryError(f"duration must be positive, got {d!r}")
    return f"{seconds}s"


def any_of(column: str, values: Iterable[str]) -> str:
    """`(r.col == "a" or r.col == "b")` from checked values; `false` when there are none."""
    terms = [f"r.{column} == {flux_string(v)}" for v in values]
    return "(" + " or ".join(terms) + ")" if terms else "false"


@dataclass(frozen=True, slots=True)
class Query(Generic[T]):
    """One Flux query and the pure function turning its rows into an answer."""

    flux: str
    parse: Callable[[Iterable[Row]], T]


def execute(query_api: Any, q: Query[T]) -> T | Awaitable[T]:
    """Run `q` on a sync query API (returns T) or an async one (returns an awaitable of T)."""
    result = query_api.query(q.flux)
    if inspect.isawaitable(result):
        async def finish() -> T:
            return q.parse(_rows(await result))
        return finish()
    return q.parse(_rows(result))


def _rows(tables: Iterable[Any]) -> list[Row]:
    return [r.values for t in tables for r in t.records]


def _source(bucket: str, start: str, stop: str | None = None) -> str:
    stop_arg = f", stop: {stop}" if stop else ""
    return f"from(bucket: {flux_string(bucket)}) |> range(start: {start}{stop_arg})"


PIVOT = '|> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")'


def latest_coverage_query(bucket: str, zones: Iterable[str] | None = None,
                          max_age_s: float = 900) -> Query[dict[str, ZoneFigures]]:
    zone_filter = "" if zones is None else \
        f"|> filter(fn: (r) => {any_of('zone', [checked_id(z, 'zone') for z in zones])})"
    flux = (f"{_source(bucket, '-' + flux_duration(max_age_s))}\n"
            f'|> filter(fn: (r) => r._measurement == "coverage") {zone_filter}\n'
            f"{PIVOT}\n"
            f'|> group(columns: ["zone"]) |> sort(columns: ["_time"]) |> tail(n: 1)')
    return Query(flux, figures_of)


def latest_coverage(query_api: Any, bucket: str, zones: Iterable[str] | None = None,
                    max_age_s: float = 900) -> Any:
    """zone → its newest figures within `max_age_s`; a zone with none is left out."""
    return execute(query_api, latest_coverage_query(bucket, zones, max_age_s))


RATE_FIELDS = ("monitoring_rate", "assessment_rate", "platform_rate")


def coverage_trend_query(bucket: str, zone: str | None, start: datetime,
                         every: timedelta | float) -> Query[dict[str, list[dict[str, Any]]]]:
    zone_term = "" if zone is None else f" and r.zone == {flux_string(checked_id(zone, 'zone'))}"
    flux = (f"{_source(bucket, flux_time(start))}\n"
            f'|> filter(fn: (r) => r._measurement == "coverage"{zone_term} and '
            f"{any_of('_field', RATE_FIELDS)})\n"
            f"|> aggregateWindow(every: {flux_duration(every)}, fn: mean, createEmpty: false)\n"
            f"{PIVOT}")
    return Query(flux, trend_of)


def coverage_trend(query_api: Any, bucket: str, zone: str | None, start: datetime,
                   every: timedelta | float) -> Any:
    """zone → [{at, monitoring_rate, assessment_rate, platform_rate}], window means."""
    return execute(query_api, coverage_trend_query(bucket, zone, start, every))


Filter = str | Iterable[str] | None
"""A filter on one column: one value, several, or None for any."""


def _each(values: str | Iterable[str]) -> list[str]:
    return [values] if isinstance(values, str) else sorted(values)


def _one_of(column: str, values: Filter, allowed: type[StrEnum]) -> str | None:
    """`(r.col == …)` for a filter on a field, each value checked; None when not filtered."""
    if values is None:
        return None
    bad = sorted(set(_each(values)) - {m.value for m in allowed})
    if bad:
        raise QueryError(f"not a valid {column}: {bad[0]!r}")
    return f"exists r.{column} and {any_of(column, _each(values))}"


def _alert_rows(bucket: str, zone: str | None, kind: Filter, lookback_s: float,
                more: Iterable[str] = ()) -> str:
    """Flux for the pivoted latest row of each alert (of `zone`, of `kind`, and `more`)."""
    terms = ['r._measurement == "alert"', *more]
    if zone is not None:
        terms.append(f"r.zone == {flux_string(checked_id(zone, 'zone'))}")
    if kind is not None:
        terms.append(any_of("kind", [checked_id(k, "kind", KINDS_RE) for k in _each(kind)]))
    return (f"{_source(bucket, '-' + flux_duration(lookback_s))}\n"
            f"|> filter(fn: (r) => {' and '.join(terms)})\n|> last()\n{PIVOT}")


def _latest_state(status: Filter, severity: Filter) -> str:
    """Filters on each alert's latest row. Every state of an alert is written whole, so after
    last() and the pivot that row holds its latest status and severity."""
    terms = [t for t in (_one_of("status", status, AlertStatus),
                         _one_of("severity", severity, Severity)) if t]
    return "".join(f"\n|> filter(fn: (r) => {t})" for t in terms)


def _wanted(status: Filter, kind: Filter, severity: Filter) -> Callable[[Row], bool]:
    """The same filters on a row or an alert in Python, for what changed between queries."""
    wanted = {k: set(_each(v)) for k, v in (("status", status), ("kind", kind),
                                             ("severity", severity)) if v is not None}

    def passes(item: Any) -> bool:
        get = item.get if isinstance(item, Mapping) else lambda k: getattr(item, k).value
        return all(get(k) in values for k, values in wanted.items())
    return passes


def alert_ids_query(bucket: str, status: Filter = None, zone: str | None = None,
                    kind: Filter = None, severity: Filter = None,
                    lookback_s: float = 400 * 86400) -> Query[list[str]]:
    """The ids of the alerts whose latest state passes the filters, newest change first. It
    reads only the fields filtered on: every field of every alert is a series of its own, and
    a list scans all alerts of the period."""
    fields = ["status", *(["severity"] if severity is not None else [])]
    flux = (_alert_rows(bucket, zone, kind, lookback_s, [any_of("_field", fields)])
            + _latest_state(status, severity)
            + '\n|> keep(columns: ["_time", "id", "kind", "status", "severity"])')
    passes = _wanted(status, kind, severity)

    def parse(rows: Iterable[Row]) -> list[str]:
        newest: dict[str, datetime] = {}
        for r in rows:
            if passes(r) and (r["id"] not in newest or r["_time"] > newest[r["id"]]):
                newest[r["id"]] = r["_time"]
        return sorted(newest, key=lambda i: newest[i], reverse=True)
    return Query(flux, parse)


def alerts_query(bucket: str, status: Filter = None, zone: str | None = None,
                 kind: Filter = None, limit: int | None = 500,
                 lookback_s: float = 400 * 86400, severity: Filter = None,
                 ids: Iterable[str] | None = None) -> Query[list[Alert]]:
    """Each alert's latest state that passes every filter (and is one of `ids`, if given),
    newest change first, at most `limit` (None: all). The filters run in InfluxDB, before
    the limit: an alert still open is found however many newer ones there are."""
    only = None if ids is None else {checked_id(i, "alert id", ALERT_ID_RE) for i in ids}
    more = [] if only is None else [any_of("id", sorted(only))]
    flux = _alert_rows(bucket, zone, kind, lookback_s, more) + _latest_state(status, severity)
    passes = _wanted(status, kind, severity)

    def parse(rows: Iterable[Row]) -> list[Alert]:
        found = [a for a in merge_alert_rows(rows)
                 if passes(a) and (only is None or a.id in only)]
        found.sort(key=lambda a: a.updated_at, reverse=True)
        return found if limit is None else found[:max(0, limit)]
    return Query(flux, parse)


def alerts(query_api: Any, bucket: str, status: Filter = None, zone: str | None = None,
           kind: Filter = None, limit: int | None = 500, severity: Filter = None) -> Any:
    """Each alert's latest state, newest change first; `status`, `kind` and `severity` (one
    value or several each) filter on that latest state."""
    return execute(query_api, alerts_query(bucket, status, zone, kind, limit,
                                           severity=severity))


@dataclass(frozen=True, slots=True)
class AlertPage:
    """The newest alerts that pass a list's filters, and how many pass in all."""

    alerts: list[Alert]
    total: int


async def alert_page(query_api: Any, bucket: str, status: Filter = None,
                     zone: str | None = None, kind: Filter = None, severity: Filter = None,
                     limit: int = 200) -> AlertPage:
    """The API's alert list, in two queries that stay quick with many alerts: the ids that
    pass the filters (a field or two of each alert), then every field of the page's only."""
    ids = await _run(query_api, alert_ids_query(bucket, status, zone, kind, severity))
    page = ids[:max(0, limit)]
    found = await _run(query_api, alerts_query(bucket, status, zone, kind, None,
                                               severity=severity, ids=page)) if page else []
    return AlertPage(found, len(ids))


async def _run(query_api: Any, q: Query[T]) -> T:
    result = execute(query_api, q)
    return await result if inspect.isawaitable(result) else result  # type: ignore[return-value]


def alert_history_query(bucket: str, alert_id: str,
                        lookback_s: float = 400 * 86400) -> Query[list[Alert]]:
    aid = flux_string(checked_id(alert_id, "alert id", ALERT_ID_RE))
    flux = (f"{_source(bucket, '-' + flux_duration(lookback_s))}\n"
            f'|> filter(fn: (r) => r._measurement == "alert" and r.id == {aid})\n{PIVOT}')
    return Query(flux, lambda rows: merge_alert_rows(rows, history=True))


def alert_history(query_api: Any, bucket: str, alert_id: str) -> Any:
    """Every state the alert went through, oldest first; [] for an unknown id."""
    return execute(query_api, alert_history_query(bucket, alert_id))


def _zone_points(bucket: str, measurement: str, zone: str, points: Iterable[str],
                 lookback_s: float) -> str:
    """The head of a query over some points of one zone in one measurement."""
    pids = [checked_id(p, "point") for p in points]
    return (f"{_source(bucket, '-' + flux_duration(lookback_s))}\n"
            f"|> filter(fn: (r) => r._measurement == {flux_string(measurement)} and "
            f"r.zone == {flux_string(checked_id(zone, 'zone'))})\n"
            f"|> filter(fn: (r) => {any_of('point', pids)})\n")


LAST_PER_FIELD = ('|> group(columns: ["point", "_field"]) |> last()\n'
                  '|> keep(columns: ["_time", "point", "_field"])')
"""The newest row of each point's field across its series (real-time and HJ 212 statistics,
`streams.storage.STATISTICS_CNS`), not of each series."""


def last_valid_query(bucket: str, zone: str, points: Iterable[str],
                     lookback_s: float = 30 * 86400) -> Query[dict[str, datetime]]:
    flux = (_zone_points(bucket, "reading", zone, points, lookback_s) +
            f"|> filter(fn: (r) => r._field =~ /_flag$/ and {any_of('_value', VALID_FLAGS)})\n"
            f"{LAST_PER_FIELD}")
    return Query(flux, last_valid_of)


def last_valid_of(rows: Iterable[Row]) -> dict[str, datetime]:
    """point → its last valid data. A reading is valid only with every flag valid, so of the
    factors' last valid flags the earliest counts."""
    out: dict[str, datetime] = {}
    for r in rows:
        out[r["point"]] = min(out.get(r["point"], r["_time"]), r["_time"])
    return out


STATUS_LOOKBACK_S = 400 * 86400
"""How far back the status history is searched: it holds one row per change, so a year is
cheap where the readings' 30 days are not."""


def status_since_query(bucket: str, zone: str, points: Iterable[str],
                       lookback_s: float = STATUS_LOOKBACK_S) -> Query[dict[str, datetime]]:
    """point → the last valid data its newest status change names (`point_status.since`)."""
    flux = (_zone_points(bucket, "point_status", zone, points, lookback_s) +
            '|> filter(fn: (r) => r._field == "since")\n'
            '|> last() |> keep(columns: ["point", "_value"])')
    return Query(flux, _since_of)


def _since_of(rows: Iterable[Row]) -> dict[str, datetime]:
    out: dict[str, datetime] = {}
    for r in rows:
        try:
            out[r["point"]] = datetime.fromisoformat(r["_value"])
        except (TypeError, ValueError):
            continue  # not a time: the readings say instead
    return out


async def dark_since(query_api: Any, bucket: str, zone: str, points: Iterable[str]
                     ) -> dict[str, datetime]:
    """point → its last valid data, for "dark since": from the last 30 days
    of readings, which a late resend (HJ 212 补发) corrects, and for a point dark longer from
    the status history, which reaches back a year. Missing: never reported."""
    pids = list(points)
    since = await _run(query_api, last_valid_query(bucket, zone, pids))
    rest = [p for p in pids if p not in since]
    if rest:
        since |= await _run(query_api, status_since_query(bucket, zone, rest))
    return since


MAX_PERIOD = timedelta(days=31)


def completeness_fluxes(bucket: str, registry: Registry, zone: str, start: datetime,
                        end: datetime) -> tuple[str, str]:
    """Two lean queries over [start, end), no pivot (the costly part): every reading as
    (time, point, arrival lag), and the few with a flag that is not N or T as (time, point)."""
    if checked_id(zone, "zone") not in registry.zone_by_id:
        raise QueryError(f"unknown zone {zone!r}")
    if not end > start or end - start > MAX_PERIOD:
        raise QueryError(f"period must be non-empty and at most {MAX_PERIOD.days} days")
    head = (f"{_source(bucket, flux_time(start), flux_time(end))}\n"
            f'|> filter(fn: (r) => r._measurement == "reading" and r.zone == {flux_string(zone)}')
    # a reading's on-time and late arrival lags (`lag_field`): the earliest counts
    readings = (f"{head} and {any_of('_field', (ON_TIME_LAG, LATE_LAG))})\n"
                f'{KEEP % "_value"}')
    invalid = (f'{head} and r._field =~ /_flag$/)\n'
               f'|> filter(fn: (r) => r._value != "N" and r._value != "T")\n{KEEP % ""}')
    return readings, invalid


KEEP = '|> keep(columns: ["_time", "point", "%s"])'


def completeness(query_api: Any, bucket: str, registry: Registry, zone: str,
                 start: datetime, end: datetime) -> Any:
    """Transmission completeness of each point, unit and the zone over [start, end).

    Rows are read as plain CSV (influxdb-client's record parser is ten times slower) into a
    `Tally` that keeps one reading per expected interval, so memory follows the intervals."""
    start, end = (t.replace(microsecond=0) for t in (start, end))  # as in the Flux range
    readings, invalid = completeness_fluxes(bucket, registry, zone, start, end)
    tally = Tally(registry, zone, start, end)
    if inspect.iscoroutinefunction(getattr(query_api, "query_raw", None)):
        async def finish() -> ZoneCompleteness:
            for flux, use in ((invalid, tally.skip), (readings, tally.add_all)):
                text = await query_api.query_raw(flux)
                use(csv_rows(csv.reader(text.splitlines())))
            return tally.result()
        return finish()
    tally.skip(csv_rows(query_api.query_csv(invalid)))
    tally.add_all(csv_rows(query_api.query_csv(readings)))
    return tally.result()


def csv_rows(rows: Iterable[list[str]]) -> Iterator[dict[str, str]]:
    """Annotated Flux CSV rows → {column: text} per data row. A blank row ends a table; the
    next one brings its annotations (`#…`) and its own header."""
    header: list[str] = []
    for row in rows:
        if not any(row):
            header = []
        elif row[0].startswith("#"):
            continue
        elif not header:
            header = row
        else:
            yield dict(zip(header, row, strict=False))


def parse_dark_json(text: str | None) -> dict[str, Any]:
    """The zone agent's `dark_json` field; an unreadable one counts as empty, not as a crash."""
    try:
        data = json.loads(text or "{}")
    except (ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}




# --- the pure halves: rows in, answers out -------------------------------------------------

COUNT_FIELDS = ("units_total", "units_covered", "units_excused", "units_dark",
                "assessment_total", "assessment_ok", "platforms_total", "platforms_ok")
GAP_KEYS = ("dark", "excused", "unassessed", "platforms_offline")


@dataclass(frozen=True, slots=True)
class ZoneFigures:
    """A zone's newest coverage point: rates (None where nothing is registered), the counts
    behind them, and its gaps (dark and excused units with their points, unassessed
    enterprises, offline platforms) from `dark_json`."""

    zone: str
    at: datetime
    rates: Mapping[str, float | None]
    counts: Mapping[str, int]
    gaps: Mapping[str, list[Any]]

    def as_json(self) -> dict[str, Any]:
        return {"zone": self.zone, "at": self.at.isoformat(), **self.rates, **self.counts,
                **self.gaps}


def figures_of(rows: Iterable[Row]) -> dict[str, ZoneFigures]:
    out: dict[str, ZoneFigures] = {}
    for r in rows:
        zone = r.get("zone")
        if not zone or (zone in out and out[zone].at >= r["_time"]):
            continue
        gaps = parse_dark_json(r.get("dark_json"))
        out[zone] = ZoneFigures(
            zone, r["_time"], {f: _float(r.get(f)) for f in RATE_FIELDS},
            {f: int(r.get(f) or 0) for f in COUNT_FIELDS},
            {k: list(gaps.get(k) or []) for k in GAP_KEYS})
    return out


def trend_of(rows: Iterable[Row]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(rows, key=lambda r: r["_time"]):
        out.setdefault(r["zone"], []).append(
            {"at": r["_time"], **{f: _float(r.get(f)) for f in RATE_FIELDS}})
    return out


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


ALERT_FIELDS = ("status", "severity", "opened_at", "resolved_at", "acknowledged_by",
                "acknowledged_at", "subject", "point", "enterprise", "factor", "since")


def merge_alert_rows(rows: Iterable[Row], history: bool = False) -> list[Alert]:
    """Pivoted `alert` rows → alerts. A row is one state; without `history`, the rows of one
    id (fields may come from different last() times) merge into its latest state."""
    ordered = sorted(rows, key=lambda r: r["_time"])
    if history:
        return [a for a in map(_alert_of, ordered) if a is not None]
    merged: dict[str, dict[str, Any]] = {}
    for r in ordered:
        merged.setdefault(r["id"], {}).update({k: v for k, v in r.items() if v is not None})
    return [a for a in map(_alert_of, merged.values()) if a is not None]


def _alert_of(row: Row) -> Alert | None:
    data = {k: row[k] for k in ALERT_FIELDS if row.get(k) is not None}
    data.update(id=row.get("id"), kind=row.get("kind"), zone=row.get("zone"),
                updated_at=row.get("_time"),
                summary={"zh": row.get("summary_zh") or "", "en": row.get("summary_en") or ""},
                audience=[a for a in str(row.get("audience") or "").split(",") if a])
    try:
        return Alert.model_validate(data)
    except ValidationError:
        return None  # a row this version cannot read: not an alert it can act on


@dataclass(frozen=True, slots=True)
class ZoneCompleteness:
    """Transmission completeness over [start, end): each point; each key polluter unit over
    its required environment points, and the zone over those units, as its online-monitoring
    target counts them (a gas detector's short interval would otherwise outweigh the
    wastewater outlets the target is about)."""

    zone: str
    start: datetime
    end: datetime
    total: Completeness
    units: Mapping[str, Completeness]
    points: Mapping[str, Completeness]

    def as_json(self) -> dict[str, Any]:
        return {"zone": self.zone, "from": self.start.isoformat(), "to": self.end.isoformat(),
                **completeness_json(self.total),
                "units": {k: completeness_json(c) for k, c in self.units.items()},
                "points": {k: completeness_json(c) for k, c in self.points.items()}}


def completeness_json(c: Completeness) -> dict[str, Any]:
    rate, on_time = (c.rate, c.on_time_rate) if c.expected else (None, None)
    return {"rate": rate, "on_time_rate": on_time, "expected": c.expected,
            "on_time": c.on_time, "filled_late": c.filled_late, "missing": c.missing}


class Tally:
    """Keeps each point's earliest-arriving valid reading per interval, then counts them with
    `completeness_by_arrival`: a reading arriving after the point's gap threshold (when it
    already looked offline) filled its interval late."""

    def __init__(self, registry: Registry, zone: str, start: datetime, end: datetime) -> None:
        self.zone, self.start, self.end = zone, start, end
        self.points = {p.id: p for p in registry.points if registry.zone_of_point(p) == zone}
        self.units = RegistryView.of(registry).units.get(zone, {})
        """Key polluter units and their environment points: what the zone's target counts."""
        self.first: dict[str, dict[int, tuple[float, float]]] = {pid: {} for pid in self.points}
        self.invalid: set[tuple[str, str]] = set()

    def skip(self, rows: Iterable[Mapping[str, str]]) -> None:
        """Readings with a flag other than N or T: not valid, whatever their other flags."""
        self.invalid.update((r["point"], r["_time"]) for r in rows)

    def add_all(self, rows: Iterable[Mapping[str, str]]) -> None:
        for r in rows:
            p = self.points.get(r["point"])
            if p is not None and (r["point"], r["_time"]) not in self.invalid:
                self.add(p, datetime.fromisoformat(r["_time"]).timestamp(), float(r["_value"]))

    def add(self, p: Point, ts: float, lag_s: float) -> None:
        k = int((ts - self.start.timestamp()) // p.interval_s)
        seen = self.first[p.id]
        if k not in seen or ts + lag_s < seen[k][1]:
            seen[k] = (ts, ts + lag_s)

    def result(self) -> ZoneCompleteness:
        s0, s1 = self.start.timestamp(), self.end.timestamp()
        per_point = {pid: completeness_by_arrival(p.interval_s, self.first[pid].values(), s0,
                                                  s1, p.threshold_s)
                     for pid, p in self.points.items()}
        units = {e: _sum(per_point[p.id] for p in points if p.required)
                 for e, points in self.units.items()}
        return ZoneCompleteness(self.zone, self.start, self.end, _sum(units.values()), units,
                                per_point)


def _sum(cs: Iterable[Completeness]) -> Completeness:
    cs = list(cs)
    return Completeness(sum(c.expected for c in cs), sum(c.on_time for c in cs),
                        sum(c.filled_late for c in cs))


# --- a zone over a period, for the compliance report ---------------------------------------

SHANGHAI_OFFSET = "16h"
"""Windows of `every: 1d` start at 00:00 UTC + offset: 16:00 UTC is midnight in Asia/Shanghai."""


def coverage_days_query(bucket: str, zone: str, start: datetime, end: datetime,
                        hold_s: int = 300) -> Query[dict[str, dict[datetime, tuple]]]:
    """Per rate field and Asia/Shanghai day: (value × seconds held, seconds held, lowest).

    Figures are a step function: each holds until the next one (`events.duration`), but for at
    most `hold_s`, so a stopped worker leaves time without figures instead of stretching the
    last one. Sums rather than means, so days add up exactly to the period."""
    zone_lit = flux_string(checked_id(zone, "zone"))
    if hold_s <= 0:
        raise QueryError(f"hold_s must be positive, got {hold_s!r}")
    hold = int(hold_s)
    flux = ('import "contrib/tomhollingworth/events"\n'
            f"{_source(bucket, flux_time(start), flux_time(end))}\n"
            f'|> filter(fn: (r) => r._measurement == "coverage" and r.zone == {zone_lit} and '
            f"{any_of('_field', RATE_FIELDS)})\n"
            '|> events.duration(unit: 1s, columnName: "held", stopColumn: "_stop")\n'
            f"|> map(fn: (r) => ({{r with held: if r.held > {hold} then {hold} else r.held}}))\n"
            f"|> window(every: 1d, offset: {SHANGHAI_OFFSET})\n"
            "|> reduce(identity: {weighted: 0.0, seconds: 0, low: 2.0}, fn: (r, accumulator) =>"
            " ({weighted: accumulator.weighted + r._value * float(v: r.held),"
            " seconds: accumulator.seconds + r.held,"
            " low: if r._value < accumulator.low then r._value else accumulator.low}))")
    return Query(flux, days_of)


def days_of(rows: Iterable[Row]) -> dict[str, dict[datetime, tuple]]:
    """field → day start (UTC) → (weighted, seconds, low)."""
    out: dict[str, dict[datetime, tuple]] = {}
    for r in rows:
        out.setdefault(r["_field"], {})[r["_start"]] = (
            float(r["weighted"]), int(r["seconds"]), float(r["low"]))
    return out


def coverage_at_query(bucket: str, zone: str, start: datetime,
                      end: datetime) -> Query[dict[str, ZoneFigures]]:
    """The zone's last figures within [start, end): the state at the end of a period."""
    zone_lit = flux_string(checked_id(zone, "zone"))
    flux = (f"{_source(bucket, flux_time(start), flux_time(end))}\n"
            f'|> filter(fn: (r) => r._measurement == "coverage" and r.zone == {zone_lit})\n'
            f"|> last()\n{PIVOT}")
    return Query(flux, figures_of)


def alerts_during_query(bucket: str, zone: str, start: datetime, end: datetime,
                        lookback_s: float = 400 * 86400) -> Query[list[Alert]]:
    """The zone's alerts alive at some time in [start, end), each as it stood at `end`, so a
    report on a past period reads the same whenever it is made. Oldest first."""
    zone_lit = flux_string(checked_id(zone, "zone"))
    since = start - timedelta(seconds=lookback_s)
    flux = (f"{_source(bucket, flux_time(since), flux_time(end))}\n"
            f'|> filter(fn: (r) => r._measurement == "alert" and r.zone == {zone_lit})\n'
            f"|> last()\n{PIVOT}")

    def parse(rows: Iterable[Row]) -> list[Alert]:
        alive = [a for a in merge_alert_rows(rows) if a.opened_at < end and not (
            a.status == "resolved" and a.resolved_at is not None and a.resolved_at < start)]
        return sorted(alive, key=lambda a: (a.opened_at, a.id))
    return Query(flux, parse)


def last_valid_before_query(bucket: str, zone: str, at: datetime,
                            lookback_s: float) -> Query[dict[str, datetime]]:
    """point → its last valid data in [at - lookback_s, at): was it online when a period began?"""
    zone_lit = flux_string(checked_id(zone, "zone"))
    since = at - timedelta(seconds=lookback_s)
    flux = (f"{_source(bucket, flux_time(since), flux_time(at))}\n"
            f'|> filter(fn: (r) => r._measurement == "reading" and r.zone == {zone_lit})\n'
            f"|> filter(fn: (r) => r._field =~ /_flag$/ and {any_of('_value', VALID_FLAGS)})\n"
            f"{LAST_PER_FIELD}")
    return Query(flux, last_valid_of)


class ReadingObserver(Protocol):
    """Shown the readings of a period as `scan_period` counts them."""

    def invalid(self, rows: Iterable[Mapping[str, str]]) -> None:
        """Rows `_time`, `point`, `_field` (`…_flag`), `_value` (the flag) of invalid data."""

    def valid(self, point: str, ts: float) -> None:
        """Event time (epoch s) of a reading whose every flag is valid."""


def scan_period(query_api: Any, bucket: str, registry: Registry, zone: str, start: datetime,
                end: datetime, observer: ReadingObserver) -> ZoneCompleteness:
    """`completeness` (sync API, at most `MAX_PERIOD`) that also shows `observer` every invalid
    reading with its flags and every valid reading's event time, from the same two queries:
    a report learns when points were dark without reading the period a second time."""
    start, end = (t.replace(microsecond=0) for t in (start, end))
    readings, _ = completeness_fluxes(bucket, registry, zone, start, end)
    invalid = (f"{_source(bucket, flux_time(start), flux_time(end))}\n"
               f'|> filter(fn: (r) => r._measurement == "reading" and r.zone == '
               f"{flux_string(zone)} and r._field =~ /_flag$/)\n"
               f'|> filter(fn: (r) => r._value != "N" and r._value != "T")\n'
               f'|> keep(columns: ["_time", "point", "_field", "_value"])')
    tally = Tally(registry, zone, start, end)
    bad = list(csv_rows(query_api.query_csv(invalid)))
    tally.skip(bad)
    observer.invalid(bad)
    tally.add_all(_shown(csv_rows(query_api.query_csv(readings)), tally.invalid, observer))
    return tally.result()


def _shown(rows: Iterable[dict[str, str]], invalid: set[tuple[str, str]],
           observer: ReadingObserver) -> Iterator[dict[str, str]]:
    for r in rows:
        if (r["point"], r["_time"]) not in invalid:
            observer.valid(r["point"], datetime.fromisoformat(r["_time"]).timestamp())
        yield r


def merge_completeness(parts: Iterable[ZoneCompleteness]) -> ZoneCompleteness:
    """Consecutive periods of one zone as one: interval counts add up."""
    parts = list(parts)
    if not parts:
        raise ValueError("nothing to merge")
    points = {k: _sum(p.points[k] for p in parts if k in p.points)
              for k in dict.fromkeys(k for p in parts for k in p.points)}
    units = {k: _sum(p.units[k] for p in parts if k in p.units)
             for k in dict.fromkeys(k for p in parts for k in p.units)}
    return ZoneCompleteness(parts[0].zone, parts[0].start, parts[-1].end,
                            _sum(p.total for p in parts), units, points)
