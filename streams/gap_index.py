"""Points ordered by deadline, so the gap timer touches only the points that are due.

A heap of (deadline, point id) with lazy deletion: an update pushes a new entry and leaves the
old one in place; an entry counts only while it matches the point's current deadline in the
dict. Updates and pops are O(log n); when stale entries outnumber live ones the heap is rebuilt
from the dict, so memory stays at about two small tuples per point. Not a store of truth: it is
rebuilt from the point-state table on start and after a rebalance.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable

from schemas import Point


class GapIndex:
    """Deadlines (epoch seconds) by point; `due(now)` hands out and forgets the expired ones."""

    __slots__ = ("_deadlines", "_heap", "_min_compact")

    def __init__(self, min_compact: int = 1024) -> None:
        self._deadlines: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._min_compact = min_compact  # below this size rebuilding gains nothing

    def __len__(self) -> int:
        return len(self._deadlines)

    def __contains__(self, point_id: object) -> bool:
        return point_id in self._deadlines

    def deadline_of(self, point_id: str) -> float | None:
        return self._deadlines.get(point_id)

    @property
    def heap_size(self) -> int:
        """Entries held, stale ones included: for a metric, and for tests of compaction."""
        return len(self._heap)

    def update(self, point_id: str, deadline: float) -> None:
        """Set the point's deadline (later or earlier); -inf means due at once."""
        if math.isnan(deadline):
            raise ValueError(f"deadline of {point_id} is NaN")
        if self._deadlines.get(point_id) == deadline:
            return
        self._deadlines[point_id] = deadline
        heapq.heappush(self._heap, (deadline, point_id))
        self._maybe_compact()

    def remove(self, point_id: str) -> None:
        """Stop tracking a point (dropped from the registry); its heap entries go stale."""
        if self._deadlines.pop(point_id, None) is not None:
            self._maybe_compact()

    def seed(self, points: Iterable[Point], now: float) -> None:
        """Give every registered point not yet tracked a deadline of now + its threshold.

        Run on start after restoring deadlines from the state table: points that never
        reported then fall due too, after one threshold of grace rather than at once.
        """
        for p in points:
            if p.id not in self._deadlines:
                self.update(p.id, now + p.threshold_s)

    def due(self, now: float) -> list[str]:
        """Pop every point whose deadline is <= now, earliest first; they are no longer tracked."""
        out: list[str] = []
        heap, deadlines = self._heap, self._deadlines
        while heap and heap[0][0] <= now:
            deadline, point_id = heapq.heappop(heap)
            if deadlines.get(point_id) == deadline:
                del deadlines[point_id]
                out.append(point_id)
        return out

    def compact(self) -> None:
        """Rebuild the heap from live deadlines only, dropping every stale entry."""
        self._heap = [(d, p) for p, d in self._deadlines.items()]
        heapq.heapify(self._heap)

    def _maybe_compact(self) -> None:
        if len(self._heap) > self._min_compact and len(self._heap) > 2 * len(self._deadlines):
            self.compact()
