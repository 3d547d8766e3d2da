"""The delivery pipeline, per alert: due (route, hold, escalate, repeat — dedup against the
notify log) → send with retry, each channel at once → record in the log.

Retry is exponential backoff with full jitter within a budget of attempts and seconds; a
receiver's Retry-After is honoured. What still fails becomes a `DeadLetter` for the caller to
publish on `zw.deadletter`, and is recorded as tried, so it is not sent again in normal running.
The clock, the sleep and the randomness are passed in: tests run without waiting.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import aiohttp
from prometheus_client import CollectorRegistry, Counter, Histogram

from alerts.channels import SENDERS, Sender
from alerts.channels.base import alert_payload, json_bytes
from alerts.config import AlertSettings, Routes
from alerts.exceptions import DeliveryError, DeliveryReason
from alerts.notify_log import NotifyState
from alerts.routing import Delivery, due
from schemas import Alert, DeadLetter, MaintenanceWindow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 6
    budget_s: float = 120.0
    base_s: float = 1.0
    cap_s: float = 30.0

    @classmethod
    def from_settings(cls, s: AlertSettings) -> RetryPolicy:
        return cls(s.delivery_attempts, s.delivery_budget_s, s.delivery_backoff_s,
                   s.delivery_backoff_max_s)

    def backoff(self, retry: int, rng: Callable[[], float]) -> float:
        """Full jitter: uniform in [0, min(cap, base·2^retry)], so replicas and channels that
        failed together do not retry together (no storm)."""
        return rng() * min(self.cap_s, self.base_s * 2 ** retry)


@dataclass(frozen=True, slots=True)
class Attempts:
    attempts: int
    error: DeliveryError | None = None
    """None: delivered."""


class DeliveryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = Counter("zw_alert_deliveries", "Alert notifications by channel, "
                                  "reason and outcome (delivered, dead)",
                                  ["channel", "reason", "outcome"], registry=registry)
        self.retries = Counter("zw_alert_delivery_retries", "Attempts retried after a failure",
                               ["channel", "reason"], registry=registry)
        self.deadletters = Counter("zw_alert_deadletters", "Notifications given up on",
                                   ["channel", "reason"], registry=registry)
        self.seconds = Histogram("zw_alert_delivery_seconds", "From first attempt to delivered "
                                 "or given up, retries included", ["channel"], registry=registry)


async def with_retry(attempt: Callable[[], Awaitable[None]], policy: RetryPolicy, *,
                     clock: Callable[[], float], sleep: Callable[[float], Awaitable[None]],
                     rng: Callable[[], float],
                     on_retry: Callable[[DeliveryError], None] = lambda e: None) -> Attempts:
    """Run `attempt` until it succeeds, fails for good, or the budget is spent."""
    start = clock()
    for n in range(1, policy.attempts + 1):
        try:
            await attempt()
            return Attempts(n)
        except DeliveryError as e:
            error = e
        except Exception as e:  # a bug in one channel must not stop the others
            log.exception("channel code failed")
            error = DeliveryError(f"internal error ({type(e).__name__})", retriable=False,
                                  reason=DeliveryReason.INTERNAL)
        wait = max(policy.backoff(n - 1, rng), error.retry_after or 0.0)
        if not error.retriable or n == policy.attempts or clock() - start + wait > policy.budget_s:
            return Attempts(n, error)
        on_retry(error)
        await sleep(wait)
    raise AssertionError("unreachable: attempts >= 1")


def dead_letter(delivery: Delivery, result: Attempts, now: datetime) -> DeadLetter:
    """The notification as it would have been sent, and why it was not."""
    alert, error = delivery.alert, result.error
    assert error is not None
    return DeadLetter.of(
        json_bytes(alert_payload(alert, delivery.notice)), topic=f"channel/{delivery.channel}",
        code=f"delivery_{error.reason.value}", received_at=now, stage="alert-delivery",
        reason=(f"alert {alert.id} ({alert.status.value}, {delivery.notice.reason.value}) not "
                f"delivered to channel {delivery.channel} after {result.attempts} attempt(s): "
                f"{error}"))


@dataclass(frozen=True, slots=True)
class Outcome:
    state: NotifyState
    """Store it back under the subject's key."""
    sent: list[Delivery] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    """Publish these on `zw.deadletter`."""


def no_windows() -> Sequence[MaintenanceWindow]:
    return ()


class Notifier:
    """Runs the pipeline for one subject's alert; holds no state of its own (see `Outcome`).
    `windows` gives the maintenance windows at each call: they change while it runs."""

    def __init__(self, routes: Routes, session: aiohttp.ClientSession,
                 metrics: DeliveryMetrics, policy: RetryPolicy | None = None, *,
                 windows: Callable[[], Sequence[MaintenanceWindow]] = no_windows,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 rng: Callable[[], float] = random.random,
                 senders: Mapping[str, Sender] = SENDERS) -> None:
        self.routes, self.session, self.metrics = routes, session, metrics
        self.policy = policy or RetryPolicy()
        self._windows = windows
        self._clock, self._sleep, self._rng, self._senders = clock, sleep, rng, senders

    async def notify(self, alert: Alert, state: NotifyState | None = None) -> Outcome:
        """An alert change from `zw.alerts` (or a replay of one: already sent, not sent)."""
        now = self._clock()
        state, deliveries = due(alert, state or NotifyState(), self.routes,
                                datetime.fromtimestamp(now, UTC), self._windows())
        results = await asyncio.gather(*(self._send(d) for d in deliveries))
        return self._record(state, list(zip(deliveries, results, strict=True)), now)

    async def tick(self, state: NotifyState) -> Outcome:
        """The timer's call, for every stored subject: repeats, escalations, refreshes, and
        alerts held by a window or flapping that has ended."""
        if state.alert is None:
            return Outcome(state)
        return await self.notify(state.alert, state)

    async def _send(self, d: Delivery) -> Attempts:
        config = self.routes.channels[d.channel]
        send = self._senders[config.type]

        async def attempt() -> None:
            await send(d.alert, self.session, config, notice=d.notice, now=self._clock())

        def retried(e: DeliveryError) -> None:
            self.metrics.retries.labels(d.channel, e.reason.value).inc()
            log.info("alert %s to %s failed (%s), retrying", d.alert.id, d.channel, e)

        started = self._clock()
        result = await with_retry(attempt, self.policy, clock=self._clock, sleep=self._sleep,
                                  rng=self._rng, on_retry=retried)
        self.metrics.seconds.labels(d.channel).observe(max(0.0, self._clock() - started))
        return result

    def _record(self, state: NotifyState, results: list[tuple[Delivery, Attempts]],
                now: float) -> Outcome:
        notify_log, dead = state.log, []
        for d, result in results:
            failed = result.error is not None
            notify_log = notify_log.record(d.alert.id, d.what, d.channel, now,
                                           d.notice.reason.value, dead=failed)
            outcome = "dead" if failed else "delivered"
            self.metrics.deliveries.labels(d.channel, d.notice.reason.value, outcome).inc()
            if result.error is not None:
                self.metrics.deadletters.labels(d.channel, result.error.reason.value).inc()
                log.warning("alert %s to %s given up: %s", d.alert.id, d.channel, result.error)
                dead.append(dead_letter(d, result, datetime.fromtimestamp(now, UTC)))
        keep = None if state.alert is None else state.alert.id
        state = replace(state, log=notify_log.prune(keep))
        return Outcome(state, [d for d, r in results if r.error is None], dead)
