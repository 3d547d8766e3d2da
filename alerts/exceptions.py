"""Errors of the alert lifecycle, sorted by what the caller does next.

One root, `AlertError`; each class carries `http_status`, the answer `POST /api/v1/alerts/{id}/ack`
gives, so the web layer maps errors without a chain of `except` clauses. None is retriable: the
same request against the same state fails the same way.
"""

from __future__ import annotations

from datetime import datetime


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
