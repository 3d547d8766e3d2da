"""The CRC16 of HJ 212 frames (HJ 212-2017 appendix A, unchanged from HJ/T 212-2005).

It is not the Modbus CRC, though it shares the 0xA001 polynomial: each byte is XORed into
the register *after* the register's high byte is shifted down, so off-the-shelf CRC-16
tables give the wrong answer.
"""

from __future__ import annotations

__all__ = ["crc16"]


def _step(register: int, byte: int) -> int:
    """One byte of the appendix A algorithm."""
    register = (register >> 8) ^ byte
    for _ in range(8):
        register = (register >> 1) ^ 0xA001 if register & 1 else register >> 1
    return register


# (register >> 8) ^ byte never exceeds 0xFF, so each byte's eight shifts are one lookup.
_TABLE = tuple(_step(0, index) for index in range(256))


def crc16(data: bytes) -> int:
    """CRC16 of a data segment, as the frame carries it after the segment (4 hex digits)."""
    register = 0xFFFF
    for byte in data:
        register = _TABLE[(register >> 8) ^ byte]
    return register
