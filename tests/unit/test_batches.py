"""Ingest's grouping of readings per partition: nothing lost, order kept, size bounded."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ingest.batches import group
from ingest.decode import Record
from schemas import ReadingBatch
from zonewatch.topics import by_partition, partition_of

TOPIC = "zw.readings"


def reading(point: str, n: int) -> Record:
    body = (f'{{"point":"{point}","zone":"z","enterprise":"e",'
            f'"ts":"2026-11-27T10:00:{n % 60:02d}Z","values":{{"a":{n}}},'
            f'"received_at":"2026-11-27T10:00:00Z"}}')
    return Record(TOPIC, point.encode(), body.encode())


@given(st.lists(st.tuples(st.sampled_from([f"p{i}" for i in range(20)]),
                          st.integers(0, 10_000)), max_size=200),
       st.integers(1, 8), st.integers(300, 5_000))
def test_every_reading_lands_once_on_its_points_partition_in_order(
        items: list[tuple[str, int]], partitions: int, max_bytes: int) -> None:
    records = [reading(p, n) for p, n in items]
    out = group(records, TOPIC, partitions, max_bytes=max_bytes)
    seen: dict[str, list[float]] = {}
    for o in out:
        batch = ReadingBatch.model_validate_json(o.record.value)
        assert o.messages == len(batch.readings)
        assert len(o.record.value) <= max_bytes or o.messages == 1
        for r in batch.readings:
            assert partition_of(r.point.encode(), partitions) == o.partition
            seen.setdefault(r.point, []).append(r.values["a"])
    want: dict[str, list[float]] = {}
    for p, n in items:
        want.setdefault(p, []).append(float(n))
    assert seen == want


def test_other_records_pass_unchanged_with_their_keys() -> None:
    event = Record("zw.events", b"zone-a", b'{"kind":"heartbeat"}')
    letter = Record("zw.deadletter", b"zw/v1/z/readings", b"{}")
    out = group([event, reading("p1", 1), letter], TOPIC, 4)
    passed = [o for o in out if o.record.topic != TOPIC]
    assert [(o.record, o.partition, o.messages) for o in passed] == [
        (event, None, 1), (letter, None, 1)]
    assert sum(o.messages for o in out if o.record.topic == TOPIC) == 1


@given(st.lists(st.text(min_size=1, max_size=8), max_size=60), st.integers(1, 12))
def test_by_partition_keeps_every_item_once_in_order(keys: list[str], partitions: int) -> None:
    items = list(enumerate(keys))
    groups = by_partition(items, lambda item: item[1].encode(), partitions)
    assert sorted(i for g in groups.values() for i in g) == items
    for partition, group_ in groups.items():
        assert [i for i, _ in group_] == sorted(i for i, _ in group_)
        assert {partition_of(k.encode(), partitions) for _, k in group_} == {partition}
