"""Channel payloads and signatures, the HTTP failure sorting, and the retry stage — against an
in-process loopback server where the wire matters, with a fake clock where time does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote_plus, urlsplit

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from alerts.channels import Notice, Reason, alertmanager, dingtalk, webhook, wecom
from alerts.channels.base import Response, check_errcode, check_status
from alerts.config import Routes
from alerts.deliver import DeliveryMetrics, Notifier, RetryPolicy, with_retry
from alerts.exceptions import DeliveryError, DeliveryReason
from alerts.lifecycle import Incident, Scope, acknowledge, open_alert, resolve
from schemas import Alert, AlertKind, Summary

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def _alert(scope: Scope = Scope.SAFETY_GAS) -> Alert:
    inc = Incident(AlertKind.DATA_GAP, "jn-0001-gd1", "jiangning-edz", T0 - timedelta(minutes=5),
                   "jn-0001", "jn-0001-gd1", scope=scope)
    return open_alert(inc, Summary(zh="江宁经开区 jn-0001-gd1 气体探测器数据中断 5 分钟",
                                   en="Jiangning EDZ jn-0001-gd1 gas detector silent 5 min"), T0)


NOTICE = Notice("hook", T0)


# -- webhook ---------------------------------------------------------------------------------

def test_webhook_signature_known_good() -> None:
    """Computed apart: printf '{"a":1}' | openssl dgst -sha256 -hmac k"""
    assert webhook.signature(b'{"a":1}', "k") == (
        "sha256=c3a92ff9e274cdcce27a58c15a78ec6dcbbdbd0038a87e7a11baef2028fd8bff")


def test_webhook_body_and_headers_verifiable() -> None:
    config = webhook.WebhookConfig(url="http://127.0.0.1:9/h", secret=SecretStr("s3cret"),
                                   headers={"X-Team": "yjj"})
    alert = _alert()
    body, headers = webhook.request(alert, config, NOTICE)
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Zonewatch-Signature"], f"sha256={expected}")
    assert headers["X-Zonewatch-Alert-Id"] == alert.id
    assert headers["X-Zonewatch-Alert-Status"] == "open"
    assert headers["X-Zonewatch-Delivery"] == f"{alert.id}/open/change/0"
    assert headers["X-Team"] == "yjj"
    doc = json.loads(body)
    assert doc["id"] == alert.id and doc["status"] == "open" and doc["kind"] == "data_gap"
    assert doc["summary"]["zh"].startswith("江宁") and "\\u" not in body.decode()
    assert doc["notification"] == {"key": f"{alert.id}/open/change/0", "reason": "change",
                                   "seq": 0, "channel": "hook", "at": T0.isoformat(),
                                   "escalated_to": None}
    assert webhook.request(alert, config, NOTICE)[0] == body, "a retry sends the same bytes"


# -- DingTalk --------------------------------------------------------------------------------

SIGN_SECRET = "SEC0a1b2c3d4e5f6789"
SIGN_TS = 1700000000000
SIGN_KNOWN = "oM5Ki7pnDY1cNtWeOa3age%2Ft0spJoWSXsZ7IENdp4lg%3D"
"""printf '1700000000000\\nSEC0a1b2c3d4e5f6789' | openssl dgst -sha256 -hmac SEC0a1b2c3d4e5f6789
-binary | base64, then URL-encoded."""


def test_dingtalk_sign_known_good() -> None:
    assert dingtalk.sign(SIGN_TS, SIGN_SECRET) == SIGN_KNOWN


def test_dingtalk_url_signed_and_unsigned() -> None:
    signed = dingtalk.DingTalkConfig(access_token=SecretStr("tok"), secret=SecretStr(SIGN_SECRET))
    url = str(dingtalk.robot_url(signed, SIGN_TS / 1000))
    assert url == ("https://oapi.dingtalk.com/robot/send?access_token=tok"
                   f"&timestamp={SIGN_TS}&sign={SIGN_KNOWN}")
    plain = dingtalk.DingTalkConfig(access_token=SecretStr("tok"))
    assert str(dingtalk.robot_url(plain, 0)) == "https://oapi.dingtalk.com/robot/send?access_token=tok"


def test_dingtalk_markdown_chinese_then_english() -> None:
    config = dingtalk.DingTalkConfig(access_token=SecretStr("t"), at_mobiles=["13800000000"])
    msg = dingtalk.message(_alert(), config, Notice("d", T0, Reason.ESCALATION))
    assert msg["msgtype"] == "markdown"
    assert msg["markdown"]["title"] == "【严重】数据中断 · 未确认 jiangning-edz"
    lines = msg["markdown"]["text"].split("\n\n")
    assert lines[:4] == ["### 【严重】数据中断 · 未确认", "### [Critical] data gap · open",
                         "> **告警升级：超时未确认**", "> Escalated: not acknowledged in time"]
    assert lines[4].startswith("**江宁经开区") and lines[5].startswith("Jiangning EDZ")
    assert "发生时间：2026-11-27 16:00（北京时间）" in lines
    assert lines[-1] == "@13800000000"
    assert msg["at"] == {"atMobiles": ["13800000000"], "isAtAll": False}
    quiet = dingtalk.message(_alert(Scope.ENV_COUNTED), config, NOTICE)
    assert quiet["at"]["atMobiles"] == [], "mentions for critical alerts only"


def test_dingtalk_resolved_shows_who_and_when() -> None:
    acked, _ = acknowledge(_alert(), "王值班", T0 + timedelta(minutes=3))
    done, _ = resolve(acked, T0 + timedelta(minutes=9))
    text = dingtalk.message(done, dingtalk.DingTalkConfig(access_token=SecretStr("t")),
                            NOTICE)["markdown"]["text"]
    assert "确认人：王值班\n\nAcknowledged by: 王值班" in text
    assert "恢复时间：2026-11-27 16:09\n\nResolved: 2026-11-27 16:09" in text


# -- WeCom -----------------------------------------------------------------------------------

def test_wecom_markdown_and_url() -> None:
    msg = wecom.message(_alert(), NOTICE)
    assert msg["msgtype"] == "markdown"
    lines = msg["markdown"]["content"].split("\n")
    assert lines[:2] == ["### 【严重】数据中断 · 未确认", "### [Critical] data gap · open"]
    assert "园区：jiangning-edz，企业：jn-0001，监测点：jn-0001-gd1" in lines
    assert "Zone: jiangning-edz, Enterprise: jn-0001, Point: jn-0001-gd1" in lines
    config = wecom.WeComConfig(key=SecretStr("k+1"))
    assert str(wecom.robot_url(config)).endswith("/cgi-bin/webhook/send?key=k%2B1")


def test_wecom_fits_4096_bytes_and_keeps_the_id() -> None:
    long = _alert().model_copy(update={"summary": Summary(zh="长" * 1500, en="x" * 10)})
    content = wecom.message(long, NOTICE)["markdown"]["content"]
    assert len(content.encode()) <= wecom.MAX_BYTES
    assert content.endswith(long.id)


# -- Alertmanager ----------------------------------------------------------------------------

def test_alertmanager_posting_live_and_resolved() -> None:
    config = alertmanager.AlertmanagerConfig(url="http://127.0.0.1:9093", resend_minutes=2)
    alert = _alert()
    now = (T0 + timedelta(minutes=1)).timestamp()
    post = alertmanager.posting(alert, config, NOTICE, now)
    assert post["labels"] == {"alertname": "zonewatch_data_gap", "alert_id": alert.id,
                              "zone": "jiangning-edz", "kind": "data_gap",
                              "severity": "critical", "point": "jn-0001-gd1",
                              "enterprise": "jn-0001"}
    assert post["annotations"]["summary_zh"] == alert.summary.zh
    assert post["annotations"]["status"] == "open"
    assert post["startsAt"] == "2026-11-27T08:00:00Z"
    assert post["endsAt"] == "2026-11-27T08:09:00Z", "now + 4 × resend"
    assert post["generatorURL"] == f"http://127.0.0.1:6066/?alert={alert.id}"
    done, _ = resolve(alert, T0 + timedelta(minutes=7))
    assert alertmanager.posting(done, config, NOTICE, now + 3600)["endsAt"] == (
        "2026-11-27T08:07:00Z")


# -- HTTP answers ----------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "retriable", "reason"), [
    (500, True, DeliveryReason.SERVER_ERROR), (503, True, DeliveryReason.SERVER_ERROR),
    (408, True, DeliveryReason.SERVER_ERROR), (429, True, DeliveryReason.RATE_LIMITED),
    (400, False, DeliveryReason.CLIENT_ERROR), (404, False, DeliveryReason.CLIENT_ERROR),
    (301, False, DeliveryReason.CLIENT_ERROR)])
def test_status_sorting(status: int, retriable: bool, reason: DeliveryReason) -> None:
    with pytest.raises(DeliveryError) as e:
        check_status(Response(status, b"nope", 7.0))
    assert (e.value.retriable, e.value.reason) == (retriable, reason)
    assert e.value.retry_after == (7.0 if retriable else None)
    check_status(Response(204, b"", None))


def test_robot_errcodes() -> None:
    check_errcode(Response(200, b'{"errcode":0,"errmsg":"ok"}', None), {})
    with pytest.raises(DeliveryError) as e:
        check_errcode(Response(200, b'{"errcode":130101,"errmsg":"send too fast"}', None),
                      dingtalk.RETRIABLE)
    assert e.value.retriable and e.value.retry_after == 60.0
    with pytest.raises(DeliveryError) as e:
        check_errcode(Response(200, b'{"errcode":310000,"errmsg":"sign not match"}', None),
                      dingtalk.RETRIABLE)
    assert not e.value.retriable and e.value.reason is DeliveryReason.REJECTED


# -- over the wire (loopback) ------------------------------------------------------------------

Handler = Callable[[web.Request], web.StreamResponse]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], str]]:
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield start  # type: ignore[misc]
    for r in runners:
        await r.cleanup()


async def test_dingtalk_signature_survives_the_wire(serve) -> None:
    seen: list[dict[str, list[str]]] = []

    async def robot(request: web.Request) -> web.Response:
        seen.append(parse_qs(urlsplit(str(request.url)).query))
        assert (await request.json())["msgtype"] == "markdown"
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    base = await serve(robot)
    config = dingtalk.DingTalkConfig(access_token=SecretStr("tok"), url=f"{base}/robot/send",
                                     secret=SecretStr(SIGN_SECRET))
    async with aiohttp.ClientSession() as session:
        await dingtalk.send(_alert(), session, config, now=SIGN_TS / 1000)
    (query,) = seen
    digest = hmac.new(SIGN_SECRET.encode(), f"{SIGN_TS}\n{SIGN_SECRET}".encode(),
                      hashlib.sha256).digest()
    assert query["sign"] == [base64.b64encode(digest).decode()] == [unquote_plus(SIGN_KNOWN)]
    assert query["timestamp"] == [str(SIGN_TS)] and query["access_token"] == ["tok"]


async def test_webhook_timeout_and_refused_are_retriable(serve) -> None:
    async def slow(request: web.Request) -> web.Response:
        import asyncio
        await asyncio.sleep(2)
        return web.Response()

    base = await serve(slow)
    config = webhook.WebhookConfig(url=base, secret=SecretStr("k"), timeout_s=0.2)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(DeliveryError) as e:
            await webhook.send(_alert(), session, config)
        assert e.value.retriable and e.value.reason is DeliveryReason.TIMEOUT
        refused = config.model_copy(update={"url": "http://127.0.0.1:9/"})
        with pytest.raises(DeliveryError) as e:
            await webhook.send(_alert(), session, refused)
        assert e.value.retriable and e.value.reason is DeliveryReason.CONNECTION
        assert "127.0.0.1" not in str(e.value), "no URLs in errors: robot URLs hold tokens"


# -- retry stage -------------------------------------------------------------------------------

class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


def _failing(errors: list[DeliveryError]) -> Callable:
    calls: list[int] = []

    async def attempt() -> None:
        calls.append(1)
        if errors:
            raise errors.pop(0)

    attempt.calls = calls  # type: ignore[attr-defined]
    return attempt


def _err(retriable: bool = True, after: float | None = None) -> DeliveryError:
    return DeliveryError("boom", retriable=retriable, retry_after=after)


async def test_retry_until_delivered_with_full_jitter_backoff() -> None:
    t = FakeTime()
    attempt = _failing([_err(), _err(), _err()])
    result = await with_retry(attempt, RetryPolicy(attempts=5, base_s=1, cap_s=3),
                              clock=t.clock, sleep=t.sleep, rng=lambda: 1.0)
    assert (result.attempts, result.error) == (4, None)
    assert t.slept == [1.0, 2.0, 3.0], "base·2^n up to the cap, times the jitter (1.0 here)"
    t2 = FakeTime()
    await with_retry(_failing([_err(), _err()]), RetryPolicy(), clock=t2.clock, sleep=t2.sleep,
                     rng=lambda: 0.25)
    assert t2.slept == [0.25, 0.5]


async def test_retry_stops_on_permanent_error_attempts_and_budget() -> None:
    t = FakeTime()
    result = await with_retry(_failing([_err(False)]), RetryPolicy(), clock=t.clock,
                              sleep=t.sleep, rng=lambda: 1.0)
    assert result.attempts == 1 and result.error is not None and t.slept == []
    result = await with_retry(_failing([_err()] * 9), RetryPolicy(attempts=3), clock=t.clock,
                              sleep=t.sleep, rng=lambda: 0.0)
    assert result.attempts == 3 and result.error is not None
    t = FakeTime()
    result = await with_retry(_failing([_err()] * 9), RetryPolicy(attempts=99, budget_s=10,
                              base_s=4, cap_s=4), clock=t.clock, sleep=t.sleep, rng=lambda: 1.0)
    assert result.attempts == 3 and t.slept == [4.0, 4.0], "a third wait would pass 10 s"


async def test_retry_honours_retry_after() -> None:
    t = FakeTime()
    await with_retry(_failing([_err(after=20.0)]), RetryPolicy(), clock=t.clock,
                     sleep=t.sleep, rng=lambda: 0.5)
    assert t.slept == [20.0]


# -- Notifier with stub channels -----------------------------------------------------------------

def _stub_routes() -> Routes:
    return Routes.model_validate({
        "channels": {"a": {"type": "webhook", "url": "http://127.0.0.1:9/a", "secret": "k"},
                     "b": {"type": "wecom", "key": "k"}},
        "routes": [{"channels": ["a", "b"]}]})


async def test_notifier_records_sends_and_dead_letters() -> None:
    t, sent, failures = FakeTime(), [], {"b": [_err(), _err(False)]}

    async def stub(alert, session, config, *, notice, now):  # type: ignore[no-untyped-def]
        if failures.get(notice.channel):
            raise failures[notice.channel].pop(0)
        sent.append((notice.channel, alert.status.value, notice.key(alert)))

    registry = CollectorRegistry()
    notifier = Notifier(_stub_routes(), None, DeliveryMetrics(registry),  # type: ignore[arg-type]
                        clock=t.clock, sleep=t.sleep, rng=lambda: 0.5,
                        senders={"webhook": stub, "wecom": stub})
    alert = _alert()
    out = await notifier.notify(alert)
    assert sent == [("a", "open", f"{alert.id}/open/change/0")]
    assert [d.channel for d in out.sent] == ["a"]
    (dead,) = out.dead_letters
    assert dead.topic == "channel/b" and dead.code == "delivery_server_error"
    assert dead.stage == "alert-delivery" and f"alert {alert.id} (open, change)" in dead.reason
    assert json.loads(dead.raw)["id"] == alert.id
    assert out.state.log.get(alert.id, "open", "b").dead  # type: ignore[union-attr]
    again = await notifier.notify(alert, out.state)
    assert again.sent == [] and again.dead_letters == [] and len(sent) == 1

    def value(name: str, **labels: str) -> float:
        return registry.get_sample_value(name, labels) or 0.0

    assert value("zw_alert_deliveries_total", channel="a", reason="change",
                 outcome="delivered") == 1
    assert value("zw_alert_deliveries_total", channel="b", reason="change", outcome="dead") == 1
    assert value("zw_alert_delivery_retries_total", channel="b", reason="server_error") == 1
    assert value("zw_alert_deadletters_total", channel="b", reason="server_error") == 1
