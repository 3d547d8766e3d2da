"""A reading: values of one monitoring point at one event time, with HJ 212 flags."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, FiniteFloat, StringConstraints

Factor = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]
"""A factor code: HJ 212-2017's w01018 or a21026, HJ/T 212-2005's 011, 060 or B01, our own
gas_lel. It becomes an InfluxDB field key, so no spaces, commas, quotes or newlines can get
in, and no leading `_`, which InfluxDB keeps for its own keys."""


class Flag(StrEnum):
    """HJ 212-2017 data flags, per factor."""

    NORMAL = "N"
    STOPPED = "F"
    MAINTENANCE = "M"
    MANUAL = "S"
    FAULT = "D"
    CALIBRATION = "C"
    OVER_RANGE = "T"
    COMM_FAULT = "B"

    @property
    def is_valid(self) -> bool:
        """Valid data counts toward online status and completeness (SPEC: flag N or T)."""
        return self in (Flag.NORMAL, Flag.OVER_RANGE)


class Source(StrEnum):
    JSON = "json"
    HJ212 = "hj212"


class Reading(BaseModel):
    """The JSON reading a device or gateway publishes on `zw/v1/{zone}/readings`."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    point: str = Field(min_length=1, max_length=64)
    ts: AwareDatetime
    values: dict[Factor, FiniteFloat] = Field(min_length=1, max_length=64)
    flags: dict[Factor, Flag] = Field(default_factory=dict)


class ReadingEvent(BaseModel):
    """A reading as ingest puts it on Kafka: resolved against the registry, keyed by point."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    point: str
    zone: str
    enterprise: str
    ts: datetime
    values: dict[Factor, FiniteFloat]
    flags: dict[Factor, Flag] = Field(default_factory=dict)
    source: Source = Source.JSON
    received_at: datetime
    cn: str | None = None
    """HJ 212 command number of the frame (2011 real-time, 2051 minute, 2061 hourly, 2031 daily)."""

    def flag_of(self, factor: str) -> Flag:
        return self.flags.get(factor, Flag.NORMAL)


class ReadingBatch(BaseModel):
    """One `zw.readings` record: the readings of one ingest batch bound for one partition.

    A record per reading would cost the worker Faust's per-message overhead for each one
    (about a quarter of a millisecond, a ceiling near 4,000 readings/s); one per partition
    and batch pays it once for dozens. Readings of a point keep their order: a point's
    readings always go to the same partition, in the order ingest received them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    readings: list[ReadingEvent] = Field(min_length=1)

    @staticmethod
    def join(events: list[bytes]) -> bytes:
        """The JSON of a batch from its readings' JSON, without decoding them again."""
        return b'{"readings":[' + b",".join(events) + b"]}"
