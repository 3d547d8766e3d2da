"""One module per channel, each with its config beside it; all share `send(alert, session,
config, *, notice, now)`, which posts once and raises `DeliveryError` (retriable or not)."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Annotated, Any, Protocol

import aiohttp
from pydantic import Field

from alerts.channels import alertmanager, dingtalk, webhook, wecom
from alerts.channels.alertmanager import AlertmanagerConfig
from alerts.channels.base import Notice, Reason, Secret
from alerts.channels.dingtalk import DingTalkConfig
from alerts.channels.webhook import WebhookConfig
from alerts.channels.wecom import WeComConfig
from schemas import Alert

__all__ = [
    "SENDERS", "AlertmanagerConfig", "ChannelConfig", "DingTalkConfig", "Notice", "Reason",
    "Secret", "Sender", "WeComConfig", "WebhookConfig",
]

ChannelConfig = Annotated[WebhookConfig | DingTalkConfig | WeComConfig | AlertmanagerConfig,
                          Field(discriminator="type")]


class Sender(Protocol):
    def __call__(self, alert: Alert, session: aiohttp.ClientSession, config: Any, *,
                 notice: Notice | None = None, now: float | None = None
                 ) -> Awaitable[None]: ...


SENDERS: Mapping[str, Sender] = {
    "webhook": webhook.send, "dingtalk": dingtalk.send, "wecom": wecom.send,
    "alertmanager": alertmanager.send,
}
"""The `send` of each channel type, by the `type` in the routes file."""
