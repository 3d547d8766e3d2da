"""The HTTP API over the real pipeline: tokens, zone limits, figures, alerts, acknowledging."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS

from schemas import Alert
from streams.storage import alert_point
from streams.web import API_ROUTES
from streams.web.auth import digest
from tests.integration.helpers import load_registry_and_start_ingest, own_zone
from tests.integration.mqtt import Fleet
from tests.integration.procs import free_port, wait_until

POINTS = [f"jn-{i:04d}-ww1" for i in range(1, 5)]  # the last one stays silent
OTHER = "pukou-edz"
ECO, MINE, THEIRS = "eco-token", "my-zone-token", "other-zone-token"
SCRAPE = "prometheus-token"


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
        {"name": "pk-committee", "sha256": digest(THEIRS), "role": "zone", "zone": OTHER},
        {"name": "prometheus", "sha256": digest(SCRAPE), "role": "metrics"}]))
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


def test_api_tokens_zone_limits_figures_alerts_and_ack(
        running, influx: InfluxDBClient, zw_env: dict[str, str]) -> None:
    api, zone, fleet, worker = running
    check_no_token_is_401(api, zone)
    check_metrics_need_a_city_token(api)
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
    check_every_documented_operation_is_served(api, zone, gap["id"])
    check_filters_apply_before_the_limit(api, influx, zw_env)


def check_no_token_is_401(api: Api, zone: str) -> None:
    for path in ("/api/v1/coverage", "/api/v1/coverage/trend", f"/api/v1/zones/{zone}/coverage",
                 "/api/v1/alerts?status=open", "/api/v1/alerts/dg-0123456789abcdef"):
        for token in (None, "not-a-token", digest(ECO)):
            status, body = api.call(path, token)
            assert status == 401, (path, token, status, body)
    assert api.call("/api/v1/alerts/dg-0123456789abcdef/ack", None, {})[0] == 401


def check_metrics_need_a_city_token(api: Api) -> None:
    """/metrics holds every zone's rates: not for anyone, nor for a zone's committee."""
    for token in (None, "not-a-token"):
        status, body = api.call("/metrics", token)
        assert status == 401, (token, status, body)
    status, body = api.call("/metrics", MINE)
    assert status == 403, body
    assert "zw_zone_rate" not in json.dumps(body)
    status, text = api.call("/metrics", ECO)
    assert status == 200 and "zw_worker_readings_stored_total" in text, (status, text)
    status, text = api.call("/metrics", SCRAPE)
    assert status == 200 and "zw_zone_rate" in text, (status, text)
    # the scrape's token reads /metrics and nothing else: no figures, no acknowledging
    for path in ("/api/v1/coverage", "/api/v1/alerts?status=open", "/api/v1/maintenance"):
        assert api.call(path, SCRAPE)[0] == 403, path
    assert api.call("/api/v1/alerts/dg-0123456789abcdef/ack", SCRAPE, {})[0] == 403


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


def check_every_documented_operation_is_served(api: Api, zone: str, alert_id: str) -> None:
    """Each path and method of the OpenAPI description reaches its view (the router's own 404
    or 405 is not JSON, nor documented), and every API route is described."""
    spec = api.call("/api/v1/openapi.json")[1]
    assert {path for path, _ in API_ROUTES} <= set(spec["paths"])
    known = {"zone": zone, "alert_id": alert_id, "window_id": "mw-000000000000"}
    for path, item in spec["paths"].items():
        url = re.sub(r"\{(\w+)\}", lambda m: known[m[1]], path)
        for method, operation in item.items():
            body = {} if method == "post" else None  # declares nothing: 400, 409 (resolved)
            status, answer = api.call(url, ECO, body, method.upper())
            assert str(status) in operation["responses"], (method, url, status, answer)
            assert isinstance(answer, dict), (method, url, status, answer)


def check_filters_apply_before_the_limit(api: Api, influx: InfluxDBClient,
                                         zw_env: dict[str, str]) -> None:
    """An alert open for a month stays in `?status=open` behind more than 10,000 newer,
    resolved ones of its zone and kind, and `total` counts every match, not the first page."""
    now, resolved = datetime.now(UTC), 10_050

    def alert(i: int, status: str, at: datetime) -> str:
        return alert_point(Alert(
            id=f"hz-{i:016x}", kind="hazard_overdue", status=status, severity="warning",
            zone=OTHER, enterprise="pk-0001", opened_at=at, updated_at=at,
            resolved_at=at if status == "resolved" else None, subject=f"hz-{i}",
            summary={"zh": "隐患逾期", "en": "hazard overdue"}, audience=["emergency"],
        )).to_line_protocol()
    lines = [alert(0, "open", now - timedelta(days=30))]
    lines += [alert(i, "resolved", now - timedelta(hours=1, milliseconds=i))
              for i in range(1, resolved + 1)]
    influx.write_api(write_options=SYNCHRONOUS).write(
        zw_env["ZW_INFLUX_BUCKET"], zw_env["ZW_INFLUX_ORG"], lines, WritePrecision.MS)
    where = f"zone={OTHER}&kind=hazard_overdue"
    still_open = api.ok(f"/api/v1/alerts?status=open&{where}", ECO)
    assert [a["id"] for a in still_open["alerts"]] == [f"hz-{0:016x}"]
    assert still_open["total"] == 1
    page = api.ok(f"/api/v1/alerts?status=resolved&{where}&limit=3", ECO)
    assert [a["id"] for a in page["alerts"]] == [f"hz-{i:016x}" for i in (1, 2, 3)]
    assert page["total"] == resolved


def readings_lag(api: Api, topic: str) -> dict[int, float]:
    """partition → `zw_worker_kafka_lag` of the readings topic, from /metrics."""
    status, text = api.call("/metrics", ECO)
    if status != 200:
        return {}
    found = {}
    for labels, value in re.findall(r"^zw_worker_kafka_lag\{([^}]*)\} (\S+)$", text, re.M):
        pairs = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        if pairs["topic"] == topic:
            found[int(pairs["partition"])] = float(value)
    return found


def test_kafka_lag_counts_the_readings_not_yet_done(
        zw_env: dict[str, str], spawn, tmp_path: Path) -> None:
    """While InfluxDB cannot be reached the stream waits and commits nothing: the readings
    topic's lag grows with every reading ingest forwards. A worker that can write catches up
    and the lag of every partition goes to 0 once ingest has stopped."""
    zone = own_zone(zw_env)
    ingest = load_registry_and_start_ingest(spawn, zw_env, tmp_path, interval_s=2)
    tokens = str(write_tokens(tmp_path / "tokens.yaml", zone))
    stuck = spawn("worker-stuck", "worker", ZW_TOKENS_FILE=tokens,
                  ZW_INFLUX_URL=f"http://127.0.0.1:{free_port()}")
    api, topic = Api(zw_env["ZW_WEB_PORT"]), zw_env["ZW_TOPIC_READINGS"]
    fleet = Fleet(zw_env["ZW_MQTT_URL"], zone, POINTS[:3])
    try:
        first = wait_until(lambda: stuck.assert_alive() or (
            (lag := readings_lag(api, topic)) and sum(lag.values()) > 0 and lag),
            timeout=90, what="a readings lag while InfluxDB is unreachable")
        assert set(first) == set(range(8)), "one series per partition of the topic"
        wait_until(lambda: stuck.assert_alive() or sum(readings_lag(api, topic).values())
                   > sum(first.values()) + 5, timeout=30, what="the lag to grow")
    finally:
        fleet.close()
    ingest.stop()
    stuck.stop()
    worker = spawn("worker", "worker", ZW_TOKENS_FILE=tokens)
    done = wait_until(lambda: worker.assert_alive() or (
        (lag := readings_lag(api, topic)) and len(lag) == 8 and not any(lag.values()) and lag),
        timeout=120, what="every readings partition done")
    assert done == dict.fromkeys(range(8), 0.0)
