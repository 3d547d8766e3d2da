"""DingTalk group robot (钉钉群机器人): a markdown message, optionally in signed mode (加签).

Signed mode adds `timestamp` (ms) and `sign` to the URL: base64 of HmacSHA256 over
`f"{timestamp}\\n{secret}"` keyed with the secret, then URL-encoded. DingTalk refuses a timestamp
more than an hour off, so each attempt signs with the clock at that moment.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any, Literal
from urllib.parse import quote_plus

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, HttpUrl
from yarl import URL

from alerts.channels import text
from alerts.channels.base import DEFAULT_TIMEOUT_S, Notice, Secret, check_errcode, json_bytes, post
from schemas import Alert, Severity

RETRIABLE = {-1: 5.0, 130101: 60.0}
"""errcode -1: system busy; 130101: more than 20 messages a minute."""


class DingTalkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["dingtalk"] = "dingtalk"
    access_token: Secret
    """The `access_token` of the robot's webhook URL."""
    secret: Secret | None = None
    """The robot's signing secret (`SEC…`) when it uses signed mode; None: unsigned."""
    url: HttpUrl = HttpUrl("https://oapi.dingtalk.com/robot/send")
    at_mobiles: list[str] = Field(default_factory=list)
    """Mobile numbers to @-mention on critical alerts."""
    timeout_s: float | None = Field(default=None, gt=0)


def sign(timestamp_ms: int, secret: str) -> str:
    """DingTalk's `sign` query value, already URL-encoded."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def robot_url(config: DingTalkConfig, now: float) -> URL:
    """The URL with its token and, in signed mode, timestamp and sign; `encoded=True` keeps
    aiohttp from re-encoding the `%2B`/`%3D` of the sign."""
    query = f"access_token={quote_plus(config.access_token.get_secret_value())}"
    if config.secret is not None:
        ts = int(now * 1000)
        query += f"&timestamp={ts}&sign={sign(ts, config.secret.get_secret_value())}"
    return URL(f"{config.url}?{query}", encoded=True)


def message(alert: Alert, config: DingTalkConfig, notice: Notice) -> dict[str, Any]:
    """The robot's markdown message; DingTalk needs a blank line for a line break."""
    mobiles = config.at_mobiles if alert.severity is Severity.CRITICAL else []
    body = "\n\n".join(text.lines(alert, notice))
    if mobiles:
        body += "\n\n" + " ".join(f"@{m}" for m in mobiles)
    return {"msgtype": "markdown",
            "markdown": {"title": text.title(alert), "text": body},
            "at": {"atMobiles": mobiles, "isAtAll": False}}


async def send(alert: Alert, session: aiohttp.ClientSession, config: DingTalkConfig, *,
               notice: Notice | None = None, now: float | None = None) -> None:
    """POST once; raises `DeliveryError` (retriable or not)."""
    body = json_bytes(message(alert, config, notice or Notice("dingtalk", alert.updated_at)))
    url = robot_url(config, time.time() if now is None else now)
    resp = await post(session, url, body, {}, config.timeout_s or DEFAULT_TIMEOUT_S)
    check_errcode(resp, RETRIABLE)
