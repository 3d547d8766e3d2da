"""The bytes a simulated device, gateway or platform puts on the wire (SPEC "Inputs").

Devices in Nanjing stamp Beijing time, so JSON `ts` carries +08:00, as the field sends it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from datetime import datetime

from ingest.hj212 import BEIJING, encode_frame

PW = "123456"
"""The factory password nearly every HJ 212 device in the field still uses."""

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
"""Built once: `json.dumps` with options would build a new encoder for every message."""


def at(t: float) -> datetime:
    """Epoch seconds as a Beijing-time datetime, whole seconds as on the wire: an event time."""
    return datetime.fromtimestamp(int(t), BEIJING)


def _dump(body: Mapping[str, object]) -> bytes:
    return _ENCODER.encode(body).encode()


def reading_json(point: str, when: datetime, values: Mapping[str, float],
                 flags: Mapping[str, str] | None = None) -> bytes:
    """`zw/v1/{zone}/readings`; flags only where not N, as SPEC allows."""
    body: dict[str, object] = {"point": point, "ts": when.isoformat(timespec="seconds"),
                               "values": values}
    odd = {code: flag for code, flag in flags.items() if flag != "N"} if flags else None
    if odd:
        body["flags"] = odd
    return _dump(body)


def hj212_frame(*, st: str, cn: str, mn: str, when: datetime, values: Mapping[str, float],
                flags: Mapping[str, str]) -> bytes:
    """One HJ 212-2017 frame; minute data (2051) also carries each factor's Min and Max."""
    fields = None
    if cn == "2051":
        fields = {code: {"Min": round(v * 0.95, 3), "Max": round(v * 1.05, 3)}
                  for code, v in values.items()}
    return encode_frame(st=st, cn=cn, pw=PW, mn=mn, values=values, flags=flags,
                        data_time=when, fields=fields).encode()


def heartbeat(platform: str, when: datetime) -> bytes:
    return _dump({"platform": platform, "ts": when.isoformat(timespec="seconds")})


def assessment(enterprise: str, completed: datetime, valid_until: datetime,
               level: str) -> bytes:
    return _dump({"enterprise": enterprise, "status": "completed",
                  "completed_at": completed.isoformat(timespec="seconds"),
                  "valid_until": valid_until.isoformat(timespec="seconds"), "level": level})


def hazard(ident: str, enterprise: str, status: str, when: datetime, due: datetime,
           severity: str) -> bytes:
    return _dump({"id": ident, "enterprise": enterprise, "status": status,
                  "ts": when.isoformat(timespec="seconds"),
                  "due": due.isoformat(timespec="seconds"), "severity": severity})


# -- bad input: what ingest must dead-letter ------------------------------------------------

BAD_KINDS = ("bad_json", "bad_crc", "unknown_point")


def bad_payload(kind: str, when: datetime, rng: random.Random, point: str,
                mn: str) -> tuple[str, bytes]:
    """(topic kind, payload) of one bad message, built from a real point so it looks real."""
    if kind == "bad_json":
        good = reading_json(point, when, {"w01018": 21.5}, {})
        return "readings", good[: rng.randint(5, len(good) - 2)]
    if kind == "bad_crc":
        frame = hj212_frame(st="32", cn="2011", mn=mn, when=when, values={"w01018": 21.5},
                            flags={"w01018": "N"})
        wrong = b"0000" if frame[-6:-2] != b"0000" else b"FFFF"
        return "hj212", frame[:-6] + wrong + b"\r\n"
    ghost = f"ghost-{rng.randint(0, 9999):04d}-ww1"
    return "readings", reading_json(ghost, when, {"w01018": 21.5}, {})
