"""The alert book as a Faust agent: signals in (keyed by kind:subject), real changes out.

Detectors may say "raise" as often as they like — after a restart, a rebalance, a replay —
the book, kept in a changelog-backed table under the same key, turns only real status
changes into records on `zw.alerts`. Ids are derived from the incident, so even a change
said twice carries the same id and receivers can de-duplicate on (id, status).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from alerts.exceptions import AlertError
from alerts.lifecycle import (
    Change,
    Incident,
    acknowledge,
    entry_key,
    from_entry,
    open_alert,
    resolve,
    scope_of,
)
from alerts.summary import Facts, summarize
from schemas import AlertKind, AlertStatus, Registry
from schemas.pipeline import AlertSignal

log = logging.getLogger(__name__)


def incident_of(sig: AlertSignal, registry: Registry) -> Incident:
    point = registry.point_by_id.get(sig.point) if sig.point else None
    enterprise = registry.enterprise_by_id.get(point.enterprise) if point else None
    scope = scope_of(point, enterprise.key_polluter) if point and enterprise else None
    kwargs: dict[str, Any] = {} if scope is None else {"scope": scope}
    return Incident(AlertKind(sig.kind), sig.subject, sig.zone, sig.incident_start,
                    sig.enterprise, sig.point, sig.factor, **kwargs)


def facts_of(detail: Mapping[str, Any]) -> Facts:
    """The summary's numbers from a signal's detail (JSON: times arrive as ISO strings)."""
    known = {k: v for k, v in detail.items() if k in Facts.__dataclass_fields__}
    if isinstance(known.get("due"), str):
        known["due"] = datetime.fromisoformat(known["due"])
    return Facts(**known)


def apply_signal(entry: Mapping[str, Any] | None, sig: AlertSignal,
                 registry: Registry) -> Change | None:
    """The change a signal makes to the book entry of its (kind, subject), if any."""
    key = entry_key(AlertKind(sig.kind), sig.subject)
    current = from_entry(key, entry) if entry else None
    live = current is not None and current.status is not AlertStatus.RESOLVED
    if sig.op == "raise":
        if live:
            return None
        incident = incident_of(sig, registry)
        summary = summarize(incident, facts_of(sig.detail), registry)
        alert = open_alert(incident, summary, sig.at, after=current.id if current else None)
        return Change(alert, None)
    if current is None or not live:
        return None
    if sig.op == "ack" and sig.alert_id is not None and sig.alert_id != current.id:
        return None  # a late ack of an older incident must not take the new one
    try:
        if sig.op == "clear":
            return resolve(current, sig.at)[1]
        return acknowledge(current, sig.by or "", sig.at)[1]
    except AlertError as e:
        log.warning("alert %s: %s ignored: %s", current.id, sig.op, e)
        return None
