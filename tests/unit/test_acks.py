"""Offsets are committed only for processed events, and only contiguously from the committed
one: the rules that keep a rebalance from losing readings (streams.acks)."""

from __future__ import annotations

import asyncio

import faust
import pytest
from faust.types import TP, Message

from streams.acks import (
    HoleMender,
    all_done_before,
    guard_acks,
    next_offset,
    unless_finished,
)

TOPIC = "zw.readings"


def test_a_missing_head_offset_holds_the_commit_back() -> None:
    # Faust's own rule commits here (min(acked) - committed == 1 is not a gap to it).
    acked, index = [11, 12, 13], {11, 12, 13}
    assert next_offset(acked, index, committed=10) is None
    assert acked == [11, 12, 13]


def test_the_run_from_the_committed_offset_is_committed_and_consumed() -> None:
    acked, index = [12, 10, 11, 14], {10, 11, 12, 14}
    assert next_offset(acked, index, committed=10) == 13
    assert acked == [14] and index == {14}
    assert next_offset(acked, index, committed=13) is None


def test_first_commit_of_a_new_group_starts_anywhere() -> None:
    assert next_offset([5, 6], {5, 6}, committed=None) == 7
    assert next_offset([], set(), committed=3) is None


def message(offset: int, *, tracked: bool, partition: int = 0) -> Message:
    m = Message(TOPIC, partition, offset, 0.0, 0, {}, b"k", b"v", None)
    m.tracked = tracked
    return m


@pytest.fixture
def app() -> faust.App:
    app = faust.App("zw-test-acks", broker="kafka://127.0.0.1:1", autodiscover=False)
    app.topic(TOPIC)
    app.topics._acking_topics.add(TOPIC)  # what subscribing an agent does
    guard_acks(app)
    return app


def test_an_event_the_stream_skipped_is_not_acked_and_a_processed_one_is(
        app: faust.App) -> None:
    consumer = app.consumer
    tp = TP(TOPIC, 0)
    consumer._committed_offset[tp] = 0
    skipped, processed = message(0, tracked=False), message(1, tracked=True)
    consumer._unacked_messages.add(skipped)
    consumer._unacked_messages.add(processed)
    assert consumer.ack(skipped) is False
    assert consumer.ack(processed) is True
    assert skipped not in consumer._unacked_messages  # no rebalance waits on it
    assert consumer._acked[tp] == [1]
    assert consumer._new_offset(tp) is None  # offset 0 was never processed
    redelivered = message(0, tracked=True)  # read again after the seek
    assert consumer.ack(redelivered) is True
    assert consumer._new_offset(tp) == 2


def test_a_jump_in_fetched_offsets_is_not_counted_as_done(app: faust.App) -> None:
    """Offsets 5..9 were handed to the stream before a seek back to 5; the fetcher then goes
    on with the old batch at 10. Faust would record 6..9 as a gap (done)."""
    consumer = app.consumer
    tp = TP(TOPIC, 0)
    consumer._committed_offset[tp] = 5
    asyncio.run(consumer._add_gap(tp, 6, 10))
    assert consumer.ack(message(10, tracked=True)) is True
    assert consumer._new_offset(tp) is None  # 5..9 are not processed yet


class _Event:
    def __init__(self, offset: int) -> None:
        self.message = message(offset, tracked=True)


def test_work_that_does_not_finish_leaves_its_events_undone() -> None:
    batch, single = [_Event(1), _Event(2)], _Event(3)
    with pytest.raises(asyncio.CancelledError), unless_finished(batch):
        raise asyncio.CancelledError  # a stop or a rebalance mid-batch
    with pytest.raises(ValueError), unless_finished(single):
        raise ValueError("the work on one event failed")
    # Marked so Faust's ack skips them: they never reach the commit bookkeeping.
    assert all(e.message.acked for e in [*batch, single])
    done = [_Event(4)]
    with unless_finished(done):
        pass
    assert not done[0].message.acked


def test_a_hole_that_stays_is_read_again_from_the_committed_offset(app: faust.App) -> None:
    consumer = app.consumer
    tp, other = TP(TOPIC, 0), TP(TOPIC, 1)
    consumer._committed_offset[tp] = consumer._committed_offset[other] = 100
    for offset in (101, 102):  # 100 never came: dropped between fetcher and agent
        consumer.ack(message(offset, tracked=True))
    consumer.ack(message(100, tracked=True, partition=1))
    mender = HoleMender(consumer, after_s=10)
    mine = {tp, other}
    assert mender.due(now=0.0, assigned=mine) == {}
    assert mender.due(now=9.0, assigned=mine) == {}  # may still be on its way
    assert mender.due(now=10.5, assigned={other}) == {}  # revoked meanwhile: not ours to seek
    assert mender.due(now=11.0, assigned=mine) == {}  # ours again: its hole is timed afresh
    assert mender.due(now=21.5, assigned=mine) == {tp: 100}  # partition 1 had no hole
    consumer.ack(message(100, tracked=True))  # read again and done
    assert consumer._new_offset(tp) == 103
    assert mender.due(now=40.0, assigned=mine) == {}


def test_a_tick_vouches_only_once_everything_before_it_is_done(app: faust.App) -> None:
    consumer = app.consumer
    tp = TP(TOPIC, 0)
    consumer._committed_offset[tp] = 10
    consumer.ack(message(10, tracked=True))
    consumer.ack(message(12, tracked=True))  # 11 lost on its way
    assert not all_done_before(consumer, tp, 14, also={13, 14})
    assert all_done_before(consumer, tp, 14, also={11, 13, 14})
    assert all_done_before(consumer, tp, 10, also=set())
