"""HJ 212-2017 frames (and the HJ/T 212-2005 ones still in the field): parse and encode.

Pure code, no I/O. Anything a device or a gateway sends either becomes a `Frame` or raises
`Hj212Error` with a stable `code`, so the caller can dead-letter it with a reason a person
can read. Lenient where leniency loses nothing (whitespace, missing QN/Flag, lower-case
CRC, repeated identical items); strict where the reading would otherwise be wrong.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from ingest.hj212_crc import crc16

__all__ = ["BEIJING", "Frame", "Hj212Error", "encode_frame", "parse_frame", "wrap_segment"]

# Fixed UTC+8, not Asia/Shanghai: DataTime is always +08:00, also for the 1986-91 DST years.
BEIJING = timezone(timedelta(hours=8))
RTD_CNS = frozenset({"2011"})  # real-time data
AVG_CNS = frozenset({"2051", "2061", "2031"})  # minute, hourly, daily data
DATA_FLAGS = frozenset("NFMSDCTB")  # per-factor data flags of HJ 212-2017
_STATS = ("Rtd", "Avg", "Min", "Max", "Cou")
_NUMERIC = frozenset(_STATS) | frozenset("Zs" + name for name in _STATS)
_HEADER_KEYS = ("QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO")
_MAX_DATA = 9999  # four decimal digits
_MAX_INPUT = 16_384  # a whole frame is at most 10 011 bytes; the rest is whitespace or junk

_LEN = re.compile(rb"[0-9]{4}")
_HEX = re.compile(rb"[0-9A-Fa-f]{4}")
_QN = re.compile(r"[0-9]{17}")
_CODE = re.compile(r"[0-9]{1,4}")
_INT = re.compile(r"[0-9]{1,5}")
_MN = re.compile(r"[!-%'-+\--:<>-~]{1,64}")  # printable ASCII except & , ; =
_NAME = re.compile(r"[A-Za-z0-9_]+")
_SAFE = re.compile(r"[^;,&=\r\n]*")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_TIME = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{3})?")


class Hj212Error(ValueError):
    """A frame that is not valid HJ 212; `code` is a short stable label for metrics."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Frame:
    """One parsed frame; `values` holds the figure that counts for the frame's CN."""

    qn: str | None
    st: str
    cn: str
    pw: str
    mn: str
    flag: int | None = None
    pnum: int | None = None
    pno: int | None = None
    data_time: datetime | None = None
    values: dict[str, float] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)
    fields: dict[str, dict[str, float | str]] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        """What `zonewatch hj212 parse` prints: the header, time, values, flags, other CP."""
        out: dict[str, Any] = {
            "qn": self.qn, "st": self.st, "cn": self.cn, "pw": self.pw, "mn": self.mn,
            "flag": self.flag,
            "data_time": self.data_time.isoformat() if self.data_time else None,
            "values": dict(self.values), "flags": dict(self.flags),
        }
        if self.pnum is not None:
            out.update(pnum=self.pnum, pno=self.pno)
        if self.fields:  # every field per factor (Rtd, Avg, Min, Max, Cou, ZsRtd, Flag …)
            out["fields"] = {code: dict(f) for code, f in self.fields.items()}
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out


def _clip(text: str | bytes, limit: int = 40) -> str:
    """A short, printable rendering of input for error messages."""
    shown = repr(text[:limit])
    return shown + "…" if len(text) > limit else shown


# --- framing ---------------------------------------------------------------------------------

def _as_bytes(raw: bytes | str) -> bytes:
    """Frames are checked as bytes: the length and the CRC count bytes, not characters."""
    if isinstance(raw, bytes | bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, str):
        if len(raw) > _MAX_INPUT:
            raise Hj212Error("bad_length", f"input of {len(raw)} characters is no HJ 212 frame")
        try:
            return raw.encode("utf-8")
        except UnicodeEncodeError:
            raise Hj212Error("bad_structure", "frame text is not encodable") from None
    raise Hj212Error("bad_structure", f"a frame is bytes or str, not {type(raw).__name__}")


def _unwrap(frame: bytes) -> bytes:
    """Check `##`, the length and the CRC; return the data segment."""
    if len(frame) > _MAX_INPUT:
        raise Hj212Error("bad_length", f"input of {len(frame)} bytes is no HJ 212 frame")
    frame = frame.strip()
    if not frame:
        raise Hj212Error("bad_header", "empty frame")
    if not frame.startswith(b"##") or not _LEN.fullmatch(frame[2:6]):
        raise Hj212Error("bad_header", f"frame must start with ## and 4 digits: {_clip(frame, 8)}")
    declared, body = int(frame[2:6]), frame[6:]
    if len(body) != declared + 4:
        found = max(len(body) - 4, 0)
        raise Hj212Error("bad_length", f"length field says {declared} bytes of data, "
                         f"frame has {found} before its 4-digit CRC")
    segment, said = body[:-4], body[-4:]
    if not _HEX.fullmatch(said):
        raise Hj212Error("bad_crc", f"CRC field is not 4 hex digits: {_clip(said)}")
    if int(said, 16) != (got := crc16(segment)):
        raise Hj212Error("bad_crc", f"CRC mismatch: frame says {said.decode().upper()}, "
                         f"data gives {got:04X}")
    return segment


def _decode(segment: bytes) -> str:
    """The standard says ASCII; gateways send UTF-8 or GBK when text fields carry Chinese."""
    for codec in ("utf-8", "gbk"):
        try:
            return segment.decode(codec)
        except UnicodeDecodeError:
            continue
    raise Hj212Error("bad_structure", "data segment is neither UTF-8 nor GBK text")


def _split_segment(text: str) -> tuple[str, str]:
    """Split `QN=…;…;CP=&&…&&` into the header part and the CP contents."""
    start = text.find("CP=&&")
    if start < 0 or (start and text[start - 1] != ";"):
        raise Hj212Error("bad_structure", "data segment has no CP=&&…&& field")
    if len(text) < start + 7 or not text.endswith("&&"):
        raise Hj212Error("bad_structure", "CP field does not end with && at the segment's end")
    return text[:start], text[start + 5 : -2]


# --- header ----------------------------------------------------------------------------------

def _header_items(head: str) -> dict[str, str]:
    """The `key=value;` fields before CP, each known and given once."""
    items: dict[str, str] = {}
    for item in filter(None, head.split(";")):
        key, sep, value = item.partition("=")
        if not sep or key not in _HEADER_KEYS:
            raise Hj212Error("bad_structure", f"unexpected field before CP: {_clip(item)}")
        if key in items:
            raise Hj212Error("bad_structure", f"field {key} given twice")
        items[key] = value
    return items


def _checked(items: Mapping[str, str], key: str, pattern: re.Pattern[str]) -> str | None:
    """A header value that must match `pattern`, or None when absent."""
    value = items.get(key)
    if value is not None and not pattern.fullmatch(value):
        raise Hj212Error("bad_value", f"{key} is malformed: {_clip(value)}")
    return value


def _header(items: Mapping[str, str]) -> dict[str, Any]:
    """Validate the header; 2005 frames may lack QN and Flag, every frame has ST CN PW MN."""
    for key in ("ST", "CN", "PW", "MN"):
        if key not in items:
            raise Hj212Error("missing_field", f"missing field {key}")
    flag = _checked(items, "Flag", _INT)
    if flag is not None and int(flag) > 255:
        raise Hj212Error("bad_value", f"Flag is out of range: {flag}")
    return {
        "qn": _checked(items, "QN", _QN), "st": _checked(items, "ST", _CODE),
        "cn": _checked(items, "CN", _CODE), "pw": items["PW"], "mn": _checked(items, "MN", _MN),
        "flag": None if flag is None else int(flag), **_packets(items),
    }


def _packets(items: Mapping[str, str]) -> dict[str, int | None]:
    """PNUM/PNO of a split packet: both or neither, 1 ≤ PNO ≤ PNUM."""
    pnum, pno = _checked(items, "PNUM", _INT), _checked(items, "PNO", _INT)
    if (pnum is None) != (pno is None):
        raise Hj212Error("missing_field", "PNUM and PNO must be given together")
    if pnum is None or pno is None:
        return {"pnum": None, "pno": None}
    if not 1 <= int(pno) <= int(pnum):
        raise Hj212Error("bad_value", f"PNO {pno} is not within PNUM {pnum}")
    return {"pnum": int(pnum), "pno": int(pno)}


# --- CP --------------------------------------------------------------------------------------

def _cp_groups(cp: str) -> Iterator[list[tuple[str, str]]]:
    """`key=value` items of CP: groups split by `;`, items by `,`; empty ones skipped."""
    for group in cp.split(";"):
        items = []
        for item in filter(None, group.split(",")):
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise Hj212Error("bad_structure", f"CP item is not key=value: {_clip(item)}")
            items.append((key.strip(), value.strip()))
        yield items


def _zs_only(items: list[tuple[str, str]]) -> set[str]:
    """Factors whose group carries only converted (Zs…) figures, so its Flag is theirs.

    2005-era devices send `01-Rtd=3.5,01-Flag=N;01-ZsRtd=4.9,01-Flag=M`: two flags."""
    names: dict[str, set[str]] = {}
    for key, _ in items:
        factor, _, name = key.rpartition("-")
        if name != "Flag":
            names.setdefault(factor, set()).add(name)
    return {f for f, found in names.items() if all(n.startswith("Zs") for n in found)}


def _put(target: dict[str, str], name: str, value: str, key: str) -> None:
    """Store an item; a repeat is fine only with the same value (seen in 2005 frames)."""
    if target.setdefault(name, value) != value:
        raise Hj212Error("bad_structure", f"{key} given twice with different values")


def _group_cp(cp: str) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Sort CP items into per-factor fields (`w01018-Rtd`) and frame-level ones."""
    factors: dict[str, dict[str, str]] = {}
    extra: dict[str, str] = {}
    for items in _cp_groups(cp):
        zs_only = _zs_only(items)
        for key, value in items:
            factor, dash, name = key.rpartition("-")
            if not dash:
                _put(extra, key, value, key)
                continue
            if not factor or not name:
                raise Hj212Error("bad_structure", f"CP key is not factor-field: {_clip(key)}")
            name = "ZsFlag" if name == "Flag" and factor in zs_only else name
            _put(factors.setdefault(factor, {}), name, value, key)
    return factors, extra


def _typed(factor: str, name: str, value: str) -> float | str:
    """Numeric fields must be finite decimal numbers; a wrong number is worse than none."""
    if name in ("Flag", "ZsFlag") and value not in DATA_FLAGS:
        raise Hj212Error("bad_value", f"factor {factor}: unknown data flag {_clip(value)}")
    if name not in _NUMERIC:
        return value
    if not _NUMBER.fullmatch(value):
        raise Hj212Error("bad_value", f"factor {factor}: {name} is not a number: {_clip(value)}")
    number = float(value)
    if not math.isfinite(number):  # 9e999: a decimal number, but no float holds it
        raise Hj212Error("bad_value", f"factor {factor}: {name} is out of range: {_clip(value)}")
    return number


def _primary(cn: str, fields: Mapping[str, float | str]) -> float | None:
    """The figure that counts: Rtd for real-time frames, Avg for statistics, else either."""
    order = ("Avg", "Rtd") if cn in AVG_CNS else ("Rtd", "Avg")
    for name in order:
        value = fields.get(name)
        if isinstance(value, float):
            return value
    return None


def _parse_time(text: str, key: str = "DataTime") -> datetime:
    """yyyyMMddHHmmss in Beijing time; 2005-era devices append milliseconds."""
    match = _TIME.fullmatch(text)
    if match:
        *parts, millis = match.groups()
        try:
            return datetime(*map(int, parts), int(millis or 0) * 1000, tzinfo=BEIJING)
        except ValueError:
            pass
    raise Hj212Error("bad_time", f"{key} is not a valid yyyyMMddHHmmss time: {_clip(text)}")


def _data_time(extra: dict[str, str], cn: str) -> datetime | None:
    """Take DataTime out of the extra fields; data uploads cannot do without it."""
    text = extra.pop("DataTime", None)
    if text is not None:
        return _parse_time(text)
    if cn in RTD_CNS | AVG_CNS:
        raise Hj212Error("missing_field", f"missing DataTime, required for CN {cn}")
    return None


def _cp(cn: str, cp: str) -> dict[str, Any]:
    """Parse the CP contents into data_time, values, flags, fields and extra."""
    raw, extra = _group_cp(cp)
    fields = {f: {n: _typed(f, n, v) for n, v in items.items()} for f, items in raw.items()}
    values = {f: v for f, items in fields.items() if (v := _primary(cn, items)) is not None}
    flags = {f: str(items["Flag"]) for f, items in fields.items() if "Flag" in items}
    data_time = _data_time(extra, cn)
    return {"data_time": data_time, "values": values, "flags": flags,
            "fields": fields, "extra": extra}


def parse_frame(raw: bytes | str) -> Frame:
    """Parse one frame, with or without CRLF; raise Hj212Error for anything invalid."""
    text = _decode(_unwrap(_as_bytes(raw)))
    head, cp = _split_segment(text)
    header = _header(_header_items(head))
    return Frame(**header, **_cp(header["cn"], cp))


# --- encoding --------------------------------------------------------------------------------

def wrap_segment(segment: str) -> str:
    """Frame a data segment: `##` + length + segment + CRC + CRLF."""
    data = segment.encode("utf-8")
    if len(data) > _MAX_DATA:
        raise Hj212Error("bad_length", f"data segment of {len(data)} bytes exceeds {_MAX_DATA}")
    return f"##{len(data):04d}{segment}{crc16(data):04X}\r\n"


def _number_text(factor: str, value: float) -> str:
    """Shortest text that reads back as the same float, without exponent."""
    number = float(value)
    if not math.isfinite(number):
        raise Hj212Error("bad_value", f"factor {factor}: {number} cannot be sent")
    text = repr(number)
    return format(Decimal(text), "f") if "e" in text else text


def _time_text(moment: datetime) -> str:
    """DataTime text in Beijing time; seconds resolution, as the standard has it."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Hj212Error("bad_time", "data_time must be timezone-aware")
    t = moment.astimezone(BEIJING)
    return f"{t.year:04d}{t.month:02d}{t.day:02d}{t.hour:02d}{t.minute:02d}{t.second:02d}"


def _item_text(factor: str, name: str, value: float | str) -> str:
    """One `factor-Name=value` item, checked so that it parses back unchanged."""
    if not _NAME.fullmatch(factor) or not _NAME.fullmatch(name):
        raise Hj212Error("bad_value", f"factor/field name not sendable: {factor}-{name}")
    if name in _NUMERIC or not isinstance(value, str):
        return f"{factor}-{name}={_number_text(factor, float(value))}"
    _typed(factor, name, value)
    if not _SAFE.fullmatch(value):
        raise Hj212Error("bad_value", f"factor {factor}: {name} value not sendable")
    return f"{factor}-{name}={value}"


def _encode_cp(
    cn: str, data_time: datetime | None, values: Mapping[str, float],
    flags: Mapping[str, str], fields: Mapping[str, Mapping[str, float | str]],
    extra: Mapping[str, str],
) -> str:
    """CP contents: DataTime, one group per factor, then any extra frame-level fields."""
    value_name = "Avg" if cn in AVG_CNS else "Rtd"
    groups = [f"DataTime={_time_text(data_time)}"] if data_time else []
    for factor in dict.fromkeys([*values, *fields, *flags]):
        items: dict[str, float | str] = dict(fields.get(factor, {}))
        if factor in values:
            items[value_name] = values[factor]
        if factor in flags:
            items["Flag"] = flags[factor]
        groups.append(",".join(_item_text(factor, n, v) for n, v in items.items()))
    for key, value in extra.items():
        if not _NAME.fullmatch(key) or not _SAFE.fullmatch(value) or key == "DataTime":
            raise Hj212Error("bad_value", f"CP field not sendable: {_clip(key)}")
        groups.append(f"{key}={value}")
    return ";".join(groups)


def encode_frame(
    *, st: str, cn: str, pw: str, mn: str, values: Mapping[str, float],
    flags: Mapping[str, str] | None = None, data_time: datetime | None = None,
    flag: int | None = 4, qn: str | None = None, pnum: int | None = None,
    pno: int | None = None, fields: Mapping[str, Mapping[str, float | str]] | None = None,
    extra: Mapping[str, str] | None = None,
) -> str:
    """Build a valid frame (with CRLF). `values` go out as -Avg for CN 2051/2061/2031,
    else -Rtd; `fields` adds per-factor items (Min, Max, Cou …). Flag 4 = HJ 212-2017,
    no reply wanted. QN defaults to DataTime with milliseconds 000."""
    if qn is None and data_time is not None:
        qn = _time_text(data_time) + "000"
    header = {"QN": qn, "ST": st, "CN": cn, "PW": pw, "MN": mn, "Flag": flag,
              "PNUM": pnum, "PNO": pno}
    present = {k: str(v) for k, v in header.items() if v is not None}
    if not _SAFE.fullmatch(pw):
        raise Hj212Error("bad_value", "PW not sendable")
    _header(present)
    head = "".join(f"{key}={value};" for key, value in present.items())
    cp = _encode_cp(cn, data_time, values, flags or {}, fields or {}, extra or {})
    return wrap_segment(f"{head}CP=&&{cp}&&")
