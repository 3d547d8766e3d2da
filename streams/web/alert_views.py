"""Alert endpoints: the list, one alert with its history, and acknowledging one.

An acknowledgement is not written here: it is a signal to the alert book on Kafka, like
every other change, so the book stays the one place an alert changes.
"""

from __future__ import annotations

import json
from typing import Any

from faust import web

from schemas import Alert, AlertKind, AlertStatus, Severity
from schemas.pipeline import AlertSignal
from streams.web.api import ApiView, Conflict
from streams.web.auth import Principal
from zonewatch import query
from zonewatch.query import ALERT_ID_RE

MAX_LIMIT = 1000


def alert_json(alert: Alert) -> dict[str, Any]:
    return alert.model_dump(mode="json")


def _choices(text: str | None, allowed: type, what: str) -> set[str] | None:
    """`a,b` → {a, b}, each checked; None when the filter is not given."""
    if text is None:
        return None
    values = {v.strip() for v in text.split(",") if v.strip()}
    bad = sorted(values - {m.value for m in allowed})  # type: ignore[attr-defined]
    if bad:
        raise web.View.ValidationError(f"unknown {what}: {', '.join(bad)}")
    return values


class AlertsView(ApiView):
    """GET /api/v1/alerts?status=open&zone=&kind=&severity=&limit=: newest change first."""

    async def get(self, request: web.Request) -> web.Response:
        who = self.principal(request)
        zone = self.zone_filter(who, self.query_param(request, "zone"))
        statuses = _choices(self.query_param(request, "status"), AlertStatus, "status")
        kinds = _choices(self.query_param(request, "kind"), AlertKind, "kind")
        severities = _choices(self.query_param(request, "severity"), Severity, "severity")
        limit = self._limit(self.query_param(request, "limit"))
        page = await self.backend.read(query.alert_page, statuses, zone, kinds, severities,
                                       limit)
        return self.json({"alerts": [alert_json(a) for a in page.alerts if who.can_see(a.zone)],
                          "total": page.total})

    def _limit(self, text: str | None) -> int:
        if text is None:
            return 200
        if not text.isdigit() or not 0 < int(text) <= MAX_LIMIT:
            raise self.ValidationError(f"limit must be 1…{MAX_LIMIT}")
        return int(text)


class AlertView(ApiView):
    """GET /api/v1/alerts/{alert_id}: the latest state and every change before it."""

    async def get(self, request: web.Request, alert_id: str) -> web.Response:
        who = self.principal(request)
        history = await self.history(who, alert_id)
        return self.json({"alert": alert_json(history[-1]),
                          "history": [alert_json(a) for a in history]})

    async def history(self, who: Principal, alert_id: str) -> list[Alert]:
        """Oldest first; 404 unknown, 403 another zone's."""
        if not ALERT_ID_RE.fullmatch(alert_id):
            raise self.NotFound(f"no alert {alert_id!r}")
        history = await self.backend.read(query.alert_history, alert_id)
        if not history:
            raise self.NotFound(f"no alert {alert_id!r}")
        if not who.can_see(history[-1].zone):
            raise self.PermissionDenied(f"token {who.name!r} may not see this alert")
        return history


class AckView(AlertView):
    """POST /api/v1/alerts/{alert_id}/ack {"by", "note"}: 202, the book applies it shortly."""

    async def post(self, request: web.Request, alert_id: str) -> web.Response:
        who = self.principal(request)
        body = await self._body(request)
        alert = (await self.history(who, alert_id))[-1]
        if alert.status is AlertStatus.RESOLVED:
            raise Conflict(f"alert {alert_id} is already resolved")
        if not alert.subject:
            raise Conflict(f"alert {alert_id} names no subject: it cannot be acknowledged")
        by = body.get("by") or who.name
        now = self.backend.clock()
        detail: dict[str, str | float | None] = {"token": who.name}
        if body.get("note"):
            detail["note"] = body["note"]
        await self.backend.emit.signal(AlertSignal(
            op="ack", kind=alert.kind.value, subject=alert.subject, zone=alert.zone, by=by,
            alert_id=alert.id, at=now, detail=detail))
        return self.json({"alert": alert_json(alert),
                          "ack": {"by": by, "at": now.isoformat(), "status": "accepted"}},
                         status=202)

    async def _body(self, request: web.Request) -> dict[str, str]:
        """Optional JSON object with string `by` (≤ 100) and `note` (≤ 1000)."""
        raw = await self.read_request_content(request)
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError as e:
            raise self.ValidationError("body must be JSON") from e
        if not isinstance(body, dict):
            raise self.ValidationError("body must be a JSON object")
        for key, size in (("by", 100), ("note", 1000)):
            value = body.get(key)
            if value is not None and (not isinstance(value, str) or len(value) > size):
                raise self.ValidationError(f"{key} must be a string of at most {size} chars")
        return {k: body[k].strip() for k in ("by", "note") if body.get(k)}
