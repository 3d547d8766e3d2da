"""Freed heap memory goes back to the operating system (glibc, as on every machine here)."""

import gc
import os

from zonewatch.heap import give_back_freed_memory


def rss() -> int:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_memory_freed_after_a_large_parse_is_given_back() -> None:
    give_back_freed_memory()
    before = rss()
    # many mid-sized strings, as a registry parse leaves: too big for CPython's own pools
    junk = [("x" * 600) + str(i) for i in range(100_000)]
    pin = "y" * 600  # allocated above them: the heap cannot just shrink from its top
    del junk
    gc.collect()
    kept = rss() - before
    assert kept > 10_000_000
    assert give_back_freed_memory()
    assert rss() - before < kept / 2
    assert pin
