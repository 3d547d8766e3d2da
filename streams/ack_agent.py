"""Acknowledgements that came over MQTT: checked against the alert, then sent to its book.

The API does the same for `POST /api/v1/alerts/{id}/ack`; both end as an `ack` signal keyed by
the alert's kind:subject, so the book records who and when exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import faust
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from pydantic import ValidationError

from schemas import AlertStatus, DeadLetter
from schemas.alert import AckCommand
from schemas.pipeline import AlertSignal
from streams.acks import unless_finished
from streams.context import WorkerContext
from streams.emit import Emitter
from zonewatch import query

log = logging.getLogger(__name__)


class Refused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def ack_signal(cmd: AckCommand, history: list) -> AlertSignal:
    """The signal for an acknowledgement, or `Refused` saying why there is none."""
    if not history:
        raise Refused("unknown_alert", f"no alert {cmd.alert!r}")
    alert = history[-1]
    if alert.zone != cmd.zone:
        raise Refused("zone_mismatch", f"alert {cmd.alert} belongs to zone {alert.zone!r}, "
                      f"not {cmd.zone!r} named in the topic")
    if alert.status is AlertStatus.RESOLVED or not alert.subject:
        raise Refused("already_resolved", f"alert {cmd.alert} is already resolved")
    detail: dict[str, str | float | None] = {"source": cmd.source}
    if cmd.note:
        detail["note"] = cmd.note
    return AlertSignal(op="ack", kind=alert.kind.value, subject=alert.subject, zone=alert.zone,
                       by=cmd.by, alert_id=alert.id, at=cmd.at, detail=detail)


def register(app: faust.App, ctx: WorkerContext, emit: Emitter) -> None:
    influx = ctx.settings.influx

    @app.agent(emit.topics.alert_commands, name="alert-commands")
    async def take_acks(stream: faust.StreamT[bytes]) -> None:
        client = InfluxDBClientAsync(url=influx.url, token=influx.token.get_secret_value(),
                                     org=influx.org, timeout=influx.timeout_ms)
        try:
            async for event in stream.events():  # iterate first, then wait (readings.py)
                with unless_finished(event):
                    await ctx.ready.wait()
                    await _handle(client, event.value)
        finally:
            await client.close()

    async def _handle(client: InfluxDBClientAsync, raw: bytes) -> None:
        try:
            cmd = AckCommand.model_validate_json(raw)
            history = await _history(client, cmd.alert)
            await emit.signal(ack_signal(cmd, history))
        except ValidationError as e:
            await _dead(raw, "invalid", f"AckCommand: {e.errors()[0]['msg']}")
        except query.QueryError as e:
            await _dead(raw, "invalid", str(e))
        except Refused as r:
            await _dead(raw, r.code, r.reason)

    async def _history(client: InfluxDBClientAsync, alert_id: str) -> list:
        for attempt in range(5):
            try:
                return await query.alert_history(client.query_api(), influx.bucket, alert_id)
            except (OSError, TimeoutError) as e:
                log.warning("alert lookup failed (%s); retry %d", e, attempt + 1)
                await asyncio.sleep(1 + attempt)
        raise Refused("lookup_failed", f"could not look up alert {alert_id} in InfluxDB")

    async def _dead(raw: bytes, code: str, reason: str) -> None:
        await emit.dead_letters([DeadLetter.of(
            raw, topic="kafka:zw.alert-commands", code=code, reason=reason,
            received_at=datetime.now(UTC), stage="worker")])
