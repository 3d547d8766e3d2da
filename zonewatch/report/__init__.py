"""`zonewatch report`: a zone's compliance report for a period, as HTML and/or CSV.

The edge: checks the request (dates, zone, registry) before touching InfluxDB, reads once
(`data.gather`), renders purely (`html`, `csv_out`). Written files go to stdout, one per line;
progress and errors to stderr; exit 1 with a plain message when the report cannot be made.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from schemas import Registry
from schemas.registry_check import RegistryError, load_registry
from zonewatch.report.model import ReportData
from zonewatch.report.period import Period, PeriodError, make_period

__all__ = ["ReportData", "ReportError", "run_report"]

MIN_TIMEOUT_MS = 600_000
"""A year of readings takes minutes to read: a report waits longer than a worker would."""


class ReportError(Exception):
    """The report cannot be made; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Request:
    zone: str
    period: Period
    registry: Registry
    formats: tuple[str, ...]
    out: Path

    @property
    def stem(self) -> str:
        return f"{self.zone}_{self.period.first}_{self.period.last}"


def run_report(args: argparse.Namespace) -> int:
    try:
        request = check_request(args, datetime.now(UTC))
        data = read(request)
        for path in write(request, data):
            print(path)
    except (ReportError, PeriodError) as e:
        print(f"zonewatch report: {e}", file=sys.stderr)
        return 1
    _say_verdicts(data)
    return 0


def check_request(args: argparse.Namespace, now: datetime) -> Request:
    period = make_period(args.date_from, args.date_to, now)
    registry = _registry(args.registry)
    if args.zone not in registry.zone_by_id:
        known = ", ".join(z.id for z in registry.zones) or "none"
        raise ReportError(f"unknown zone {args.zone!r}; the registry has: {known}")
    formats = ("html", "csv") if args.format == "both" else (args.format,)
    return Request(args.zone, period, registry, formats, Path(args.out))


def _registry(path: Path | None) -> Registry:
    if path is None:
        from zonewatch.settings import CommonSettings
        path = CommonSettings().registry
    if path is None:
        raise ReportError("no registry: pass --registry FILE or set ZW_REGISTRY")
    try:
        return load_registry(path)
    except RegistryError as e:
        first = e.issues[0] if e.issues else None
        detail = f" ({first.path or 'file'}: {first.message})" if first else ""
        raise ReportError(f"registry {path} is not valid{detail}; "
                          f"`zonewatch registry check {path}` lists every problem") from None


def read(request: Request) -> ReportData:
    from influxdb_client import InfluxDBClient
    from influxdb_client.client.exceptions import InfluxDBError
    from urllib3.exceptions import HTTPError

    from zonewatch.report.data import gather
    from zonewatch.settings import InfluxSettings

    s = InfluxSettings()
    client = InfluxDBClient(url=s.url, token=s.token.get_secret_value(), org=s.org,
                            timeout=max(s.timeout_ms, MIN_TIMEOUT_MS))
    try:
        data = gather(client.query_api(), s.bucket, request.registry, request.zone,
                      request.period, datetime.now(UTC), _progress(request))
    except (InfluxDBError, HTTPError, OSError) as e:
        raise ReportError(f"cannot read InfluxDB at {s.url} (bucket {s.bucket!r}): "
                          f"{_reason(e)}") from None
    finally:
        client.close()
    if not has_data(data):
        p = request.period
        raise ReportError(f"no data for zone {request.zone!r} from {p.first} to {p.last} in "
                          f"bucket {s.bucket!r}: no coverage figures, readings or alerts")
    return data


def has_data(data: ReportData) -> bool:
    c = data.completeness
    readings = c is not None and c.on_time + c.filled_late > 0
    return readings or bool(data.alerts) or any(f.seconds > 0 for f in data.figures)


def _reason(e: Exception) -> str:
    message = getattr(e, "message", None) or str(e)
    return message.splitlines()[0][:300] if message else type(e).__name__


def _progress(request: Request) -> Callable[[str], None]:
    head = f"zonewatch report: {request.zone} {request.period.first}…{request.period.last}"
    return lambda step: print(f"{head}: {step}", file=sys.stderr, flush=True)


def write(request: Request, data: ReportData) -> list[Path]:
    from zonewatch.report.csv_out import write_csvs
    from zonewatch.report.html import render_html

    try:
        request.out.mkdir(parents=True, exist_ok=True)
        paths = []
        if "html" in request.formats:
            path = request.out / f"{request.stem}.html"
            path.write_text(render_html(data), encoding="utf-8")
            paths.append(path)
        if "csv" in request.formats:
            paths += write_csvs(data, request.out, request.stem)
    except OSError as e:
        raise ReportError(f"cannot write to {request.out}: {e.strerror or e}") from None
    return paths


def _say_verdicts(data: ReportData) -> None:
    from zonewatch.report.words import MEASURE, pct, zh

    for f in data.figures:
        print(f"  {zh(MEASURE, f.measure)}: {pct(f.average)} {f.verdict.value} ({f.verdict.en})",
              file=sys.stderr)
