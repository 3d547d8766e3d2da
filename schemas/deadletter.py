"""A rejected message, kept on `zw.deadletter` so nothing bad is ever silently dropped."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime

from pydantic import BaseModel, ConfigDict

RAW_KEPT_BYTES = 256 * 1024
"""Raw bytes a dead letter keeps. Base64 makes them a third larger, and the whole record
(with the MQTT topic as its key and again inside) must stay under Kafka's 1 MiB request
limit, or the dead letter itself could never be sent. Ingest's payload limit is below this,
and its batches are no larger (`ingest.batches.MAX_RECORD_BYTES`), so only a payload that
was dead-lettered for its size is ever cut."""

REASON_KEPT_CHARS = 2000
"""A reason is for a person to read; one quoting a 64 KiB topic is cut to this."""


class DeadLetter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str
    """What is wrong, in words a person can act on."""
    code: str
    """A short stable label for metrics, e.g. `bad_json`, `unknown_point`, `bad_crc`."""
    topic: str
    """The MQTT topic it came on; for a record Kafka refused, the Kafka topic it was for."""
    received_at: datetime
    raw_b64: str
    """The raw bytes, whole up to `RAW_KEPT_BYTES`, else their first `RAW_KEPT_BYTES`."""
    raw_size: int | None = None
    """Size of the whole payload, when `raw_b64` holds only its beginning."""
    raw_sha256: str | None = None
    """Hex SHA-256 of the whole payload, when `raw_b64` holds only its beginning."""
    stage: str = "ingest"

    @classmethod
    def of(cls, raw: bytes, *, topic: str, code: str, reason: str, received_at: datetime,
           stage: str = "ingest") -> DeadLetter:
        if len(reason) > REASON_KEPT_CHARS:
            reason = reason[:REASON_KEPT_CHARS] + "…"
        size = digest = None
        if len(raw) > RAW_KEPT_BYTES:
            size, digest = len(raw), hashlib.sha256(raw).hexdigest()
            reason += (f" (raw payload cut to its first {RAW_KEPT_BYTES} of {size} bytes; "
                       f"sha256 of the whole: {digest})")
            raw = raw[:RAW_KEPT_BYTES]
        return cls(reason=reason, code=code, topic=topic, received_at=received_at,
                   raw_b64=base64.b64encode(raw).decode("ascii"), raw_size=size,
                   raw_sha256=digest, stage=stage)

    @property
    def raw(self) -> bytes:
        """The raw bytes kept: the whole payload unless `raw_size` says it was cut."""
        return base64.b64decode(self.raw_b64)
