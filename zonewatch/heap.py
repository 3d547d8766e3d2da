"""Handing freed heap memory back to the operating system.

Parsing a registry of 100k points builds and drops hundreds of MB of intermediate objects.
CPython frees them, but glibc's allocator keeps the pages, so the worker's resident set
stayed about 650 B per point higher than what it holds (bench.memory). `malloc_trim` gives
the free pages back; it walks the heap, so it is called after such one-off work, not often.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def give_back_freed_memory() -> bool:
    """True when the allocator could trim (glibc); elsewhere a no-op."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.malloc_trim(0))
