"""After a fault or a scale-out run: what was stored, what was alerted, what coverage said.

Everything is read back from where the product keeps it (InfluxDB, the `zw.alerts` record of
truth, the ingest's metrics) and compared with what the test published.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from influxdb_client import InfluxDBClient

from schemas import ReadingBatch
from schemas.pipeline import TICK_KEY
from tests.integration.procs import ZwProcess


def scrape(port: str | int, metric: str, label: str = "") -> float | None:
    """Sum of a metric's samples on a loopback /metrics (those whose labels contain `label`);
    None when the endpoint does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    samples = re.findall(rf"^{re.escape(metric)}(\{{[^}}]*\}})? (\S+)$", text, re.M)
    return sum(float(v) for labels, v in samples if label in labels)


def stored_count(influx: InfluxDBClient, bucket: str, zone: str,
                 before: int | None = None) -> int:
    """Readings of `zone` in InfluxDB (one field's rows), those stamped before `before`
    (epoch s) if given: cheap enough to poll."""
    stop = "" if before is None else f", stop: {before}"
    flux = f'''from(bucket: "{bucket}") |> range(start: -3h{stop})
      |> filter(fn: (r) => r._measurement == "reading" and r.zone == "{zone}"
                           and r._field == "w01018")
      |> group() |> count()'''
    return sum(int(rec.get_value()) for t in influx.query_api().query(flux) for rec in t.records)


def stored_readings(influx: InfluxDBClient, bucket: str, zone: str) -> list[tuple[str, int]]:
    """(point, epoch second) of every stored reading row of `zone`, repeats included."""
    flux = f'''from(bucket: "{bucket}") |> range(start: -3h)
      |> filter(fn: (r) => r._measurement == "reading" and r.zone == "{zone}"
                           and r._field == "w01018")
      |> keep(columns: ["point", "_time"])'''
    return [(rec.values["point"], int(rec.get_time().timestamp()))
            for t in influx.query_api().query(flux) for rec in t.records]


def coverage_rows(influx: InfluxDBClient, bucket: str, zone: str) -> list[dict]:
    """The zone's coverage rows in time order (their time is the worker's trusted time)."""
    flux = f'''from(bucket: "{bucket}") |> range(start: -3h)
      |> filter(fn: (r) => r._measurement == "coverage" and r.zone == "{zone}"
                           and r._field != "dark_json")
      |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
      |> group() |> sort(columns: ["_time"])'''
    return [rec.values for t in influx.query_api().query(flux) for rec in t.records]


def coverage_at(rows: list[dict], epoch_s: int) -> dict | None:
    """The figures in force at `epoch_s`: the newest row not after it."""
    before = [r for r in rows if r["_time"].timestamp() <= epoch_s]
    return before[-1] if before else None


async def _read_to_end(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions: set[int] | None = None
        for _ in range(50):  # the topic's metadata may take a moment to arrive
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
            if partitions:
                break
            await asyncio.sleep(0.2)
        assert partitions, f"no partitions for {topic}"
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: list[tuple[bytes | None, bytes]] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                out.extend((r.key, r.value) for r in records)
        return out
    finally:
        await consumer.stop()


def read_to_end(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes]]:
    """Every record of `topic` up to its end offsets now, per partition in order."""
    return asyncio.run(_read_to_end(bootstrap, topic))


def readings_in_kafka(bootstrap: str, topic: str, zone: str) -> Counter[tuple[str, int]]:
    """How often each reading of `zone` went through `zw.readings` (ticks left out)."""
    seen: Counter[tuple[str, int]] = Counter()
    for key, value in read_to_end(bootstrap, topic):
        if key == TICK_KEY:
            continue
        for r in ReadingBatch.model_validate_json(value).readings:
            if r.zone == zone:
                seen[(r.point, int(r.ts.timestamp()))] += 1
    return seen


@dataclass
class AlertAudit:
    """What `zw.alerts` says, checked against the points the test knows."""

    changes: int = 0
    republished: int = 0
    """The same (id, status) published again: at-least-once, receivers de-duplicate on it."""
    raised_twice: list[str] = field(default_factory=list)
    """Ids opened more than once or reopened after resolving, and incidents (kind, subject,
    start) that got more than one id."""
    startup_gaps: list[dict] = field(default_factory=list)
    """data_gap of a point before its first reading was in (SPEC: never reported = offline)."""
    gaps: list[dict] = field(default_factory=list)
    """data_gap of a reporting point after it had reported: false while it keeps reporting."""
    silenced_gaps: list[dict] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def open_gaps(self) -> list[dict]:
        """data_gap not resolved, of points that report."""
        return [g for g in [*self.startup_gaps, *self.gaps] if g["status"] != "resolved"]


def audit_alerts(records: list[tuple[bytes | None, bytes]], points: set[str],
                 silenced: set[str] = frozenset()) -> AlertAudit:
    """Every change on `zw.alerts`, in order per subject; `points` are the test's own,
    `silenced` those it stopped on purpose."""
    alerts = [json.loads(v) for _, v in records]
    history: dict[str, list[dict]] = defaultdict(list)
    incidents: dict[tuple, set[str]] = defaultdict(set)
    for a in alerts:
        history[a["id"]].append(a)
        if a.get("since") is not None:  # zone-level alerts carry no incident start
            incidents[(a["kind"], a.get("subject"), a["since"])].add(a["id"])
    audit = AlertAudit(changes=len(alerts), by_kind=dict(Counter(a["kind"] for a in alerts)))
    twice: set[str] = set()
    for aid, changes in history.items():
        statuses = [c["status"] for c in changes]
        audit.republished += len(statuses) - len(set(statuses))
        resolved = statuses.index("resolved") if "resolved" in statuses else len(statuses)
        if statuses.count("open") > 1 or "open" in statuses[resolved:]:
            twice.add(aid)
        first, last = changes[0], changes[-1]
        if first["kind"] != "data_gap" or first.get("point") not in points:
            continue
        gap = {"id": aid, "point": first["point"], "since": first.get("since"),
               "status": last["status"], "opened_at": first.get("opened_at")}
        if first["point"] in silenced:
            audit.silenced_gaps.append(gap)
        elif gap["since"] is None:
            audit.startup_gaps.append(gap)
        else:
            audit.gaps.append(gap)
    twice.update(i for ids in incidents.values() if len(ids) > 1 for i in ids)
    audit.raised_twice = sorted(twice)
    return audit


@dataclass
class Figures:
    """One run's figures, as the issue asks for them per fault."""

    case: str
    published: int
    """Readings the broker acknowledged, slow parts included."""
    fast: int
    """Of those, stamped in the seconds planned at one reading per point per second,
    around the fault (sent late while the broker was away) …"""
    fast_rate: int
    """… that many per planned second."""
    stored: int
    missing: int
    missing_in_kafka: int
    """Of the missing, how many reached zw.readings (lost by a worker, not by the broker or
    ingest)."""
    unexpected: int
    duplicated: int
    """Rows beyond one per (point, second) in InfluxDB."""
    redelivered: int
    """Readings that went through zw.readings more than once (absorbed by storage)."""
    alerts_raised_twice: int
    alert_changes: int
    republished_changes: int
    startup_gaps: int
    """data_gap of points not yet heard of when the workers first judged (all resolved)."""
    gaps_raised: int
    """data_gap of points that kept reporting, raised after their first reading."""
    gaps_left_open: int
    gap_window: str
    """For false gaps: the span of their incident starts and of the times they opened."""
    coverage: float | None
    publisher_lag_s: float
    catch_up_s: float
    """From the stream's stop until InfluxDB had every reading."""
    settle_s: float = 0.0
    """From the end of the fast part until everything was stored and judged right again."""
    notes: str = ""
    unsettled: str = ""
    """Set when alerts or coverage did not come right while the stream ran."""

    def line(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


def wait_for_stored(influx: InfluxDBClient, bucket: str, zone: str, want: int,
                    procs: list[ZwProcess], timeout: float = 240,
                    stalled_after: float = 90) -> float:
    """Wait until InfluxDB holds `want` readings of the zone, printing progress; give up when
    nothing moves for `stalled_after` s or after `timeout` (the audit then counts what is
    missing). Returns the seconds it waited."""
    t0 = time.monotonic()
    last, moved, shown = -1, t0, 0.0
    while True:
        for proc in procs:
            proc.assert_alive()
        have = stored_count(influx, bucket, zone)
        now = time.monotonic()
        if have >= want or now - moved > stalled_after or now - t0 > timeout:
            return now - t0
        if have != last:
            last, moved = have, now
        if now - shown >= 5:
            print(f"  catching up: {have:,}/{want:,} stored ({now - t0:.0f} s)", flush=True)
            shown = now
        time.sleep(2)
