"""The HTTP API over the real pipeline: tokens, zone limits, figures, alerts, acknowledging."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.web.auth import digest
from tests.integration.helpers import load_registry_and_start_ingest, own_zone
from tests.integration.mqtt import Fleet
from tests.integration.procs import wait_until

POINTS = [f"jn-{i:04d}-ww1" for i in range(1, 5)]  # the last one stays silent
OTHER = "pukou-edz"
ECO, MINE, THEIRS = "eco-token", "my-zone-token", "other-zone-token"


class Api:
    def __init__(self, port: str) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def call(self, path: str, token: str | None = None, body: dict | None = None,
             method: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, headers=headers,
                                     method=method or ("POST" if body is not None else "GET"))
        try:
            with urllib.request.urlopen(req, timeout=15) as r:
                return r.status, _decode(r.read(), r.headers.get_content_type())
        except urllib.error.HTTPError as e:
            return e.code, _decode(e.read(), e.headers.get_content_type())
        except OSError:
            return 0, None

    def ok(self, path: str, token: str) -> Any:
        status, body = self.call(path, token)
        assert status == 200, (path, status, body)
        return body


def _decode(raw: bytes, ctype: str) -> Any:
    return json.loads(raw) if ctype == "application/json" else raw.decode()


def write_tokens(path: Path, zone: str) -> Path:
    path.write_text(yaml.safe_dump([
        {"name": "eco-bureau", "sha256": digest(ECO), "role": "ecology"},
        {"name": "jn-committee", "sha256": digest(MINE), "role": "zone", "zone": zone},
        {"name": "pk-committee", "sha256": digest(THEIRS), "role": "zone", "zone": OTHER}]))
    return path


@pytest.fixture
def running(zw_env: dict[str, str], spawn, tmp_path: Path):
    zone = own_zone(zw_env)
    load_registry_and_start_ingest(spawn, zw_env, tmp_path, interval_s=2)
    tokens = write_tokens(tmp_path / "tokens.yaml", zone)
    worker = spawn("worker", "worker", ZW_TOKENS_FILE=str(tokens), ZW_ZONE_INTERVAL_S="1")
    api = Api(zw_env["ZW_WEB_PORT"])
    fleet = Fleet(zw_env["ZW_MQTT_URL"], zone, POINTS[:3])
    wait_until(lambda: worker.assert_alive() or (api.call("/healthz")[1] or {}).get("status")
               == "ok", timeout=90, what="the worker's web server and registry")
    yield api, zone, fleet, worker
    fleet.close()


def zone_line(api: Api, zone: str) -> dict | None:
    lines = api.ok("/api/v1/coverage", ECO)["zones"]
    return next((z for z in lines if z["zone"] == zone and z["at"]), None)


def open_gap(api: Api, zone: str) -> dict | None:
    found = api.ok(f"/api/v1/alerts?status=open&zone={zone}&kind=data_gap", ECO)["alerts"]
    return next((a for a in found if a["point"] == POINTS[3]), None)


def test_api_tokens_zone_limits_figures_alerts_and_ack(running) -> None:
    api, zone, fleet, worker = running
    check_no_token_is_401(api, zone)
    line = wait_until(lambda: (z := zone_line(api, zone)) and z["monitoring_rate"] == 0.75
                      and z, timeout=90, what="75 % coverage through the API")
    assert line["units_total"] == 4 and line["units_covered"] == 3 and line["name"] == "江宁经开区"
    check_coverage_views(api, zone)
    gap = wait_until(lambda: worker.assert_alive() or open_gap(api, zone), timeout=60,
                     what="the silent point's data_gap through the API")
    check_alert_views(api, zone, gap)
    check_ack(api, gap)
    fleet.live.add(POINTS[3])
    wait_until(lambda: api.ok(f"/api/v1/alerts/{gap['id']}", ECO)["alert"]["status"]
               == "resolved", timeout=60, what="the gap to resolve")
    status, body = api.call(f"/api/v1/alerts/{gap['id']}/ack", MINE, {})
    assert status == 409, body
    check_public_pages(api)


def check_no_token_is_401(api: Api, zone: str) -> None:
    for path in ("/api/v1/coverage", "/api/v1/coverage/trend", f"/api/v1/zones/{zone}/coverage",
                 "/api/v1/alerts?status=open", "/api/v1/alerts/dg-0123456789abcdef"):
        for token in (None, "not-a-token", digest(ECO)):
            status, body = api.call(path, token)
            assert status == 401, (path, token, status, body)
    assert api.call("/api/v1/alerts/dg-0123456789abcdef/ack", None, {})[0] == 401


def check_coverage_views(api: Api, zone: str) -> None:
    assert {z["zone"] for z in api.ok("/api/v1/coverage", ECO)["zones"]} == {zone, OTHER}
    assert [z["zone"] for z in api.ok("/api/v1/coverage", MINE)["zones"]] == [zone]
    page = api.ok(f"/api/v1/zones/{zone}/coverage", MINE)
    assert page["monitoring_rate"] == 0.75
    assert [u["enterprise"] for u in page["dark"]] == ["jn-0004"]
    assert page["dark"][0]["points"][0] == {
        "point": POINTS[3], "status": "offline", "kind": "wastewater", "domain": "environment",
        "last_valid": None}
    done = page["completeness"]
    assert done["points"][POINTS[3]]["rate"] == 0 and done["points"][POINTS[0]]["on_time"] > 0
    assert set(done["units"]) == {"jn-0001", "jn-0002", "jn-0003", "jn-0004"}
    assert {p["platform"] for p in page["platforms_offline"]} == {f"{zone}-safety"}
    for path in (f"/api/v1/zones/{OTHER}/coverage", f"/api/v1/coverage/trend?zone={OTHER}"):
        assert api.call(path, MINE)[0] == 403, path
    assert api.call(f"/api/v1/zones/{zone}/coverage", THEIRS)[0] == 403
    assert api.call("/api/v1/zones/no-such-zone/coverage", ECO)[0] == 404
    assert api.call(f"/api/v1/zones/{zone}/coverage?from=yesterday", ECO)[0] == 400
    assert api.call(f"/api/v1/zones/{zone}/coverage?from=2020-01-01", ECO)[0] == 400
    trend = api.ok(f"/api/v1/coverage/trend?zone={zone}&hours=1", MINE)["zones"]
    assert set(trend) == {zone} and trend[zone][-1]["monitoring_rate"] is not None
    assert set(api.ok("/api/v1/coverage/trend", MINE)["zones"]) <= {zone}


def check_alert_views(api: Api, zone: str, gap: dict) -> None:
    mine = api.ok("/api/v1/alerts", MINE)["alerts"]
    assert mine and {a["zone"] for a in mine} == {zone}  # silently limited to its zone
    everyone = api.ok("/api/v1/alerts?status=open", ECO)["alerts"]
    assert {a["zone"] for a in everyone} >= {zone, OTHER}  # pukou's platform is silent too
    theirs = next(a for a in everyone if a["zone"] == OTHER)
    assert api.call(f"/api/v1/alerts?zone={OTHER}", MINE)[0] == 403
    assert api.call(f"/api/v1/alerts/{theirs['id']}", MINE)[0] == 403
    assert api.call(f"/api/v1/alerts/{theirs['id']}/ack", MINE, {})[0] == 403
    assert api.call(f"/api/v1/alerts/{gap['id']}", THEIRS)[0] == 403
    assert api.call(f"/api/v1/alerts/{gap['id']}/ack", THEIRS, {})[0] == 403
    assert api.call("/api/v1/alerts?status=closed", ECO)[0] == 400
    assert api.call("/api/v1/alerts?kind=nonsense", ECO)[0] == 400
    critical = api.ok("/api/v1/alerts?severity=critical", ECO)["alerts"]
    assert all(a["severity"] == "critical" for a in critical)
    one = api.ok(f"/api/v1/alerts/{gap['id']}", MINE)
    assert one["alert"]["id"] == gap["id"] and [h["status"] for h in one["history"]] == ["open"]
    assert api.call("/api/v1/alerts/dg-ffffffffffffffff", ECO)[0] == 404
    assert api.call("/api/v1/alerts/dg-ffffffffffffffff/ack", ECO, {})[0] == 404


def check_ack(api: Api, gap: dict) -> None:
    status, body = api.call(f"/api/v1/alerts/{gap['id']}/ack", MINE,
                            {"note": "已派人检修 / technician sent"})
    assert status == 202, body
    assert body["alert"]["id"] == gap["id"] and body["ack"]["by"] == "jn-committee"
    assert api.call(f"/api/v1/alerts/{gap['id']}/ack", MINE, {"by": 5})[0] == 400

    def acknowledged() -> dict | None:
        found = api.ok(f"/api/v1/alerts?status=acknowledged&zone={gap['zone']}", ECO)["alerts"]
        return next((a for a in found if a["id"] == gap["id"]), None)
    acked = wait_until(acknowledged, timeout=15, what="the ack to show in GET /api/v1/alerts")
    assert acked["acknowledged_by"] == "jn-committee"
    history = api.ok(f"/api/v1/alerts/{gap['id']}", ECO)["history"]
    assert [h["status"] for h in history] == ["open", "acknowledged"]


def check_public_pages(api: Api) -> None:
    status, spec = api.call("/api/v1/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.1")
    assert {"/api/v1/coverage", "/api/v1/zones/{zone}/coverage", "/api/v1/alerts",
            "/api/v1/alerts/{alert_id}", "/api/v1/alerts/{alert_id}/ack"} <= set(spec["paths"])
    status, html = api.call("/")
    assert status == 200 and "经开区" in html and "/static/app.js" in html
    assert api.call("/static/app.js")[0] == 200 and api.call("/static/style.css")[0] == 200
    assert api.call("/static/nothing.js")[0] == 404
    assert api.call("/static/..%2Fapi.py")[0] == 404
    assert api.call("/healthz")[1]["status"] == "ok"
