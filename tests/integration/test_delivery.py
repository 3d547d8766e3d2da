"""Delivery against real receivers: an aiohttp server inside the test on a free loopback port,
and the real Alertmanager from deploy/local/services. Each test routes its own zone, so
parallel or stale alerts never mix in."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from alerts.config import Routes, load_routes
from alerts.deliver import DeliveryMetrics, Notifier, RetryPolicy
from alerts.lifecycle import Incident, Scope, acknowledge, open_alert, resolve
from alerts.notify_log import NotifyState
from schemas import Alert, AlertKind, Summary
from tests.integration.receiver import SECRET, Receiver, verified

POLICY = RetryPolicy(attempts=4, budget_s=10, base_s=0.05, cap_s=0.2)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def zone() -> str:
    return f"it-{uuid.uuid4().hex[:10]}"


def _routes(tmp_path: Path, channels: dict[str, str], zone: str, am_url: str | None = None
            ) -> Routes:
    """A routes file sending the test's zone to `channels` (name → receiver path or `am`)."""
    lines = ["channels:"]
    for name, target in channels.items():
        lines.append(f"  {name}: {{type: alertmanager, resend_minutes: 1}}" if target == "am"
                     else f"  {name}: {{type: webhook, url: '{target}', secret: env:ZW_IT_KEY}}")
    lines += ["routes:", f"  - match: {{zone: {zone}}}", f"    channels: [{', '.join(channels)}]"]
    path = tmp_path / "routes.yaml"
    path.write_text("\n".join(lines) + "\n")
    return load_routes(path, alertmanager_url=am_url, env={"ZW_IT_KEY": SECRET})


def _alert(zone: str) -> Alert:
    now = datetime.now(UTC)
    point = f"{zone}-gd1"
    inc = Incident(AlertKind.DATA_GAP, point, zone, now - timedelta(minutes=3), f"{zone}-e",
                   point, scope=Scope.SAFETY_GAS)
    return open_alert(inc, Summary(zh="气体探测器数据中断", en="gas detector silent"), now)


def _notifier(routes: Routes, session: aiohttp.ClientSession) -> tuple[Notifier,
                                                                        CollectorRegistry]:
    registry = CollectorRegistry()
    return Notifier(routes, session, DeliveryMetrics(registry), POLICY), registry


async def test_each_change_once_per_routed_channel(tmp_path: Path, receiver: Receiver,
                                                   session: aiohttp.ClientSession,
                                                   zone: str) -> None:
    routes = _routes(tmp_path, {"hook-a": f"{receiver.base}/a",
                                "hook-b": f"{receiver.base}/b"}, zone)
    notifier, _ = _notifier(routes, session)
    alert = _alert(zone)
    acked, _ = acknowledge(alert, "值班员", datetime.now(UTC))
    done, _ = resolve(acked, datetime.now(UTC))
    state = NotifyState()
    for change in (alert, alert, acked, alert, done, done):  # replays in between
        out = await notifier.notify(change, state)
        assert out.dead_letters == []
        state = NotifyState.from_dict(json.loads(json.dumps(out.state.to_dict())))
    for path in ("/a", "/b"):
        docs = [verified(h, b) for h, b in receiver.at(path)]
        assert [(d["id"], d["status"]) for d in docs] == [
            (alert.id, "open"), (alert.id, "acknowledged"), (alert.id, "resolved")]
        assert docs[1]["acknowledged_by"] == "值班员"


async def test_failing_twice_then_delivered(tmp_path: Path, receiver: Receiver,
                                            session: aiohttp.ClientSession, zone: str) -> None:
    receiver.fail["/flaky"] = 2
    notifier, registry = _notifier(_routes(tmp_path, {"flaky": f"{receiver.base}/flaky"},
                                           zone), session)
    alert = _alert(zone)
    out = await notifier.notify(alert)
    assert [d.channel for d in out.sent] == ["flaky"] and out.dead_letters == []
    seen = receiver.at("/flaky")
    assert len(seen) == 3
    assert len({b for _, b in seen}) == 1, "every retry sends the same signed bytes"
    assert {h["X-Zonewatch-Delivery"] for h, _ in seen} == {f"{alert.id}/open/change/0"}
    assert registry.get_sample_value("zw_alert_delivery_retries_total",
                                     {"channel": "flaky", "reason": "server_error"}) == 2
    assert registry.get_sample_value("zw_alert_deliveries_total", {
        "channel": "flaky", "reason": "change", "outcome": "delivered"}) == 1
    assert (await notifier.notify(alert, out.state)).sent == []
    assert len(receiver.at("/flaky")) == 3


async def test_always_failing_goes_to_dead_letters(tmp_path: Path, receiver: Receiver,
                                                   session: aiohttp.ClientSession,
                                                   zone: str) -> None:
    receiver.fail["/down"] = -1
    routes = _routes(tmp_path, {"down": f"{receiver.base}/down",
                                "up": f"{receiver.base}/up"}, zone)
    notifier, registry = _notifier(routes, session)
    alert = _alert(zone)
    out = await notifier.notify(alert)
    assert [d.channel for d in out.sent] == ["up"], "one dead channel does not stop the other"
    (dead,) = out.dead_letters
    assert len(receiver.at("/down")) == POLICY.attempts
    assert dead.topic == "channel/down" and dead.code == "delivery_server_error"
    assert "after 4 attempt(s): HTTP 500: down for the test" in dead.reason
    assert json.loads(dead.raw)["id"] == alert.id
    assert registry.get_sample_value("zw_alert_deadletters_total",
                                     {"channel": "down", "reason": "server_error"}) == 1
    again = await notifier.notify(alert, out.state)
    assert again.sent == again.dead_letters == [] and len(receiver.at("/down")) == 4
    done, _ = resolve(alert, datetime.now(UTC))
    receiver.fail["/down"] = 0
    out = await notifier.notify(done, again.state)
    assert {d.channel for d in out.sent} == {"up", "down"}, "told (or tried): told it ended"


async def _am_alerts(session: aiohttp.ClientSession, url: str, alert_id: str) -> list[dict]:
    params = {"filter": f'alert_id="{alert_id}"'}
    async with session.get(f"{url}/api/v2/alerts", params=params) as resp:
        assert resp.status == 200
        return await resp.json()


async def test_alertmanager_shows_the_alert_and_its_end(tmp_path: Path,
                                                        services: dict[str, str],
                                                        session: aiohttp.ClientSession,
                                                        zone: str) -> None:
    am = services["ZW_ALERTMANAGER_URL"]
    notifier, _ = _notifier(_routes(tmp_path, {"am": "am"}, zone, am), session)
    alert = _alert(zone)
    state = (await notifier.notify(alert)).state
    (shown,) = await _am_alerts(session, am, alert.id)
    assert shown["labels"] == {"alertname": "zonewatch_data_gap", "alert_id": alert.id,
                               "zone": zone, "kind": "data_gap", "severity": "critical",
                               "point": f"{zone}-gd1", "enterprise": f"{zone}-e"}
    assert shown["annotations"]["status"] == "open"
    assert shown["status"]["state"] == "active"
    assert datetime.fromisoformat(shown["startsAt"]) == alert.opened_at.replace(
        microsecond=alert.opened_at.microsecond // 1000 * 1000)
    assert datetime.fromisoformat(shown["endsAt"]) > datetime.now(UTC) + timedelta(minutes=3)
    acked, _ = acknowledge(alert, "运维", datetime.now(UTC))
    state = (await notifier.notify(acked, state)).state
    (shown,) = await _am_alerts(session, am, alert.id)
    assert shown["annotations"]["status"] == "acknowledged"
    assert shown["annotations"]["acknowledged_by"] == "运维"
    done, _ = resolve(acked, datetime.now(UTC))
    out = await notifier.notify(done, state)
    assert [d.channel for d in out.sent] == ["am"]
    await asyncio.sleep(0.05)
    assert await _am_alerts(session, am, alert.id) == [], (
        "endsAt is the resolve time: Alertmanager no longer lists it as active (the live "
        "endsAt was minutes ahead)")
