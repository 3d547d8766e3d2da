"""A strict reader of InfluxDB line protocol, as InfluxDB 2.x reads it (models/points.go), to
check what our hand-built lines really say. tests/integration/test_line_protocol.py checks this
reader against the real InfluxDB.

What InfluxDB does, and this reader too: in measurement, tag keys, tag values and field keys a
backslash escapes only `,` `=` and space (`\\,` → `,`); every other backslash is kept as it is
(so `a\\\\b` is stored with two backslashes), and a value cannot end in a backslash (it would
escape the separator after it). In string field values `\\"` and `\\\\` are the escapes.
"""

from __future__ import annotations

from dataclasses import dataclass

FieldValue = float | int | str | bool


class LineError(ValueError):
    """Not a line InfluxDB would take as we mean it."""


@dataclass(frozen=True)
class Line:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]
    timestamp: int | None


def escape_key(text: str) -> str:
    """The escaping InfluxDB undoes in tags and field keys (the reference for a fix)."""
    if not text or text.endswith("\\") or "\n" in text or "\r" in text:
        raise LineError(f"cannot be written as a tag or key: {text!r}")
    return text.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _split(text: str, sep: str, *, quotes: bool = False, limit: int = -1) -> list[str]:
    """Split at `sep` unless the character before it is a backslash (InfluxDB looks back one
    character, so `a\\\\,b` does not split); with `quotes`, never inside a string value,
    where `\\"` and `\\\\` are escapes."""
    parts, start, i, quoted = [], 0, 0, False
    while i < len(text) and limit != 0:
        c = text[i]
        if quoted:
            if c == "\\" and text[i + 1 : i + 2] in ('"', "\\"):
                i += 2
                continue
            quoted = c != '"'
        elif c in "\n\r":
            raise LineError("a raw newline ends the line")
        elif i == 0 or text[i - 1] != "\\":
            if quotes and c == '"':
                quoted = True
            elif c == sep:
                parts.append(text[start:i])
                start = i + 1
                limit -= 1
        i += 1
    if quoted and limit != 0:
        raise LineError(f"unterminated string in {text!r}")
    return [*parts, text[start:]]


def _unescape_key(text: str) -> str:
    """models/points.go unescapeTag: `\\,` `\\ ` `\\=` replaced in turn, nothing else."""
    if not text or text.endswith("\\") or _split(text, "=") != [text]:
        raise LineError(f"empty, ending in a backslash, or a bare '=': {text!r}")
    return text.replace("\\,", ",").replace("\\ ", " ").replace("\\=", "=")


def _string_value(text: str) -> str:
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body) and body[i + 1] in '"\\':
            out.append(body[i + 1])
            i += 2
        elif body[i] == '"':
            raise LineError(f"bare quote in string {text!r}")
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def _field_value(text: str) -> FieldValue:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return _string_value(text)
    if text in ("t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"):
        return text[0] in "tT"
    if text.endswith(("i", "u")):
        return int(text[:-1])
    try:
        return float(text)
    except ValueError:
        raise LineError(f"not a field value: {text!r}") from None


def parse_line(line: str) -> Line:
    """One line (newlines only inside string fields); LineError for anything InfluxDB would
    refuse or read differently."""
    head = _split(line, " ", limit=1)  # quotes mean nothing before the fields
    if len(head) != 2:
        raise LineError("no fields")
    parts = [head[0], *_split(head[1], " ", quotes=True)]
    if len(parts) not in (2, 3):
        raise LineError(f"expected 'series fields [time]', got {len(parts)} parts")
    series = _split(parts[0], ",")
    measurement = _unescape_key(series[0])
    tags: dict[str, str] = {}
    for item in series[1:]:
        kv = _split(item, "=", limit=1)
        if len(kv) != 2:
            raise LineError(f"tag without '=': {item!r}")
        key, value = _unescape_key(kv[0]), _unescape_key(kv[1])
        if key in tags:
            raise LineError(f"tag {key!r} twice")
        tags[key] = value
    fields: dict[str, FieldValue] = {}
    for item in _split(parts[1], ",", quotes=True):
        kv = _split(item, "=", quotes=True, limit=1)
        if len(kv) != 2 or not kv[1]:
            raise LineError(f"field without a value: {item!r}")
        fields[_unescape_key(kv[0])] = _field_value(kv[1])
    if len(parts) == 3 and not parts[2].lstrip("-").isdigit():
        raise LineError(f"not a timestamp: {parts[2]!r}")
    timestamp = int(parts[2]) if len(parts) == 3 else None
    return Line(measurement, tags, fields, timestamp)
