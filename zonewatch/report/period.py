"""The period a report covers: Asia/Shanghai calendar dates in, UTC instants out.

A committee asks for "2026-10-01 to 2026-10-31": both days included, midnight to midnight in
Nanjing. A period that reaches past now is cut at now (the report says "as of"), since the
future has no data and would only count as missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_DAYS = 366
CHUNK = timedelta(days=31)
"""`query.completeness` reads at most 31 days at a time; longer periods are read in chunks."""
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class PeriodError(ValueError):
    """The dates asked for do not make a period a report can cover."""


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    last: date
    start: datetime
    """00:00 of `first` in Shanghai, as UTC."""
    end: datetime
    """00:00 after `last` in Shanghai, or now when that is still to come; UTC, whole seconds."""

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def cut_short(self) -> bool:
        """True when the period runs past now: its figures are as of `end`."""
        return self.end < local_midnight(self.last + timedelta(days=1))

    def chunks(self, size: timedelta = CHUNK) -> Iterator[tuple[datetime, datetime]]:
        at = self.start
        while at < self.end:
            yield at, min(at + size, self.end)
            at += size

    def day_starts(self) -> list[datetime]:
        """UTC instant of each Shanghai midnight in the period (today's included)."""
        count = (local_date(self.end - timedelta(seconds=1)) - self.first).days + 1
        return [local_midnight(self.first + timedelta(days=i)) for i in range(count)]


def parse_date(text: str, what: str) -> date:
    if not _DATE.match(text or ""):
        raise PeriodError(f"{what} must be a date written YYYY-MM-DD, got {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise PeriodError(f"{what} {text!r} is not a calendar date ({e})") from None


def make_period(first_text: str, last_text: str, now: datetime) -> Period:
    """Checked dates → Period; `now` is passed in so the rules are testable."""
    first, last = parse_date(first_text, "--from"), parse_date(last_text, "--to")
    if last < first:
        raise PeriodError(f"--to {last} is before --from {first}")
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise PeriodError(f"the period is {days} days; a report covers at most {MAX_DAYS}")
    start = local_midnight(first)
    now = now.astimezone(UTC).replace(microsecond=0)
    if start >= now:
        raise PeriodError(f"--from {first} has not begun yet in Asia/Shanghai")
    return Period(first, last, start, min(local_midnight(last + timedelta(days=1)), now))


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)


def local_date(t: datetime) -> date:
    return t.astimezone(SHANGHAI).date()


def local_text(t: datetime | None, seconds: bool = False) -> str:
    """How a time is shown to a reader: Shanghai wall time, no zone suffix (the page says it)."""
    if t is None:
        return ""
    return t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M" + (":%S" if seconds else ""))
