"""WeCom group robot (企业微信群机器人): a markdown message to `…/webhook/send?key=KEY`.

WeCom caps markdown at 4096 bytes and 20 messages a minute per robot (errcode 45009).
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote_plus

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, HttpUrl
from yarl import URL

from alerts.channels import text
from alerts.channels.base import DEFAULT_TIMEOUT_S, Notice, Secret, check_errcode, json_bytes, post
from schemas import Alert

MAX_BYTES = 4096
RETRIABLE = {-1: 5.0, 45009: 60.0}
"""errcode -1: system busy; 45009: API frequency limit."""


class WeComConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["wecom"] = "wecom"
    key: Secret
    """The `key` of the robot's webhook URL."""
    url: HttpUrl = HttpUrl("https://qyapi.weixin.qq.com/cgi-bin/webhook/send")
    timeout_s: float | None = Field(default=None, gt=0)


def message(alert: Alert, notice: Notice) -> dict[str, Any]:
    """The robot's markdown message, cut to fit WeCom's limit (the id line is kept)."""
    lines = text.lines(alert, notice)
    content = "\n".join(lines)
    while len(content.encode()) > MAX_BYTES and len(lines) > 2:
        lines = [*lines[:-2], lines[-1]]
        content = "\n".join(lines)
    return {"msgtype": "markdown", "markdown": {"content": content}}


def robot_url(config: WeComConfig) -> URL:
    return URL(f"{config.url}?key={quote_plus(config.key.get_secret_value())}", encoded=True)


async def send(alert: Alert, session: aiohttp.ClientSession, config: WeComConfig, *,
               notice: Notice | None = None, now: float | None = None) -> None:
    """POST once; raises `DeliveryError` (retriable or not)."""
    del now  # nothing in the message reads the clock
    body = json_bytes(message(alert, notice or Notice("wecom", alert.updated_at)))
    resp = await post(session, robot_url(config), body, {}, config.timeout_s or DEFAULT_TIMEOUT_S)
    check_errcode(resp, RETRIABLE)
