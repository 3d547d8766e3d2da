"""Fill a readings topic with N ReadingEvents for the demo registry's points (bench helper)."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer

from schemas import ReadingEvent
from schemas.registry_check import load_registry


async def fill(bootstrap: str, topic: str, registry_path: str, n: int) -> float:
    reg = load_registry(registry_path)
    points = [p for p in reg.points]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20,
                                max_batch_size=512 * 1024)
    await producer.start()
    start = datetime.now(UTC) - timedelta(seconds=n // len(points) + 60)
    t0 = time.perf_counter()
    futures = []
    for i in range(n):
        p = points[i % len(points)]
        ent = reg.enterprise_by_id[p.enterprise]
        ev = ReadingEvent(point=p.id, zone=ent.zone, enterprise=ent.id,
                          ts=start + timedelta(seconds=i // len(points)),
                          values={f: 10.0 + i % 7 for f in p.factors}, received_at=start)
        futures.append(await producer.send(topic, ev.model_dump_json().encode(),
                                           key=p.id.encode()))
    await asyncio.gather(*futures)
    await producer.stop()
    return time.perf_counter() - t0


if __name__ == "__main__":
    secs = asyncio.run(fill(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
    print(f"filled {sys.argv[4]} in {secs:.1f} s")
