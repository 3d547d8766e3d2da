"""Prometheus Alertmanager (`POST /api/v2/alerts`), for the operator's existing on-call setup.

Alertmanager keys an alert by its labels, so the id is a label: each zonewatch alert is one
Alertmanager alert. Status and summaries are annotations, which may change. Like Prometheus,
a live alert is posted with an `endsAt` a few resend intervals ahead and re-posted while it
lasts (`Reason.REFRESH`), so a zonewatch that dies does not leave it firing for ever; on
resolve `endsAt` is the resolve time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from alerts.channels.base import (
    DEFAULT_TIMEOUT_S,
    Notice,
    check_status,
    json_bytes,
    post,
)
from schemas import Alert, AlertStatus

RESEND_FACTOR = 4
"""endsAt of a live alert = now + this × resend interval, as Prometheus does."""


class AlertmanagerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["alertmanager"] = "alertmanager"
    url: HttpUrl | None = None
    """Alertmanager's base URL; None: ZW_ALERTMANAGER_URL."""
    resend_minutes: float = Field(default=1.0, gt=0)
    """Live alerts are re-posted this often."""
    dashboard_url: HttpUrl = HttpUrl("http://127.0.0.1:6066/")
    """Base of each alert's generatorURL: the zonewatch dashboard."""
    timeout_s: float | None = Field(default=None, gt=0)


def labels(alert: Alert) -> dict[str, str]:
    """Identity and routing labels; what is unset is left out (an empty label is no label)."""
    found = {"alertname": f"zonewatch_{alert.kind.value}", "alert_id": alert.id,
             "zone": alert.zone, "kind": alert.kind.value, "severity": alert.severity.value,
             "point": alert.point, "enterprise": alert.enterprise, "factor": alert.factor}
    return {k: v for k, v in found.items() if v}


def annotations(alert: Alert, notice: Notice) -> dict[str, str]:
    found = {"summary": alert.summary.en, "summary_zh": alert.summary.zh,
             "status": alert.status.value, "acknowledged_by": alert.acknowledged_by,
             "audience": ",".join(a.value for a in alert.audience),
             "notification": notice.key(alert)}
    return {k: v for k, v in found.items() if v}


def posting(alert: Alert, config: AlertmanagerConfig, notice: Notice,
            now: float) -> dict[str, Any]:
    """One entry of the `/api/v2/alerts` body."""
    if alert.status is AlertStatus.RESOLVED and alert.resolved_at is not None:
        ends = alert.resolved_at
    else:
        ahead = timedelta(minutes=RESEND_FACTOR * config.resend_minutes)
        ends = datetime.fromtimestamp(now, UTC) + ahead
    base = str(config.dashboard_url).rstrip("/")
    return {"labels": labels(alert), "annotations": annotations(alert, notice),
            "startsAt": _rfc3339(alert.opened_at), "endsAt": _rfc3339(max(ends, alert.opened_at)),
            "generatorURL": f"{base}/?alert={alert.id}"}


async def send(alert: Alert, session: aiohttp.ClientSession, config: AlertmanagerConfig, *,
               notice: Notice | None = None, now: float | None = None) -> None:
    """POST once; raises `DeliveryError` (retriable or not)."""
    if config.url is None:
        raise ValueError("Alertmanager channel without a URL: load_routes fills it in")
    at = time.time() if now is None else now
    doc = [posting(alert, config, notice or Notice("alertmanager", alert.updated_at), at)]
    url = str(config.url).rstrip("/") + "/api/v2/alerts"
    check_status(await post(session, url, json_bytes(doc), {},
                            config.timeout_s or DEFAULT_TIMEOUT_S))


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")
