"""A plain HTTP webhook: the alert as JSON, HMAC-SHA256 signed, its id and status in headers.

The receiver checks `X-Zonewatch-Signature: sha256=<hex>` (HMAC of the exact body with the shared
secret) and de-duplicates on `X-Zonewatch-Delivery` (or on id and status): delivery is
at-least-once, and a retry sends the very same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from alerts.channels.base import (
    DEFAULT_TIMEOUT_S,
    Notice,
    Secret,
    alert_payload,
    check_status,
    json_bytes,
    post,
)
from schemas import Alert

SIGNATURE_HEADER = "X-Zonewatch-Signature"


class WebhookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["webhook"] = "webhook"
    url: HttpUrl
    secret: Secret
    """HMAC-SHA256 key shared with the receiver."""
    timeout_s: float | None = Field(default=None, gt=0)
    """None: ZW_DELIVERY_TIMEOUT_S."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra headers, e.g. a receiver's routing header; not for secrets (use `secret`)."""


def signature(body: bytes, secret: str) -> str:
    """The header value: `sha256=` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def request(alert: Alert, config: WebhookConfig, notice: Notice) -> tuple[bytes, dict[str, str]]:
    """Body and headers, pure: what `send` posts."""
    body = json_bytes(alert_payload(alert, notice))
    headers = {**config.headers,
               SIGNATURE_HEADER: signature(body, config.secret.get_secret_value()),
               "X-Zonewatch-Alert-Id": alert.id,
               "X-Zonewatch-Alert-Status": alert.status.value,
               "X-Zonewatch-Delivery": notice.key(alert)}
    return body, headers


async def send(alert: Alert, session: aiohttp.ClientSession, config: WebhookConfig, *,
               notice: Notice | None = None, now: float | None = None) -> None:
    """POST once; raises `DeliveryError` (retriable or not)."""
    del now  # nothing in the body reads the clock: a retry sends the same bytes
    body, headers = request(alert, config, notice or Notice("webhook", alert.updated_at))
    timeout = config.timeout_s or DEFAULT_TIMEOUT_S
    check_status(await post(session, str(config.url), body, headers, timeout))
