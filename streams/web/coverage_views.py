"""Coverage endpoints: every zone's figures, their trend, and one zone with its gaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from faust import web

from schemas import Registry
from streams.web.api import ApiView
from zonewatch import query
from zonewatch.query import ZoneFigures

SHANGHAI = ZoneInfo("Asia/Shanghai")
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
TREND_POINTS = 48


def zone_info(registry: Registry, zone: str) -> dict[str, Any]:
    z = registry.zone_by_id[zone]
    return {"zone": z.id, "name": z.name, "name_en": z.name_en, "level": z.level.value}


def summary_of(registry: Registry, zone: str, figs: ZoneFigures | None) -> dict[str, Any]:
    """A zone's line in the overview; `at` null when it has no figures within the max age."""
    if figs is None:
        empty = dict.fromkeys((*query.RATE_FIELDS, *query.COUNT_FIELDS))
        return {**zone_info(registry, zone), "at": None, **empty}
    return {**zone_info(registry, zone), "at": figs.at.isoformat(), **figs.rates, **figs.counts}


def parse_time(text: str | None, default: datetime) -> datetime:
    """ISO date or time; without an offset it is Shanghai time, as a person there means it.

    Only 1970…2200: at the calendar's ends, moving a day back or forth overflows (a 500), and
    InfluxDB holds nothing outside that span anyway.
    """
    if text is None:
        return default
    try:
        t = datetime.fromisoformat(text)
    except ValueError as e:
        raise web.View.ValidationError(f"not an ISO 8601 date or time: {text!r}") from e
    t = t if t.tzinfo is not None else t.replace(tzinfo=SHANGHAI)
    if not EARLIEST <= t <= LATEST:
        raise web.View.ValidationError(f"{text!r} is not between 1970 and 2200")
    return t


class CoverageView(ApiView):
    """GET /api/v1/coverage: every zone the token may see."""

    async def get(self, request: web.Request) -> web.Response:
        who = self.principal(request)
        registry = self.backend.registry()
        zones = [z.id for z in registry.zones if who.can_see(z.id)]
        figures = await self.backend.read(query.latest_coverage, zones,
                                          self.backend.settings.coverage_max_age_s)
        return self.json({"zones": [summary_of(registry, z, figures.get(z)) for z in zones]})


class TrendView(ApiView):
    """GET /api/v1/coverage/trend?zone=&hours=: window means of the three rates."""

    async def get(self, request: web.Request) -> web.Response:
        who = self.principal(request)
        zone = self.zone_filter(who, self.query_param(request, "zone"))
        hours = self._hours(self.query_param(request, "hours"))
        start = self.backend.clock() - timedelta(hours=hours)
        every = max(60, int(hours * 3600 / TREND_POINTS))
        trend = await self.backend.read(query.coverage_trend, zone, start, every)
        visible = {z: pts for z, pts in trend.items() if who.can_see(z)}
        return self.json({"from": start.isoformat(), "every_s": every, "zones": {
            z: [{**p, "at": p["at"].isoformat()} for p in pts] for z, pts in visible.items()}})

    def _hours(self, text: str | None) -> float:
        if text is None:
            return self.backend.settings.trend_hours
        try:
            hours = float(text)
        except ValueError:
            hours = -1
        if not 0 < hours <= 24 * 31:
            raise self.ValidationError("hours must be a number in (0, 744]")
        return hours


class ZoneCoverageView(ApiView):
    """GET /api/v1/zones/{zone}/coverage?from=&to=&completeness=0: figures, gaps and the
    completeness over [from, to) (default the last day; `completeness=0` skips it)."""

    async def get(self, request: web.Request, zone: str) -> web.Response:
        who = self.principal(request)
        zone = self.zone(who, zone)
        registry = self.backend.registry()
        now = self.backend.clock()
        end = min(parse_time(self.query_param(request, "to"), now), now)
        default_h = self.backend.settings.completeness_default_h
        start = parse_time(self.query_param(request, "from"), end - timedelta(hours=default_h))
        figures = (await self.backend.read(query.latest_coverage, [zone],
                                           self.backend.settings.coverage_max_age_s)).get(zone)
        gaps = await self._gaps(registry, zone, figures)
        done = None
        if self.query_param(request, "completeness") not in ("0", "false", "no"):
            done = (await self.backend.read(query.completeness, registry, zone, start, end)
                    ).as_json()
        return self.json({**summary_of(registry, zone, figures), **gaps, "completeness": done})

    async def _gaps(self, registry: Registry, zone: str,
                    figures: ZoneFigures | None) -> dict[str, Any]:
        """Dark and excused units with names, each point with its status and last valid data."""
        gaps = figures.gaps if figures else {}
        units = [*gaps.get("dark", []), *gaps.get("excused", [])]
        pids = sorted({p for u in units for p in (u.get("points") or {})})[:500]
        since = await self.backend.read(query.dark_since, zone, pids) if pids else {}
        return {
            "dark": [_unit(registry, u, since) for u in gaps.get("dark", [])],
            "excused": [_unit(registry, u, since) for u in gaps.get("excused", [])],
            "unassessed": [_enterprise(registry, e) for e in gaps.get("unassessed", [])],
            "platforms_offline": [_platform(registry, p)
                                  for p in gaps.get("platforms_offline", [])],
        }


def _unit(registry: Registry, unit: dict[str, Any], since: dict[str, datetime]
          ) -> dict[str, Any]:
    points = []
    for pid, status in sorted((unit.get("points") or {}).items()):
        p = registry.point_by_id.get(pid)
        last = since.get(pid)
        points.append({"point": pid, "status": status, "kind": p.kind if p else None,
                       "domain": p.domain.value if p else None,
                       "last_valid": last.isoformat() if last else None})
    return {**_enterprise(registry, unit.get("enterprise", "")), "points": points}


def _enterprise(registry: Registry, eid: str) -> dict[str, Any]:
    e = registry.enterprise_by_id.get(eid)
    return {"enterprise": eid, "name": e.name if e else None}


def _platform(registry: Registry, pid: str) -> dict[str, Any]:
    p = registry.platform_by_id.get(pid)
    return {"platform": pid, "name": p.name if p else None}
