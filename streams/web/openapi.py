"""The API's OpenAPI 3.1 description, written by hand: it is the contract, kept beside it."""

from __future__ import annotations

from typing import Any

from faust import web

from schemas import AlertKind, AlertStatus, Severity


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _param(name: str, where: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path",
            "description": description, "schema": schema or {"type": "string"}}


ERRORS = {
    "401": _json(_ref("Error"), "no token, or one that is not known"),
    "403": _json(_ref("Error"), "a zone token asking about another zone"),
}
BAD_INPUT = _json(_ref("Error"), "a query parameter or body that is not valid, named in error")
NO_ZONE = _json(_ref("Error"), "no such zone")
ZONE = _param("zone", "path", "zone id from the registry")
ALERT_ID = _param("alert_id", "path", "alert id, e.g. dg-0123456789abcdef")
WINDOW_ID = _param("window_id", "path", "maintenance window id, e.g. mw-0123456789ab")
TIME = {"type": "string", "format": "date-time"}
RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1,
        "description": "fraction; null where nothing of the kind is registered or no data"}
COMPLETENESS = {"type": "object", "properties": {
    "rate": RATE, "on_time_rate": RATE, "expected": {"type": "integer"},
    "on_time": {"type": "integer"}, "filled_late": {"type": "integer"},
    "missing": {"type": "integer"}}}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "properties": {"error": {"type": "string"}}},
    "ZoneSummary": {"type": "object", "properties": {
        "zone": {"type": "string"}, "name": {"type": "string"},
        "name_en": {"type": ["string", "null"]}, "level": {"type": "string"},
        "at": {"type": ["string", "null"], "format": "date-time"},
        "monitoring_rate": RATE, "assessment_rate": RATE, "platform_rate": RATE,
        **{k: {"type": ["integer", "null"]} for k in (
            "units_total", "units_covered", "units_excused", "units_dark", "assessment_total",
            "assessment_ok", "platforms_total", "platforms_ok")}}},
    "UnitGap": {"type": "object", "properties": {
        "enterprise": {"type": "string"}, "name": {"type": ["string", "null"]},
        "points": {"type": "array", "items": {"type": "object", "properties": {
            "point": {"type": "string"}, "status": {"type": "string"},
            "kind": {"type": ["string", "null"]},
            "last_valid": {"type": ["string", "null"], "format": "date-time"}}}}}},
    "ZoneCoverage": {"allOf": [_ref("ZoneSummary"), {"type": "object", "properties": {
        "dark": {"type": "array", "items": _ref("UnitGap")},
        "excused": {"type": "array", "items": _ref("UnitGap")},
        "unassessed": {"type": "array", "items": {"type": "object"}},
        "platforms_offline": {"type": "array", "items": {"type": "object"}},
        "completeness": {"allOf": [COMPLETENESS, {"type": "object", "properties": {
            "units": {"type": "object", "additionalProperties": COMPLETENESS},
            "points": {"type": "object", "additionalProperties": COMPLETENESS}}}]}}}]},
    "Alert": {"type": "object", "required": ["id", "kind", "status", "severity", "zone"],
              "properties": {
        "id": {"type": "string"}, "kind": {"enum": [k.value for k in AlertKind]},
        "status": {"enum": [s.value for s in AlertStatus]},
        "severity": {"enum": [s.value for s in Severity]}, "zone": {"type": "string"},
        "enterprise": {"type": ["string", "null"]}, "point": {"type": ["string", "null"]},
        "opened_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "resolved_at": {"type": ["string", "null"], "format": "date-time"},
        "acknowledged_by": {"type": ["string", "null"]},
        "summary": {"type": "object", "properties": {"zh": {"type": "string"},
                                                    "en": {"type": "string"}}},
        "audience": {"type": "array", "items": {"type": "string"}}}},
    "MaintenanceRequest": {
        "type": "object", "required": ["start", "end"], "additionalProperties": False,
        "description": "exactly one of point and enterprise",
        "properties": {
            "point": {"type": "string"}, "enterprise": {"type": "string"},
            "start": {**TIME, "description": "without an offset: Asia/Shanghai"},
            "end": {**TIME, "description": "after start, in the future, at most "
                    "ZW_MAINTENANCE_MAX_DAYS (31) days after start"},
            "kinds": {"type": "array", "items": {"enum": [k.value for k in AlertKind]},
                      "description": "alert kinds held; default [data_gap]"},
            "reason": {"type": "string", "maxLength": 500},
            "by": {"type": "string", "maxLength": 100,
                   "description": "who declares it; default the token's name"}}},
    "MaintenanceWindow": {
        "type": "object", "required": ["id", "start", "end", "kinds", "source"], "properties": {
            "id": {"type": "string"}, "point": {"type": ["string", "null"]},
            "enterprise": {"type": ["string", "null"]}, "zone": {"type": ["string", "null"]},
            "start": TIME, "end": TIME,
            "kinds": {"type": "array", "items": {"enum": [k.value for k in AlertKind]}},
            "reason": {"type": "string"}, "declared_by": {"type": ["string", "null"]},
            "declared_at": {"type": ["string", "null"], "format": "date-time"},
            "source": {"enum": ["registry", "api"],
                       "description": "registry windows change with the registry"}}},
}


def _get(summary: str, ok: dict[str, Any], params: list[dict[str, Any]] | None = None,
         **more: Any) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": params or [],
                    "responses": {"200": ok, **ERRORS, **more}}}


PATHS: dict[str, Any] = {
    "/api/v1/coverage": _get("每个可见园区的覆盖率 / coverage of every zone the token may see",
                             _json({"type": "object", "properties": {"zones": {
                                 "type": "array", "items": _ref("ZoneSummary")}}}, "zones")),
    "/api/v1/coverage/trend": _get(
        "覆盖率趋势 / window means of the three rates",
        _json({"type": "object"}, "zone → [{at, monitoring_rate, …}]"),
        [_param("zone", "query", "one zone"),
         _param("hours", "query", "span, default 24", type="number")],
        **{"400": BAD_INPUT, "404": NO_ZONE}),
    "/api/v1/zones/{zone}/coverage": _get(
        "园区覆盖率与缺口 / one zone: figures, dark units and points, completeness",
        _json(_ref("ZoneCoverage"), "the zone"),
        [ZONE, _param("from", "query", "ISO date/time; no offset = Asia/Shanghai"),
         _param("to", "query", "ISO date/time, default now"),
         _param("completeness", "query", "0: leave completeness out (null)")],
        **{"400": _json(_ref("Error"), "from or to not an ISO date or time between 1970 "
                        "and 2200, or a period empty or over 31 days"), "404": NO_ZONE}),
    "/api/v1/alerts": _get(
        "告警列表 / alerts, latest state, newest first",
        _json({"type": "object", "properties": {
            "alerts": {"type": "array", "items": _ref("Alert")},
            "total": {"type": "integer"}}}, "alerts"),
        [_param("status", "query", "open | acknowledged | resolved, comma-separated"),
         _param("zone", "query", "zone id; a zone token gets its own"),
         _param("kind", "query", "alert kind(s), comma-separated"),
         _param("severity", "query", "info | warning | critical, comma-separated"),
         _param("limit", "query", "1…1000, default 200", type="integer")],
        **{"400": _json(_ref("Error"), "an unknown status, kind or severity, or a limit "
                        "out of range"), "404": NO_ZONE}),
    "/api/v1/alerts/{alert_id}": _get(
        "告警详情与历史 / one alert and its history",
        _json({"type": "object", "properties": {
            "alert": _ref("Alert"), "history": {"type": "array", "items": _ref("Alert")}}},
            "the alert"), [ALERT_ID], **{"404": _json(_ref("Error"), "no such alert")}),
    "/api/v1/alerts/{alert_id}/ack": {"post": {
        "summary": "确认告警 / acknowledge: sent to the alert book, applied within seconds",
        "parameters": [ALERT_ID],
        "requestBody": {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "properties": {
                "by": {"type": "string", "maxLength": 100,
                       "description": "who; default the token's name"},
                "note": {"type": "string", "maxLength": 1000}}}}}},
        "responses": {"202": _json({"type": "object"}, "accepted, with the alert as it was"),
                      **ERRORS, "400": _json(_ref("Error"), "a body that is not a JSON object "
                                             "with string by (≤ 100) and note (≤ 1000)"),
                      "404": _json(_ref("Error"), "no such alert"),
                      "409": _json(_ref("Error"), "already resolved")}}},
    "/api/v1/maintenance": {
        **_get("维护时段 / maintenance windows the token may see, soonest first",
               _json({"type": "object", "properties": {"windows": {
                   "type": "array", "items": _ref("MaintenanceWindow")}}}, "windows"),
               [_param("zone", "query", "zone id; a zone token gets its own"),
                _param("ended", "query", "true: also windows that have ended")],
               **{"404": NO_ZONE}),
        "post": {
            "summary": "申报维护 / declare planned work: its alerts (default data_gap) are "
                       "kept from the channels on every worker while it lasts",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("MaintenanceRequest")}}},
            "responses": {"201": _json(_ref("MaintenanceWindow"), "declared"), **ERRORS,
                          "400": _json(_ref("Error"), "not a valid window, unknown point "
                                       "or enterprise, already ended or too long")}}},
    "/api/v1/maintenance/{window_id}": {
        **_get("一个维护时段 / one window", _json(_ref("MaintenanceWindow"), "the window"),
               [WINDOW_ID], **{"404": _json(_ref("Error"), "no such window")}),
        "delete": {
            "summary": "撤销维护 / withdraw a window declared through the API; alerts it "
                       "held that are still open go out at the next alert tick",
            "parameters": [WINDOW_ID],
            "responses": {"200": _json({"type": "object", "properties": {
                "withdrawn": _ref("MaintenanceWindow")}}, "withdrawn"), **ERRORS,
                "404": _json(_ref("Error"), "no such window"),
                "409": _json(_ref("Error"), "a registry window: load a registry without it")}}},
    "/api/v1/openapi.json": {"get": {"summary": "this description; no token needed",
                                     "security": [],
                                     "responses": {"200": _json({"type": "object"}, "")}}},
    "/healthz": {"get": {"summary": "liveness; no token needed", "security": [],
                         "responses": {"200": _json({"type": "object"}, "up")}}},
}

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "zonewatch", "version": "1",
             "description": "经开区在线监控与安全覆盖率 / zone coverage and alerts. Bearer "
                            "tokens (ZW_TOKENS_FILE): roles ecology, emergency and admin see "
                            "every zone; a zone token sees its own zone (403 for another); "
                            "role metrics reads /metrics only (403 here)."},
    "security": [{"bearer": []}],
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                   "schemas": SCHEMAS},
    "paths": PATHS,
}


class OpenApiView(web.View):
    """GET /api/v1/openapi.json: public, like any API's description."""

    async def get(self, request: web.Request) -> web.Response:
        return self.json(SPEC)
