"""Pending-write queue throughput: queued writes per second (each fsync'd before the call
returns, backend unreachable), then the replay rate once the backend (the RTDB emulator) is
reachable.

Usage: ``.venv/bin/python benchmarks/offline_queue_throughput.py [writes]``
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from _common import embedded_emulators

from firebase_sync import Document, RealtimeRepository, RetryPolicy
from firebase_sync.adapters._rtdb_http import RtdbEndpoint
from firebase_sync.offline import Increment, LocalCache, OfflineRepository

WRITES = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
PATIENT = RetryPolicy(attempts=None, initial=0.05, maximum=0.2, deadline=None)


class Item(Document):
    name: str
    n: int = 0


async def run(cache_path: Path, database_host: str, namespace: str) -> None:
    with LocalCache(cache_path) as cache:
        start = time.perf_counter()
        for i in range(WRITES):
            cache.enqueue("bench", f"k{i}", "delete", None, None)
        raw = WRITES / (time.perf_counter() - start)
        cache.drop()

        # Port 9 refuses connections: every write stays queued.
        down = RealtimeRepository(
            Item, "/items", endpoint=RtdbEndpoint("http://127.0.0.1:9", namespace, emulator=True)
        )
        offline = OfflineRepository(down, cache, queue="always", replay_policy=PATIENT)
        start = time.perf_counter()
        for i in range(WRITES):
            key = f"k{(i // 2) % 100}"
            if i % 2:
                await offline.update(key, {"n": Increment(1)})
            else:
                await offline.set(Item(id=key, name="item"))
        queued = WRITES / (time.perf_counter() - start)
        stats = offline.statistics()
        await offline.aclose()
        await down.aclose()

        up = RealtimeRepository(
            Item,
            "/items",
            endpoint=RtdbEndpoint(f"http://{database_host}", namespace, emulator=True),
        )
        async with OfflineRepository(up, cache, replay_policy=PATIENT) as online:
            start = time.perf_counter()
            await online.flush(timeout=600)
            replayed = WRITES / (time.perf_counter() - start)
            done = online.statistics()
            assert (done.applied, done.failed) == (WRITES, 0), done
        await up.aclose()
    print(f"writes: {WRITES:,}; queue depth before replay {stats.queue_depth:,}")
    print(f"raw durable enqueue (fsync per write): {raw:,.0f} writes/s")
    print(f"OfflineRepository set/update, queued:  {queued:,.0f} writes/s")
    print(f"replay to the RTDB emulator, in order: {replayed:,.0f} writes/s")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, embedded_emulators(only=["database"]) as running:
        namespace = f"{running.project}-default-rtdb"
        asyncio.run(run(Path(tmp) / "queue.db", running.database_host, namespace))


if __name__ == "__main__":
    main()
