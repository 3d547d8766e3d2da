"""A rejected message, kept whole on `zw.deadletter` so nothing bad is ever silently dropped."""

from __future__ import annotations

import base64
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class DeadLetter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str
    """What is wrong, in words a person can act on."""
    code: str
    """A short stable label for metrics, e.g. `bad_json`, `unknown_point`, `bad_crc`."""
    topic: str
    received_at: datetime
    raw_b64: str
    stage: str = "ingest"

    @classmethod
    def of(cls, raw: bytes, *, topic: str, code: str, reason: str, received_at: datetime,
           stage: str = "ingest") -> DeadLetter:
        return cls(reason=reason, code=code, topic=topic, received_at=received_at,
                   raw_b64=base64.b64encode(raw).decode("ascii"), stage=stage)

    @property
    def raw(self) -> bytes:
        return base64.b64decode(self.raw_b64)
