"""Cache warm start against a cold sync: time from process start to a served store of
100,000 entries (RTDB children), measured around a fresh Python process each time.

* cold: the process listens to the emulator and waits for the initial sync;
* warm: the process opens the cache file (backend unreachable) and serves it.

Usage: ``.venv/bin/python benchmarks/offline_cache_warm_start.py [entries]``
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import emulator_process

ENTRIES = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000

# argv: mode ("cold" | "fill" | "warm"), database URL base, namespace, cache path, entries
_CHILD = """
import asyncio, sys
from firebase_sync import Document, RealtimeRepository, RetryPolicy, Store
from firebase_sync.adapters._rtdb_http import RtdbEndpoint
from firebase_sync.offline import LocalCache, OfflineRepository

class Item(Document):
    name: str
    n: int
    tags: list[str] = []

async def main():
    mode, base, namespace, cache_path, entries = sys.argv[1:6]
    entries = int(entries)
    patient = RetryPolicy(attempts=None, initial=0.5, maximum=1.0, deadline=None)
    repo = RealtimeRepository(Item, "/items", endpoint=RtdbEndpoint(base, namespace, emulator=True),
                              reconnect=patient)
    store = Store()
    if mode == "cold":
        async with repo.watch(store=store):
            await store.wait_for(lambda s: len(s) == entries, timeout=600)
    else:
        with LocalCache(cache_path) as cache:
            async with OfflineRepository(repo, cache, replay_policy=patient) as offline:
                async with offline.watch(store=store):
                    if mode == "fill":
                        await store.wait_for(
                            lambda s: len(s) == entries
                            and not any(e.metadata.from_cache for e in s.items()), timeout=600)
                    else:
                        await store.wait_for(lambda s: len(s) == entries, timeout=600)
                        assert all(e.metadata.from_cache for e in store.items())
    print("served", flush=True)
    await repo.aclose()

asyncio.run(main())
"""


def timed_child(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", _CHILD, *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def seed(host: str, namespace: str) -> None:
    chunk = 10_000
    for first in range(0, ENTRIES, chunk):
        body = {
            f"k{i:06d}": {"name": f"item {i}", "n": i, "tags": ["a", "b"]}
            for i in range(first, min(ENTRIES, first + chunk))
        }
        request = urllib.request.Request(
            f"http://{host}/items.json?ns={namespace}&print=silent",
            data=json.dumps(body).encode(),
            method="PATCH",
        )
        urllib.request.urlopen(request).read()  # noqa: S310 (local emulator)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, emulator_process(("database",)) as emulators:
        namespace = f"{emulators.project}-default-rtdb"
        base = f"http://{emulators.database_host}"
        seed(emulators.database_host, namespace)
        cache = str(Path(tmp) / "worker.db")
        python_start = timed_child("none", "http://127.0.0.1:9", namespace, cache, "0")
        cold = timed_child("cold", base, namespace, cache, str(ENTRIES))
        fill = timed_child("fill", base, namespace, cache, str(ENTRIES))
        # Port 9 (discard) refuses: the backend is unreachable for the warm start.
        warm = timed_child("warm", "http://127.0.0.1:9", namespace, cache, str(ENTRIES))
        size = Path(cache).stat().st_size
    print(f"entries: {ENTRIES:,}; cache file {size / 1e6:.1f} MB")
    print(f"process start, imports and exit alone: {python_start:.2f} s")
    print(f"cold sync from the emulator:           {cold:.2f} s")
    print(f"cold sync writing the cache:           {fill:.2f} s")
    print(f"warm start from the cache:             {warm:.2f} s")
    print(f"warm start is {cold / warm:.1f}x faster than a cold sync")


if __name__ == "__main__":
    main()
