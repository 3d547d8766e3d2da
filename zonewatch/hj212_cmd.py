"""`zonewatch hj212 parse`: check frames captured from a device or gateway, one per line.

Operators paste or pipe what a device sent and see what zonewatch reads from it, or why it
would be dead-lettered. Lines are read as bytes when possible, so GBK or broken input is
judged by the parser (and named on stderr) instead of failing to decode.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import BinaryIO, TextIO

from ingest.hj212 import Hj212Error, parse_frame

__all__ = ["run_parse"]


def _lines(stdin: TextIO | BinaryIO) -> Iterable[bytes | str]:
    """The raw lines, as bytes when the stream has a binary buffer underneath."""
    return getattr(stdin, "buffer", stdin)


def run_parse(stdin: TextIO | BinaryIO, stdout: TextIO, stderr: TextIO) -> int:
    """Print one JSON object per valid frame; name each invalid one; 1 if any was invalid."""
    invalid = 0
    for number, line in enumerate(_lines(stdin), start=1):
        if not line.strip():
            continue
        try:
            frame = parse_frame(line)
        except Hj212Error as exc:
            invalid += 1
            stderr.write(f"line {number}: {exc.code}: {exc}\n")
            continue
        stdout.write(json.dumps(frame.to_json_dict(), ensure_ascii=False) + "\n")
    return 1 if invalid else 0
