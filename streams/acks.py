"""Offsets are committed only for events an agent has processed.

Faust's stream drops an event that reaches it while flow is suspended (a rebalance is under
way) or that was fetched under an older consumer generation, and then *acks* it, so its offset
counts as done. When the partition stays with this worker, or the commit lands before the seek
back to the committed offset, the group's offset moves past readings nobody stored, status
changes nobody applied, signals nobody booked: they are lost for good (faust-streaming #216,
#221, #312).

`guard_acks` makes the consumer refuse those acks: an event the stream skipped was never
*tracked* (Faust tracks an event when it hands it on, not before). A refused event is simply
not done: its offset stays uncommitted, and after the rebalance the partition is read again
from the committed offset, by whichever worker owns it then.

It also makes the commit strictly contiguous. Faust commits past one missing offset at the
head of a partition's acked offsets (it takes `min(acked) - committed > 1` for a gap), which
would skip exactly such a refused event.

And it takes out Faust's offset gaps. When the fetched offsets jump, Faust records the skipped
range as done, for compacted topics and transaction markers. Our agents' topics have neither,
so their offsets are dense, and a jump only ever comes from a batch fetched before a seek
(the seek back to the committed offset at a rebalance lands while the fetcher is still handing
over the old batch). Faust then counts events that are still in the stream as done, and
commits past them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager

import faust
from aiokafka.errors import IllegalStateError
from faust.types import EventT, Message

log = logging.getLogger(__name__)


def register(app: faust.App) -> None:
    """Guard the consumer's acks, and read holes again (`HoleMender`) on a timer."""
    guard_acks(app)
    mender = HoleMender(app.consumer)

    @app.timer(interval=mender.after_s / 2, name="mend-holes")
    async def read_holes_again() -> None:
        if app.rebalancing:
            return  # partitions are moving; their new owner reads from the committed offset
        due = mender.due(time.monotonic(), app.consumer.assignment())
        if due:
            log.warning("offsets not done while later ones are, reading again from: %s",
                        {f"{tp.topic}[{tp.partition}]": o for tp, o in due.items()})
            try:
                await app.consumer.seek_wait(due)
            except IllegalStateError as e:  # revoked between the look and the seek
                log.info("not read again, the partition moved on: %s", e)


def guard_acks(app: faust.App) -> None:
    """Wrap `app.consumer.ack` and replace its next-offset and gap rules."""
    consumer = app.consumer
    ack = consumer.ack
    acking = app.topics.acks_enabled_for
    refused = 0

    def guarded(message: Message) -> bool:
        nonlocal refused
        if not message.tracked and acking(message.topic):
            # Forgotten, not done: out of the unacked set so a rebalance does not wait on it.
            consumer._unacked_messages.discard(message)
            refused += 1
            if refused in (1, 10, 100) or refused % 1000 == 0:
                log.info("not committing %d events skipped at rebalances (read again)", refused)
            return False
        return ack(message)

    consumer.ack = guarded  # type: ignore[method-assign]
    consumer._new_offset = lambda tp: next_offset(  # type: ignore[method-assign]
        consumer._acked[tp], consumer._acked_index[tp], consumer._committed_offset[tp])
    consumer._add_gap = _no_gap  # type: ignore[method-assign]


async def _no_gap(_tp: object, _offset_from: int, _offset_to: int) -> None:
    """Offsets of our topics are dense: a jump is never a range to count as done."""


def next_offset(acked: list[int], index: set[int], committed: int | None) -> int | None:
    """The offset to commit for a partition: one past the run of done offsets that starts at
    the committed one (the next to read), or None while that one is not done.

    `acked` and `index` are the partition's done offsets (consumed here)."""
    if not acked:
        return None
    acked.sort()
    if committed is not None and acked[0] > committed:
        return None
    end = 1
    while end < len(acked) and acked[end] == acked[end - 1] + 1:
        end += 1
    done = acked[:end]
    del acked[:end]
    index.difference_update(done)
    return done[-1] + 1


def abandon(events: Sequence[EventT]) -> None:
    """Keep these offsets from being committed: they are read again after a restart or by the
    partitions' next owner.

    Faust acks an event when the loop body that got it exits, even by an exception or by the
    task being cancelled (a SIGTERM mid-batch); a message already marked acked is skipped
    there without reaching the consumer's commit bookkeeping, and with the commit kept
    contiguous nothing after it is committed either.
    """
    for event in events:
        event.message.acked = True


@contextmanager
def unless_finished(events: EventT | Sequence[EventT]) -> Iterator[None]:
    """Around an agent's work on an event or a batch: if the work does not finish (an
    exception, or cancellation at a rebalance or a stop), none of it counts as done."""
    try:
        yield
    except BaseException:
        abandon(events if isinstance(events, Sequence) else [events])
        raise


def all_done_before(consumer: object, tp: object, offset: int, also: set[int]) -> bool:
    """Whether every offset of `tp` before `offset` is done: committed, acked, or in `also`
    (the batch being processed)."""
    committed = consumer._committed_offset.get(tp)  # type: ignore[attr-defined]
    if committed is None:
        return True  # a new group: nothing to hold it to
    index = consumer._acked_index.get(tp, ())  # type: ignore[attr-defined]
    return all(o in index or o in also for o in range(committed, offset))


class HoleMender:
    """Finds partitions whose next offset to commit has stayed undone while later ones were
    done: an event lost between the fetcher and the agent (Faust drops a fetched record whose
    offset is below the last one it read, and after a seek that "last one" can be a record of
    the batch fetched before it). Commits stop there, so nothing is lost, but nothing would
    read the event again before the next rebalance. `due()` names them, to be read again from
    the committed offset (what is read twice is stored once).

    A partition counts only after its hole has stayed `after_s`: the events of one partition
    reach their agent in order, so a later offset done while an earlier one is not means the
    earlier one will not come.
    """

    def __init__(self, consumer: object, after_s: float = 5.0) -> None:
        self._consumer = consumer
        self.after_s = after_s
        self._since: dict[object, tuple[int, float]] = {}

    def due(self, now: float, assigned: Collection[object]) -> dict[object, int]:
        """Partition → committed offset to read again from, for holes older than `after_s`,
        in the partitions still `assigned` (Faust keeps acked offsets of revoked ones, and a
        seek on a partition not assigned crashes the consumer)."""
        acked: dict = self._consumer._acked  # type: ignore[attr-defined]
        committed: dict = self._consumer._committed_offset  # type: ignore[attr-defined]
        since, due = {}, {}
        for tp, offsets in list(acked.items()):
            if tp not in assigned:
                continue
            head = committed.get(tp)
            if not offsets or head is None or min(offsets) <= head:
                continue
            seen = self._since.get(tp)
            if seen is None or seen[0] != head:
                since[tp] = (head, now)
            elif now - seen[1] >= self.after_s:
                due[tp] = head
                since[tp] = (head, now)  # and again after as long, if it did not help
            else:
                since[tp] = seen
        self._since = since
        return due
