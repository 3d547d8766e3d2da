"""Maintenance window endpoints: list, declare, look up and withdraw planned work.

A declared window is not kept here: it goes to the maintenance topic, which every worker reads
whole, so it holds alerts on whichever worker delivers them. Windows from the registry are
listed beside them, and are changed by loading a new registry.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from faust import web
from pydantic import ValidationError

from schemas import MaintenanceWindow, Registry
from streams.maintenance import Listed
from streams.web.api import ApiView, Conflict
from streams.web.auth import Principal
from streams.web.coverage_views import parse_time

log = logging.getLogger(__name__)

FIELDS = {"point", "enterprise", "start", "end", "kinds", "reason", "by"}


def new_window(body: dict[str, Any], who: Principal, now: datetime) -> MaintenanceWindow:
    """The window a request declares, checked by the one window model (400 when wrong).
    Times without an offset are Shanghai time, as elsewhere in the API."""
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise web.View.ValidationError(f"unknown field(s): {', '.join(unknown)}; "
                                       f"expected {', '.join(sorted(FIELDS))}")
    fields = {k: body[k] for k in ("point", "enterprise", "kinds", "reason") if k in body}
    for key in ("start", "end"):
        if not isinstance(body.get(key), str):
            raise web.View.ValidationError(f"{key} is required: an ISO 8601 date and time")
        try:  # in UTC: later comparisons cannot overflow near year 1 or 9999
            fields[key] = parse_time(body[key], now).astimezone(UTC)
        except OverflowError as e:
            raise web.View.ValidationError(f"{key} is out of range") from e
    by = body.get("by") or who.name
    try:
        return MaintenanceWindow(id=f"mw-{uuid.uuid4().hex[:12]}", declared_by=by,
                                 declared_at=now, **fields)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'body'}: "
                             f"{err['msg'].removeprefix('Value error, ')}" for err in e.errors())
        raise web.View.ValidationError(problems) from e


def check_span(window: MaintenanceWindow, now: datetime, max_days: float) -> None:
    """A window must still be to come, and not silence a point for longer than planned work
    takes (an open-ended window would hide a real outage)."""
    if window.end <= now:
        raise web.View.ValidationError("the window has already ended")
    if window.end - window.start > timedelta(days=max_days):
        raise web.View.ValidationError(f"a window may last at most {max_days:g} days")


def zone_of(registry: Registry, window: MaintenanceWindow) -> str:
    """The zone of a window's point or enterprise; 400 when the registry does not know it."""
    zone = registry.zone_of_window(window)
    if zone is None:
        what = "point" if window.point else "enterprise"
        raise web.View.ValidationError(f"no {what} {window.point or window.enterprise!r} "
                                       "in the registry")
    return zone


def visible(found: Iterable[Listed], who: Principal, now: datetime,
            ended: bool = False) -> list[Listed]:
    """The windows `who` may see (one whose point left the registry has no zone: city-wide
    roles only), not ended unless asked, soonest first."""
    shown = [x for x in found if (ended or x.window.end > now)
             and (who.can_see(x.zone) if x.zone is not None else not who.limited)]
    return sorted(shown, key=lambda x: (x.window.start, x.window.key))


class MaintenanceView(ApiView):
    """GET /api/v1/maintenance?zone=&ended=true: windows the token may see.
    POST /api/v1/maintenance {point | enterprise, start, end, reason, kinds, by}: declare one."""

    async def get(self, request: web.Request) -> web.Response:
        who = self.principal(request)
        zone = self.zone_filter(who, self.query_param(request, "zone"))
        ended = self.query_param(request, "ended") in ("1", "true")
        shown = visible(self.backend.maintenance.listed(), who, self.backend.clock(), ended)
        shown = [x for x in shown if zone is None or x.zone == zone]
        return self.json({"windows": [x.as_json() for x in shown]})

    async def post(self, request: web.Request) -> web.Response:
        who = self.principal(request)
        body = await self._body(request)
        now = self.backend.clock()
        window = new_window(body, who, now)
        zone = zone_of(self.backend.registry(), window)
        if not who.can_see(zone):
            raise self.PermissionDenied(f"token {who.name!r} may not declare work in zone "
                                        f"{zone!r}")
        check_span(window, now, self.backend.settings.maintenance_max_days)
        await self.backend.emit.maintenance(window.key, window)
        log.info("maintenance window %s declared by %s (token %s) for %s %s, %s to %s",
                 window.key, window.declared_by, who.name,
                 "point" if window.point else "enterprise", window.point or window.enterprise,
                 window.start.isoformat(), window.end.isoformat())
        return self.json(Listed(window, "api", zone).as_json(), status=201)

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = json.loads(await self.read_request_content(request) or b"null")
        except ValueError as e:
            raise self.ValidationError("body must be JSON") from e
        if not isinstance(body, dict):
            raise self.ValidationError("body must be a JSON object")
        if body.get("by") is not None and not isinstance(body["by"], str):
            raise self.ValidationError("by must be a string")
        return body


class MaintenanceItemView(ApiView):
    """GET /api/v1/maintenance/{window_id}; DELETE withdraws a window declared through the
    API (a registry window ends by loading a registry without it: 409)."""

    async def get(self, request: web.Request, window_id: str) -> web.Response:
        return self.json(self._find(self.principal(request), window_id).as_json())

    async def delete(self, request: web.Request, window_id: str) -> web.Response:
        who = self.principal(request)
        found = self._find(who, window_id)
        if found.source != "api":
            raise Conflict(f"window {window_id} is declared in the registry: load a registry "
                           "without it")
        await self.backend.emit.maintenance(window_id, None)
        log.info("maintenance window %s withdrawn by token %s", window_id, who.name)
        return self.json({"withdrawn": found.as_json()})

    def _find(self, who: Principal, window_id: str) -> Listed:
        found = self.backend.maintenance.find(window_id)
        if found is None:
            raise self.NotFound(f"no maintenance window {window_id!r}")
        if (found.zone is None and who.limited) or (found.zone and not who.can_see(found.zone)):
            raise self.PermissionDenied(f"token {who.name!r} may not see this window")
        return found
