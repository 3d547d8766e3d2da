"""What every channel shares: secrets in config, the notice that says why a message goes out,
the alert payload, one HTTP POST with its failures sorted into `DeliveryError` reasons.

Nothing here logs a URL or a secret: robot URLs carry access tokens and signatures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import aiohttp
from pydantic import BeforeValidator, SecretStr, ValidationInfo
from yarl import URL

from alerts.exceptions import DeliveryError, DeliveryReason
from schemas import Alert, Audience

USER_AGENT = "zonewatch/0.1"
DEFAULT_TIMEOUT_S = 10.0
"""Per attempt, when neither the channel nor ZW_DELIVERY_TIMEOUT_S says otherwise."""


def _resolve_secret(value: object, info: ValidationInfo) -> object:
    """`env:NAME` and `file:/path` are looked up at load time (env from the validation
    context), so a missing secret stops the start with its line, not the first delivery."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not isinstance(value, str):
        return value
    if value.startswith("env:"):
        env = (info.context or {}).get("env") or {}
        found = env.get(value[4:], "")
        if not found:
            raise ValueError(f"names the environment variable {value[4:]}, which is not set")
        return found
    if value.startswith("file:"):
        try:
            found = Path(value[5:]).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ValueError(f"names the file {value[5:]}, which cannot be read "
                             f"({e.strerror or type(e).__name__})") from None
        if not found:
            raise ValueError(f"names the file {value[5:]}, which is empty")
        return found
    if not value:
        raise ValueError("is empty")
    return value


Secret = Annotated[SecretStr, BeforeValidator(_resolve_secret)]
"""A secret given inline, as `env:NAME` or as `file:/path`; held as SecretStr, never shown."""


class Reason(StrEnum):
    """Why a message goes out; receivers see it in every payload."""

    CHANGE = "change"
    REPEAT = "repeat"
    """A critical alert is still open and unacknowledged."""
    ESCALATION = "escalation"
    """Unacknowledged for too long: sent to the next audience's channels."""
    FLAPPING = "flapping"
    """The subject opens and resolves too often: further messages held until it settles."""
    REFRESH = "refresh"
    """Alertmanager forgets an alert whose endsAt passes: re-posted while it is live."""


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification of one alert state to one channel. `at` is when it was decided, the
    same on every retry, so a retried body is byte-identical."""

    channel: str
    at: datetime
    reason: Reason = Reason.CHANGE
    seq: int = 0
    """0 for the first message of (alert id, status) on this channel, then 1, 2… for repeats."""
    escalated_to: Audience | None = None

    def key(self, alert: Alert) -> str:
        """Idempotency key: the same on retries, new for a repeat or escalation."""
        return f"{alert.id}/{alert.status.value}/{self.reason.value}/{self.seq}"

    def as_dict(self, alert: Alert) -> dict[str, Any]:
        return {"key": self.key(alert), "reason": self.reason.value, "seq": self.seq,
                "channel": self.channel, "at": self.at.isoformat(),
                "escalated_to": None if self.escalated_to is None else self.escalated_to.value}


def alert_payload(alert: Alert, notice: Notice) -> dict[str, Any]:
    """The alert as published on MQTT, plus why and which notification this is."""
    return {**alert.model_dump(mode="json"), "notification": notice.as_dict(alert)}


def json_bytes(doc: object) -> bytes:
    """Compact UTF-8 JSON: the exact bytes that are signed are the bytes sent."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    retry_after: float | None


async def post(session: aiohttp.ClientSession, url: str | URL, body: bytes,
               headers: dict[str, str], timeout_s: float) -> Response:
    """POST once; a transport failure becomes a retriable `DeliveryError`."""
    all_headers = {"Content-Type": "application/json; charset=utf-8",
                   "User-Agent": USER_AGENT, **headers}
    try:
        async with session.post(url, data=body, headers=all_headers, allow_redirects=False,
                                timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
            return Response(resp.status, await resp.read(),
                            _seconds(resp.headers.get("Retry-After")))
    except TimeoutError:
        raise DeliveryError(f"no answer within {timeout_s:g} s", retriable=True,
                            reason=DeliveryReason.TIMEOUT) from None
    except aiohttp.ClientConnectionError as e:
        raise DeliveryError(f"cannot connect ({type(e).__name__})", retriable=True,
                            reason=DeliveryReason.CONNECTION) from None
    except aiohttp.ClientError as e:
        raise DeliveryError(f"HTTP client error ({type(e).__name__})", retriable=True,
                            reason=DeliveryReason.CONNECTION) from None


def check_status(resp: Response) -> None:
    """2xx passes; 408, 429 and 5xx may work later; any other answer will not."""
    if 200 <= resp.status < 300:
        return
    snippet = resp.body[:200].decode("utf-8", "replace")
    message = f"HTTP {resp.status}: {snippet}"
    if resp.status == 429:
        raise DeliveryError(message, retriable=True, retry_after=resp.retry_after,
                            reason=DeliveryReason.RATE_LIMITED)
    if resp.status == 408 or resp.status >= 500:
        raise DeliveryError(message, retriable=True, retry_after=resp.retry_after,
                            reason=DeliveryReason.SERVER_ERROR)
    raise DeliveryError(message, retriable=False, reason=DeliveryReason.CLIENT_ERROR)


def check_errcode(resp: Response, retriable: dict[int, float]) -> None:
    """Group robots answer 200 with `errcode`: 0 is delivered; codes in `retriable` (busy,
    rate limited, with the wait to use) may work later; any other is refused for good."""
    check_status(resp)
    try:
        answer = json.loads(resp.body)
        code, text = int(answer.get("errcode", -1)), str(answer.get("errmsg", ""))[:200]
    except (ValueError, TypeError, AttributeError):
        raise DeliveryError(f"not a robot answer: {resp.body[:200]!r}", retriable=True,
                            reason=DeliveryReason.SERVER_ERROR) from None
    if code == 0:
        return
    if code in retriable:
        raise DeliveryError(f"errcode {code}: {text}", retriable=True,
                            retry_after=retriable[code], reason=DeliveryReason.RATE_LIMITED)
    raise DeliveryError(f"errcode {code}: {text}", retriable=False,
                        reason=DeliveryReason.REJECTED)


def _seconds(value: str | None) -> float | None:
    """Retry-After in seconds; the HTTP-date form is rare from robots and webhooks: ignored."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
