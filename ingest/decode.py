"""Turn one MQTT message into one Kafka record, or a dead letter saying why not.

Pure: the registry and the clock are passed in, so every rule is tested without I/O.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ingest.hj212 import Hj212Error, parse_frame
from schemas import (
    Assessment,
    DeadLetter,
    Hazard,
    Heartbeat,
    Reading,
    ReadingEvent,
    Registry,
    SafetyEvent,
    Source,
)
from schemas.alert import AckCommand, AlertAck
from schemas.errors import describe
from zonewatch.settings import Topics

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

INPUT_KINDS = ("readings", "hj212", "heartbeat", "assessment", "hazard", "ack")
"""The `{kind}` of `zw/v1/{zone}/{kind}` that ingest takes; the broker's ACL grants the same."""

EARLIEST_EVENT_TIME = datetime(1970, 1, 1, tzinfo=UTC)
"""Older event times are bad input: one of them would make InfluxDB refuse a whole batch."""

LATEST_DEADLINE = datetime(2100, 1, 1, tzinfo=UTC)
"""A hazard's due date or an assessment's valid_until may lie ahead, but not this far: year
9999 is a placeholder, not a deadline, and the worker turns these dates into epoch seconds
and back, which fails outside years 1–9999."""

DATA_CNS = frozenset({"2011", "2051", "2061", "2031"})
"""HJ 212 command numbers that carry monitoring data (real-time, minute, hourly, daily)."""


@dataclass(frozen=True, slots=True)
class Record:
    """A message bound for Kafka."""

    topic: str
    key: bytes
    value: bytes


class Rejected(Exception):
    """Why a message cannot go on: becomes a dead letter with this code and reason."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    max_payload_bytes: int = 64 * 1024
    max_future_skew: timedelta = timedelta(minutes=5)


class Decoder:
    """Decodes `zw/v1/{zone}/{kind}` messages against the current registry."""

    def __init__(self, registry: Registry, topics: Topics, limits: DecodeLimits) -> None:
        self.registry = registry
        self.topics = topics
        self.limits = limits
        self._by_kind = {
            "readings": self._reading_json, "hj212": self._reading_hj212,
            "heartbeat": self._heartbeat, "assessment": self._assessment, "hazard": self._hazard,
            "ack": self._ack,
        }
        assert tuple(self._by_kind) == INPUT_KINDS, "INPUT_KINDS is the list of decoders"

    def decode(self, topic: str, payload: bytes, now: datetime) -> Record | DeadLetter:
        try:
            zone, kind = self._route(topic, payload)
            return self._by_kind[kind](zone, payload, now)
        except Rejected as r:
            return DeadLetter.of(payload, topic=topic, code=r.code, reason=r.reason,
                                 received_at=now)
        except Exception as e:  # a bug, or a registry that contradicts itself: not the bridge's end
            log.exception("decoding a message from %.200s failed", topic)
            return DeadLetter.of(payload, topic=topic, code="internal_error",
                                 reason=f"ingest failed on this message ({type(e).__name__}: "
                                 f"{e}); the message may be fine: see ingest's log",
                                 received_at=now)

    def _route(self, topic: str, payload: bytes) -> tuple[str, str]:
        parts = topic.split("/")
        if len(parts) != 4 or parts[:2] != ["zw", "v1"] or parts[3] not in self._by_kind:
            raise Rejected("bad_topic", f"topic {topic!r} is not zw/v1/{{zone}}/"
                           f"{{{'|'.join(self._by_kind)}}}")
        if len(payload) > self.limits.max_payload_bytes:
            raise Rejected("oversized", f"payload of {len(payload)} bytes exceeds the limit "
                           f"of {self.limits.max_payload_bytes}")
        if parts[2] not in self.registry.zone_by_id:
            raise Rejected("unknown_zone", f"zone {parts[2]!r} in the topic is not registered")
        return parts[2], parts[3]

    def _reading_json(self, zone: str, payload: bytes, now: datetime) -> Record:
        reading = _parse(Reading, payload)
        point = self.registry.point_by_id.get(reading.point)
        if point is None:
            raise Rejected("unknown_point", f"point {reading.point!r} is not registered")
        return self._reading_record(zone, point.id, reading.ts, reading.values, reading.flags,
                                    Source.JSON, None, now)

    def _reading_hj212(self, zone: str, payload: bytes, now: datetime) -> Record:
        try:
            frame = parse_frame(payload)
        except Hj212Error as e:
            raise Rejected(f"hj212_{e.code}", f"HJ 212 frame: {e}") from None
        if frame.cn not in DATA_CNS:
            raise Rejected("hj212_not_data", f"HJ 212 CN={frame.cn} carries no monitoring data "
                           f"(expected one of {', '.join(sorted(DATA_CNS))})")
        if frame.data_time is None:
            raise Rejected("hj212_missing_field", "HJ 212 frame has no DataTime")
        point = self.registry.point_by_mn.get(frame.mn or "")
        if point is None:
            raise Rejected("unknown_mn", f"MN {frame.mn!r} is not registered to any point")
        if not frame.values:
            raise Rejected("hj212_no_values", "HJ 212 frame carries no factor values")
        return self._reading_record(zone, point.id, frame.data_time, frame.values,
                                    frame.flags, Source.HJ212, frame.cn, now)

    def _reading_record(self, zone: str, point_id: str, ts: datetime, values: dict,
                        flags: dict, source: Source, cn: str | None, now: datetime) -> Record:
        point = self.registry.point_by_id[point_id]
        owner = self.registry.zone_of_point(point)
        if owner != zone:
            raise Rejected("zone_mismatch", f"point {point_id!r} belongs to zone {owner!r}, "
                           f"not {zone!r} named in the topic")
        self._check_time(ts, now)
        event = _build(ReadingEvent, point=point_id, zone=zone, enterprise=point.enterprise,
                       ts=ts, values=values, flags=flags, source=source, received_at=now, cn=cn)
        return Record(self.topics.readings, point_id.encode(), event.model_dump_json().encode())

    def _heartbeat(self, zone: str, payload: bytes, now: datetime) -> Record:
        hb = _parse(Heartbeat, payload)
        platform = self.registry.platform_by_id.get(hb.platform)
        if platform is None:
            raise Rejected("unknown_platform", f"platform {hb.platform!r} is not registered")
        self._check_owner(zone, platform.zone, f"platform {hb.platform!r}")
        self._check_time(hb.ts, now)
        return self._event(zone, "heartbeat", hb, now)

    def _assessment(self, zone: str, payload: bytes, now: datetime) -> Record:
        a = _parse(Assessment, payload)
        self._check_enterprise(zone, a.enterprise)
        if a.completed_at is not None:
            self._check_time(a.completed_at, now, "assessment completed_at")
        _check_deadline(a.valid_until, "assessment valid_until")
        return self._event(zone, "assessment", a, now)

    def _hazard(self, zone: str, payload: bytes, now: datetime) -> Record:
        h = _parse(Hazard, payload)
        self._check_enterprise(zone, h.enterprise)
        self._check_time(h.ts, now, "hazard ts")
        _check_deadline(h.due, "hazard due")
        return self._event(zone, "hazard", h, now)

    def _ack(self, zone: str, payload: bytes, now: datetime) -> Record:
        """Whether the alert is this zone's is checked where alerts are known: the worker."""
        ack = _parse(AlertAck, payload)
        command = AckCommand(alert=ack.alert, by=ack.by, note=ack.note, zone=zone, at=now)
        return Record(self.topics.alert_commands, ack.alert.encode(),
                      command.model_dump_json().encode())

    def _event(self, zone: str, kind: str, body: BaseModel, now: datetime) -> Record:
        event = SafetyEvent.model_validate({"kind": kind, "zone": zone, "received_at": now,
                                            kind: body})
        return Record(self.topics.events, zone.encode(), event.model_dump_json().encode())

    def _check_enterprise(self, zone: str, enterprise_id: str) -> None:
        enterprise = self.registry.enterprise_by_id.get(enterprise_id)
        if enterprise is None:
            raise Rejected("unknown_enterprise", f"enterprise {enterprise_id!r} is not registered")
        self._check_owner(zone, enterprise.zone, f"enterprise {enterprise_id!r}")

    @staticmethod
    def _check_owner(zone: str, owner: str, what: str) -> None:
        if owner != zone:
            raise Rejected("zone_mismatch", f"{what} belongs to zone {owner!r}, "
                           f"not {zone!r} named in the topic")

    def _check_time(self, ts: datetime, now: datetime, what: str = "event time") -> None:
        """A time something happened: since 1970, and not ahead of the clock."""
        if ts < EARLIEST_EVENT_TIME:
            raise Rejected("ancient_timestamp", f"{what} {ts.isoformat()} is before "
                           "1970: nothing zonewatch tracks is that old (and InfluxDB cannot "
                           "store times before 1677)")
        if ts - now > self.limits.max_future_skew:
            raise Rejected("future_timestamp", f"{what} {ts.isoformat()} is "
                           f"{(ts - now).total_seconds():.0f} s ahead of the clock")


def _check_deadline(at: datetime | None, what: str) -> None:
    """A date that may lie ahead (a due date, an expiry), but within 1970–2100."""
    if at is None:
        return
    if at < EARLIEST_EVENT_TIME:
        raise Rejected("ancient_timestamp", f"{what} {at.isoformat()} is before 1970")
    if at >= LATEST_DEADLINE:
        raise Rejected("future_timestamp", f"{what} {at.isoformat()} is after 2099: "
                       "no deadline lies that far ahead")


def _parse(model: type[M], payload: bytes) -> M:
    try:
        return model.model_validate_json(payload)
    except ValidationError as e:
        code = "bad_json" if any(x["type"] == "json_invalid" for x in e.errors()) else "invalid"
        raise Rejected(code, f"{model.__name__}: {describe(e)}") from None


def _build(model: type[M], **fields: object) -> M:
    try:
        return model.model_validate(fields)
    except ValidationError as e:
        raise Rejected("invalid", f"{model.__name__}: {describe(e)}") from None
