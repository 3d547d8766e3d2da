"""Errors of the alert lifecycle, sorted by what the caller does next.

One root, `AlertError`; each class carries `http_status`, the answer `POST /api/v1/alerts/{id}/ack`
gives, so the web layer maps errors without a chain of `except` clauses. None is retriable: the
same request against the same state fails the same way — except `DeliveryError`, which carries
its own `retriable` and `retry_after`, as aiokafka's errors do.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class AlertError(Exception):
    """Root of every error raised by `alerts`."""

    http_status: int = 400
    retriable: bool = False


class InvalidInputError(AlertError, ValueError):
    """An argument the lifecycle cannot use: a naive datetime, an empty `by`, an unknown kind."""


class UnknownAlertError(AlertError, LookupError):
    """No alert with this id in the book (never raised here, or pruned long after resolving)."""

    http_status = 404

    def __init__(self, alert_id: str) -> None:
        super().__init__(f"no alert with id {alert_id!r}")
        self.alert_id = alert_id


class TransitionError(AlertError):
    """A status change the lifecycle does not allow (open → acknowledged → resolved)."""

    http_status = 409


class AlreadyResolvedError(TransitionError):
    """The alert is resolved, which is final: it can no longer be acknowledged."""

    def __init__(self, alert_id: str, resolved_at: datetime | None) -> None:
        when = resolved_at.isoformat() if resolved_at else "an unknown time"
        super().__init__(f"alert {alert_id} was resolved at {when} and can no longer be "
                         "acknowledged; a new incident raises a new alert with a new id")
        self.alert_id = alert_id
        self.resolved_at = resolved_at


class BadEntryError(AlertError):
    """A stored book entry that is not an alert (a corrupt or foreign changelog record)."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"alert book entry {key!r} is not a valid alert: {reason}")
        self.key = key


class RoutesError(AlertError, ValueError):
    """The routes file cannot be used; `issues` names every problem by its line, so the
    operator fixes the file in one pass before the worker starts."""

    def __init__(self, source: str, issues: list[str]) -> None:
        super().__init__(f"{source}: {len(issues)} error(s):\n" + "\n".join(issues))
        self.source = source
        self.issues = issues


class DeliveryReason(StrEnum):
    """Why a delivery failed: decides retry or not, and labels the retry/dead-letter metrics."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"
    CLIENT_ERROR = "client_error"
    REJECTED = "rejected"
    """The receiver answered 200 but refused the message (a robot's non-zero errcode)."""
    INTERNAL = "internal"
    """A bug in zonewatch's channel code: not retried, dead-lettered with the alert."""


class DeliveryError(AlertError):
    """One attempt to deliver to a channel failed. `retriable`: the same request may work later;
    `retry_after`: seconds the receiver asked us to wait (HTTP Retry-After), if it said.

    Messages never hold URLs or secrets: robot URLs carry access tokens and signatures."""

    http_status = 502

    def __init__(self, message: str, *, retriable: bool, retry_after: float | None = None,
                 reason: DeliveryReason = DeliveryReason.SERVER_ERROR) -> None:
        super().__init__(message)
        self.retriable = retriable
        self.retry_after = retry_after
        self.reason = DeliveryReason(reason)
