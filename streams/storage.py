"""Readings into InfluxDB: one batch per `stream.take()`, written before the offsets move on.

A reading is a point of the measurement `reading` tagged (zone, enterprise, point) at its
event time, so a reading delivered twice overwrites itself: it is stored once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from aiohttp import ClientError
from influxdb_client import Point, WritePrecision
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from influxdb_client.rest import ApiException
from pydantic import BaseModel

from schemas import Alert, DeadLetter, ReadingEvent
from schemas.pipeline import PointStatusChange
from streams.coverage import ZoneCoverage
from zonewatch.settings import InfluxSettings

log = logging.getLogger(__name__)

R = TypeVar("R", bound=BaseModel)
MEASUREMENT = "reading"


def _escape_tag(text: str) -> str:
    """Line protocol tag keys/values: backslash the separators, as InfluxDB undoes exactly
    `\\,` `\\=` `\\ ` and keeps any other backslash. What cannot be written (empty, a newline,
    a final backslash that would escape the separator after it) is refused."""
    if not text or text.endswith("\\") or "\n" in text or "\r" in text:
        raise ValueError(f"cannot be an InfluxDB tag: {text!r}")
    return text.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _escape_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


ON_TIME_LAG, LATE_LAG = "arrival_lag_s", "late_lag_s"


def lag_field(lag_s: float, late_after_s: float | None) -> str:
    """Where a reading's arrival lag goes: `arrival_lag_s` when it came within its point's gap
    threshold, `late_lag_s` after it. InfluxDB keeps the last write of a field, so a device
    resending data it already delivered (HJ 212 补发) must not overwrite the on-time arrival:
    it adds a late one beside it, and completeness counts the earliest."""
    return LATE_LAG if late_after_s is not None and lag_s > late_after_s else ON_TIME_LAG


STATISTICS_CNS = frozenset({"2051", "2061", "2031"})
"""HJ 212 minute, hourly and daily statistics. Each is a series of its own beside the point's
readings (tag `cn`): an hourly average dated like a real-time reading would otherwise replace
its values, as InfluxDB keeps one row per series and time."""


def _cn_tag(event: ReadingEvent) -> str:
    return f"cn={_escape_tag(event.cn)}," if event.cn in STATISTICS_CNS else ""


def reading_line(event: ReadingEvent, late_after_s: float | None = None) -> str:
    """The line protocol of one reading, built directly: the hot path of the worker.

    Same content as `reading_point`; tags and field keys escaped (and factor codes are
    already restricted by the schema), so no input can inject a line. `late_after_s`: the
    point's gap threshold (`lag_field`).
    """
    tags = (f"reading,{_cn_tag(event)}enterprise={_escape_tag(event.enterprise)}"
            f",point={_escape_tag(event.point)},zone={_escape_tag(event.zone)}")
    fields = [f"{_escape_tag(k)}={float(v)!r},{_escape_tag(k)}_flag=\"{event.flag_of(k).value}\""
              for k, v in event.values.items()]
    lag = round((event.received_at - event.ts).total_seconds(), 3)
    fields.append(f'source="{event.source.value}",{lag_field(lag, late_after_s)}={float(lag)!r}')
    return f"{tags} {','.join(fields)} {int(event.ts.timestamp())}"


def point_status_line(change: PointStatusChange) -> str:
    """The line protocol of one change of a point's status, at the time it was judged (s):
    the series of a point is its history. `since` is the event time of its last valid
    reading. Escaped as `reading_line`; an id that cannot be a tag is a `ValueError`."""
    tags = (f"point_status,enterprise={_escape_tag(change.enterprise)}"
            f",point={_escape_tag(change.point)},zone={_escape_tag(change.zone)}")
    fields = f"status={_escape_string(change.status)}"
    if change.since is not None:
        fields += f",since={_escape_string(change.since.isoformat())}"
    return f"{tags} {fields} {int(change.at.timestamp())}"


def reading_point(event: ReadingEvent, late_after_s: float | None = None) -> Point:
    """The InfluxDB point of one reading: a field per factor and its flag as `{factor}_flag`."""
    p = (Point(MEASUREMENT).tag("zone", event.zone).tag("enterprise", event.enterprise)
         .tag("point", event.point).time(event.ts, WritePrecision.S))
    if event.cn in STATISTICS_CNS:
        p.tag("cn", event.cn)
    for factor, value in event.values.items():
        p.field(factor, float(value)).field(f"{factor}_flag", event.flag_of(factor).value)
    p.field("source", event.source.value)
    lag = round((event.received_at - event.ts).total_seconds(), 3)
    p.field(lag_field(lag, late_after_s), lag)
    return p


def refused_line(line: str, reason: str, measurement: str) -> DeadLetter:
    """A line InfluxDB refused, or a record that cannot be one, kept as a dead letter."""
    return DeadLetter.of(line.encode(), topic=f"influxdb:{measurement}", code="influx_rejected",
                         reason=reason, received_at=datetime.now(UTC), stage="worker")


def lines_of(records: Iterable[R], line: Callable[[R], str], measurement: str
             ) -> tuple[list[tuple[R, str]], list[DeadLetter]]:
    """Each record with its line, or a dead letter for one that cannot be written as a line
    (an id that cannot be a tag is a `ValueError`)."""
    lines, bad = [], []
    for record in records:
        try:
            lines.append((record, line(record)))
        except ValueError as e:
            bad.append(refused_line(record.model_dump_json(), str(e), measurement))
    return lines, bad


class Rejected(Exception):
    """InfluxDB refused these points for what they are (4xx): retrying will not help."""

    def __init__(self, points: list[Point | str], reason: str) -> None:
        super().__init__(reason)
        self.points, self.reason = points, reason


class WriteAborted(Exception):
    """The process is stopping while InfluxDB is unreachable: the batch was not written."""


class InfluxWriter:
    """Writes batches; waits out InfluxDB outages so no batch is ever acknowledged unwritten."""

    def __init__(self, settings: InfluxSettings, retry_max_s: float = 30.0,
                 stopping: Callable[[], bool] = lambda: False) -> None:
        self._settings = settings
        self._retry_max_s = retry_max_s
        self._stopping = stopping
        self._client: InfluxDBClientAsync | None = None
        self.failures = 0

    async def start(self) -> None:
        if self._client is not None:
            return
        self._client = InfluxDBClientAsync(url=self._settings.url,
                                           token=self._settings.token.get_secret_value(),
                                           org=self._settings.org,
                                           timeout=self._settings.timeout_ms)

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def write(self, points: Sequence[Point | str],
                    precision: WritePrecision = WritePrecision.NS) -> None:
        """Write all, retrying transient failures with backoff until written or stopping.

        Raises `Rejected` on a 4xx (the points themselves are wrong), `WriteAborted` when the
        process stops before InfluxDB took the batch.
        """
        attempt = 0
        while True:
            try:
                await self._post(list(points), precision)
                return
            except ApiException as e:
                if 400 <= (e.status or 0) < 500 and e.status != 429:
                    raise Rejected(list(points), f"InfluxDB {e.status}: {e.message}") from e
                reason = f"InfluxDB {e.status}: {e.message or e.reason}"
            except (TimeoutError, ClientError, OSError) as e:
                reason = f"{type(e).__name__}: {e}"
            attempt += 1
            self.failures += 1
            delay = min(self._retry_max_s, 0.2 * 2 ** attempt) * (0.5 + random.random())
            log.warning("InfluxDB write failed (%s); retry %d in %.1f s", reason, attempt, delay)
            await self._backoff(delay)

    async def _backoff(self, delay: float) -> None:
        until = asyncio.get_running_loop().time() + delay
        while asyncio.get_running_loop().time() < until:
            if self._stopping():
                raise WriteAborted("stopping with InfluxDB unreachable")
            await asyncio.sleep(min(0.25, delay))

    async def _post(self, points: list[Point | str], precision: WritePrecision) -> None:
        if self._client is None:  # several agents share the writer: whoever writes first opens it
            await self.start()
        assert self._client is not None
        await self._client.write_api().write(self._settings.bucket, self._settings.org, points,
                                             write_precision=precision)


def alert_point(alert: Alert) -> Point:
    """One state change of an alert: the series per alert id is its history."""
    p = (Point("alert").tag("zone", alert.zone).tag("kind", alert.kind.value)
         .tag("id", alert.id).time(alert.updated_at, WritePrecision.MS)
         .field("status", alert.status.value).field("severity", alert.severity.value)
         .field("summary_zh", alert.summary.zh).field("summary_en", alert.summary.en)
         .field("audience", ",".join(a.value for a in alert.audience))
         .field("opened_at", alert.opened_at.isoformat()))
    optional = {"subject": alert.subject, "point": alert.point, "enterprise": alert.enterprise,
                "factor": alert.factor, "acknowledged_by": alert.acknowledged_by,
                "acknowledged_at": _iso(alert.acknowledged_at),
                "resolved_at": _iso(alert.resolved_at), "since": _iso(alert.since)}
    for name, value in optional.items():
        if value is not None:
            p.field(name, value)
    return p


def coverage_point(c: ZoneCoverage, dark_json: str) -> Point:
    """A zone's figures at one moment; rates are absent where nothing is registered."""
    p = (Point("coverage").tag("zone", c.zone).time(int(c.at), WritePrecision.S)
         .field("units_total", c.monitoring.total).field("units_covered", c.monitoring.ok)
         .field("units_excused", len(c.excused_units)).field("units_dark", len(c.dark_units))
         .field("assessment_total", c.assessment.total).field("assessment_ok", c.assessment.ok)
         .field("platforms_total", c.platforms.total).field("platforms_ok", c.platforms.ok)
         .field("dark_json", dark_json))
    for name, rate in (("monitoring_rate", c.monitoring), ("assessment_rate", c.assessment),
                       ("platform_rate", c.platforms)):
        if rate.value is not None:
            p.field(name, float(rate.value))
    return p


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


async def store(writer: InfluxWriter, lines: list[str], chunk: int) -> list[tuple[str, str]]:
    """Write in chunks of `chunk` lines. InfluxDB refuses a whole request for one bad line, so
    a refused chunk is written again line by line: only the lines it refuses themselves come
    back (with the reason), to be dead-lettered; the rest of the batch is stored."""
    refused: list[tuple[str, str]] = []
    for start in range(0, len(lines), chunk):
        part = lines[start:start + chunk]
        try:
            await writer.write(part, WritePrecision.S)
        except Rejected:
            for line in part:
                try:
                    await writer.write([line], WritePrecision.S)
                except Rejected as r:
                    refused.append((line, r.reason))
    return refused
