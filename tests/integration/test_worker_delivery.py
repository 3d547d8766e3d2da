"""Delivery through real workers: registry, ingest, MQTT readings, Kafka, InfluxDB, and a real
HTTP receiver inside the test (`receiver` fixture). What `test_delivery.py` shows for the
Notifier alone, here end to end: escalation after its timeout, maintenance windows declared in
the registry and through the API (on one worker, holding alerts on another), and a worker
killed in the middle of a retry.

Each test has its own zone, topics and app id; its routes file sends only its zone's data
gaps to the receiver. Points report every 2 s (gap threshold 6 s); POINTS[3] never reports.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from streams.web.auth import digest
from tests.integration.helpers import load_registry_and_start_ingest, own_zone
from tests.integration.mqtt import Collector, Fleet
from tests.integration.procs import free_port
from tests.integration.receiver import SECRET, Receiver, eventually, verified

POINTS = [f"jn-{i:04d}-ww1" for i in range(1, 5)]
SILENT = POINTS[3]
MINE, THEIRS = "my-zone-token", "other-zone-token"
ESCALATE_AFTER_S = 6
TICK_S = 1


def routes_file(tmp_path: Path, zone: str, base: str, escalate: bool = False) -> Path:
    """The zone's data gaps to `/hook`; escalations (audience emergency) to `/duty` too."""
    text = f"""\
channels:
  hook: {{type: webhook, url: '{base}/hook', secret: env:ZW_IT_KEY}}
  duty: {{type: webhook, url: '{base}/duty', secret: env:ZW_IT_KEY}}
routes:
  - match: {{zone: {zone}, kind: data_gap}}
    channels: [hook]
    continue: true
  - match: {{zone: {zone}, kind: data_gap, audience: emergency, escalated: true}}
    channels: [duty]
"""
    if escalate:
        text += (f"escalations:\n  - {{match: {{zone: {zone}, kind: data_gap}}, "
                 f"after_minutes: {ESCALATE_AFTER_S / 60}, to: emergency}}\n")
    path = tmp_path / "routes.yaml"
    path.write_text(text)
    return path


def worker_env(tmp_path: Path, zone: str, receiver: Receiver, escalate: bool = False,
               **more: str) -> dict[str, str]:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(yaml.safe_dump([
        {"name": "jn-committee", "sha256": digest(MINE), "role": "zone", "zone": zone},
        {"name": "pk-committee", "sha256": digest(THEIRS), "role": "zone",
         "zone": "pukou-edz"}]))
    return {"ZW_ROUTES_FILE": str(routes_file(tmp_path, zone, receiver.base, escalate)),
            "ZW_IT_KEY": SECRET, "ZW_TOKENS_FILE": str(tokens), "ZW_ALERT_TICK_S": str(TICK_S),
            **more}


async def start_pipeline(spawn, zw_env: dict[str, str], tmp_path: Path,
                         maintenance: list[dict] | None = None) -> None:
    """Registry loaded, ingest subscribed (blocking helpers, off the receiver's loop)."""
    await asyncio.to_thread(load_registry_and_start_ingest, spawn, zw_env, tmp_path, 2,
                            maintenance)


class Api:
    """The worker's HTTP API, from the test's own loop."""

    def __init__(self, http: aiohttp.ClientSession, port: str) -> None:
        self.http, self.base = http, f"http://127.0.0.1:{port}"

    async def call(self, method: str, path: str, token: str | None = None,
                   body: dict | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            async with self.http.request(method, self.base + path, json=body,
                                         headers=headers) as r:
                return r.status, await r.json(content_type=None)
        except aiohttp.ClientConnectionError:
            return 0, None

    async def healthy(self) -> bool:
        status, body = await self.call("GET", "/healthz")
        return status == 200 and body["status"] == "ok"

    async def window_ids(self, token: str) -> set[str]:
        status, body = await self.call("GET", "/api/v1/maintenance", token)
        assert status == 200, (status, body)
        return {w["id"] for w in body["windows"]}


async def check_maintenance_auth(api: Api, window_id: str) -> None:
    """No token: 401 for reading and withdrawing; a zone token asking for another zone's
    windows, or for one window of another zone: 403."""
    for method, path in (("GET", "/api/v1/maintenance"),
                         ("GET", f"/api/v1/maintenance/{window_id}"),
                         ("DELETE", f"/api/v1/maintenance/{window_id}")):
        status, body = await api.call(method, path)
        assert status == 401, (method, path, status, body)
    status, body = await api.call("GET", "/api/v1/maintenance?zone=pukou-edz", MINE)
    assert status == 403, body
    status, body = await api.call("GET", f"/api/v1/maintenance/{window_id}", THEIRS)
    assert status == 403, body
    status, body = await api.call("GET", f"/api/v1/maintenance/{window_id}", MINE)
    assert status == 200 and body["id"] == window_id, body


async def test_unacknowledged_gap_escalates_to_the_duty_channel_after_the_timeout(
        zw_env: dict[str, str], spawn, tmp_path: Path, receiver: Receiver) -> None:
    zone = own_zone(zw_env)
    await start_pipeline(spawn, zw_env, tmp_path)
    worker = spawn("worker", "worker", **worker_env(tmp_path, zone, receiver, escalate=True))
    fleet = Fleet(zw_env["ZW_MQTT_URL"], zone, POINTS[:3])
    try:
        (first,) = await eventually(lambda: worker.assert_alive() or receiver.delivered(
            "/hook", point=SILENT), timeout=90, what="the silent point's data gap")
        assert not receiver.tried("/duty"), "not escalated at once"
        (escalated,) = await eventually(lambda: worker.assert_alive() or receiver.delivered(
            "/duty", point=SILENT), timeout=30, what="the escalation")
        await asyncio.sleep(3 * TICK_S)  # more ticks: still one escalation
    finally:
        fleet.close()
    opened, doc = verified(first.headers, first.body), verified(escalated.headers,
                                                               escalated.body)
    assert (doc["id"], doc["status"]) == (opened["id"], "open")
    assert opened["notification"]["reason"] == "change"
    assert doc["notification"]["reason"] == "escalation"
    assert doc["notification"]["escalated_to"] == "emergency"
    waited = escalated.at - first.at
    print(f"escalated {waited:.1f} s after the first delivery")
    assert ESCALATE_AFTER_S <= waited <= ESCALATE_AFTER_S + TICK_S + 3
    assert len(receiver.tried("/duty")) == 1 and len(receiver.tried("/hook", point=SILENT)) == 1


async def test_no_data_gap_delivered_inside_a_maintenance_window(
        zw_env: dict[str, str], spawn, tmp_path: Path, receiver: Receiver) -> None:
    """A registry window on POINTS[3] and an API window on POINTS[1], declared on worker A
    and withdrawn on worker B: only POINTS[2]'s gap is delivered while they are on."""
    zone = own_zone(zw_env)
    now = datetime.now(UTC)
    planned = {"point": SILENT, "start": (now - timedelta(minutes=1)).isoformat(),
               "end": (now + timedelta(hours=1)).isoformat(), "reason": "年度校准"}
    await start_pipeline(spawn, zw_env, tmp_path, maintenance=[planned])
    env = worker_env(tmp_path, zone, receiver)
    port_b = str(free_port())
    workers = [spawn("worker-a", "worker", **env),
               spawn("worker-b", "worker", **env, ZW_WEB_PORT=port_b)]
    fleet = Fleet(zw_env["ZW_MQTT_URL"], zone, POINTS[:3])
    published = Collector(zw_env["ZW_MQTT_URL"], f"zw/v1/alerts/{zone}/data_gap")

    def alive() -> None:
        for w in workers:
            w.assert_alive()

    def opened(point: str) -> list[dict]:
        alive()
        return [m for _, m in published.messages if m["point"] == point]

    try:
        async with aiohttp.ClientSession() as http:
            a, b = Api(http, zw_env["ZW_WEB_PORT"]), Api(http, port_b)
            await eventually(lambda: alive() or a.healthy(), 90, "worker A")
            await eventually(lambda: alive() or b.healthy(), 90, "worker B")
            body = {"point": POINTS[1], "start": (now - timedelta(minutes=1)).isoformat(),
                    "end": (now + timedelta(minutes=30)).isoformat(), "reason": "更换采样泵"}
            assert (await a.call("POST", "/api/v1/maintenance", None, body))[0] == 401
            assert (await a.call("POST", "/api/v1/maintenance", THEIRS, body))[0] == 403
            status, window = await a.call("POST", "/api/v1/maintenance", MINE, body)
            assert status == 201, window
            assert (window["zone"], window["source"], window["declared_by"]) == (
                zone, "api", "jn-committee")
            async def on_b() -> set[str] | None:
                ids = await b.window_ids(MINE)
                return ids if window["id"] in ids else None
            both = await eventually(on_b, 15, "the API's window on worker B")
            assert len(both) == 2, "the API's and the registry's"
            assert await b.window_ids(THEIRS) == set(), "zone-limited"
            await check_maintenance_auth(b, window["id"])

            fleet.live -= {POINTS[1], POINTS[2]}
            await eventually(lambda: alive() or receiver.delivered("/hook", point=POINTS[2]),
                             60, "POINTS[2]'s gap, outside any window, delivered")
            await eventually(lambda: opened(POINTS[1]) and opened(SILENT), 30,
                             "the held gaps to open (on Kafka and MQTT)")
            await asyncio.sleep(3 * TICK_S)  # ticks pass: held, not sent
            assert not receiver.tried("/hook", point=POINTS[1])
            assert not receiver.tried("/hook", point=SILENT)

            assert (await b.call("DELETE", f"/api/v1/maintenance/{window['id']}", THEIRS)
                    )[0] == 403
            status, _ = await b.call("DELETE", f"/api/v1/maintenance/{window['id']}", MINE)
            assert status == 200
            registry_window = (both - {window["id"]}).pop()
            assert (await b.call("DELETE", f"/api/v1/maintenance/{registry_window}", MINE)
                    )[0] == 409
            await eventually(lambda: alive() or receiver.delivered("/hook", point=POINTS[1]),
                             15, "the gap held by the withdrawn window, sent")
    finally:
        fleet.close()
        published.close()
    assert not receiver.tried("/hook", point=SILENT), "the registry window still holds"
    (released,) = receiver.delivered("/hook", point=POINTS[1])
    assert verified(released.headers, released.body)["id"] == opened(POINTS[1])[0]["id"]


async def test_worker_killed_while_retrying_a_delivery_loses_none(
        zw_env: dict[str, str], spawn, tmp_path: Path, receiver: Receiver) -> None:
    """The alert's offset on zw.alerts is committed only once its deliveries are done, and
    the notify log is written after the send: a worker SIGKILLed mid-retry leaves the alert
    to the next one, which sends the same notification again."""
    zone = own_zone(zw_env)
    receiver.fail["/hook"] = -1
    env = worker_env(tmp_path, zone, receiver, ZW_DELIVERY_ATTEMPTS="10000",
                     ZW_DELIVERY_BUDGET_S="3600", ZW_DELIVERY_BACKOFF_S="0.2",
                     ZW_DELIVERY_BACKOFF_MAX_S="0.5", ZW_KAFKA_SESSION_TIMEOUT_S="10")
    await start_pipeline(spawn, zw_env, tmp_path)
    worker = spawn("worker", "worker", **env)
    fleet = Fleet(zw_env["ZW_MQTT_URL"], zone, POINTS[:3])
    try:
        await eventually(lambda: worker.assert_alive() or len(
            receiver.tried("/hook", point=SILENT)) >= 3, 90, "a few failed attempts")
        worker.kill()
        killed, failed = time.monotonic(), len(receiver.tried("/hook", point=SILENT))
        receiver.fail["/hook"] = 0  # the receiver recovers while no worker runs
        again = spawn("worker-again", "worker", **env)
        (delivered,) = await eventually(lambda: again.assert_alive() or receiver.delivered(
            "/hook", point=SILENT), 90, "the delivery after the restart")
    finally:
        fleet.close()
    tried = receiver.tried("/hook", point=SILENT)
    assert all(r.status == 500 for r in tried[:failed]) and tried[failed:] == [delivered]
    before = verified(tried[0].headers, tried[0].body)
    after = verified(delivered.headers, delivered.body)
    assert (after["id"], after["status"]) == (before["id"], "open")
    key = f"{before['id']}/open/change/0"
    assert {r.headers["X-Zonewatch-Delivery"] for r in tried} == {key}, (
        "every attempt, before and after the restart, is one notification: "
        "a receiver de-duplicates them")
    print(f"{failed} failed attempts; delivered {delivered.at - killed:.1f} s after the kill")
