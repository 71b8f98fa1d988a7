"""Warm restart of a Firestore worker: resume from the cached token against a full re-listen.

The cache holds N documents and the source's resume token; while the worker is down another
client adds, modifies and deletes one document each. Then the worker restarts from a copy of
that cache:

* resume: the cached token is sent, the server answers with the changes since;
* full re-listen: the same cache with its token removed (the behaviour before resuming): the
  server sends the whole result set, diffed against the cache;
* cold: no cache at all (for scale).

Printed per case: documents the Listen stream received, bytes through a TCP proxy between the
worker and the emulator (both directions, gRPC framing and connection set-up included), time
from opening the cache to the cache served and to the server's sync (median of the runs).

Usage: ``.venv/bin/python benchmarks/offline_resume.py [--docs 10000] [--runs 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _common import emulator_process

from firebase_sync import ChangeStream, Document, FirestoreRepository, Store, Synced
from firebase_sync.offline import LocalCache, OfflineRepository
from firebase_sync_emulator.faults import FaultProxy


class Item(Document):
    name: str
    n: int
    price: float = 0.0


@dataclass(frozen=True)
class Figures:
    received: int
    bytes: int
    served: float
    synced: float


async def load(repo: FirestoreRepository[Item], docs: int) -> None:
    for first in range(0, docs, 500):
        async with repo.batch() as batch:
            for i in range(first, min(docs, first + 500)):
                batch.set(Item(id=f"d{i:06d}", name=f"item {i:06d}", n=i, price=i / 4))


async def worker(project: str, proxy: FaultProxy, cache_path: Path) -> Figures:
    """One worker run through the proxy: open the cache, listen until the server's sync."""
    from google.cloud import firestore

    os.environ["FIRESTORE_EMULATOR_HOST"] = proxy.address
    repo = FirestoreRepository(Item, "items", client=firestore.AsyncClient(project=project))
    before = proxy.stats.bytes_forwarded
    served = 0.0
    start = time.perf_counter()
    with LocalCache(cache_path) as cache:
        async with OfflineRepository(repo, cache) as offline:
            store: Store[Item] = Store()
            listener = offline.listener(store)
            async with ChangeStream(listener, store=store) as stream:
                async for event in stream:
                    if isinstance(event, Synced):
                        if event.metadata.from_cache:
                            served = time.perf_counter() - start
                        else:
                            break
            synced = time.perf_counter() - start
    received = listener.inner.machine.documents_received
    await repo.client._firestore_api.transport.grpc_channel.close()
    return Figures(received, proxy.stats.bytes_forwarded - before, served, synced)


def copy_cache(template: Path, to: Path, *, keep_token: bool) -> Path:
    shutil.copyfile(template, to)
    if not keep_token:
        db = sqlite3.connect(to)
        db.execute("UPDATE sources SET resume_token = NULL")
        db.commit()
        db.close()
    return to


def median(runs: list[Figures]) -> Figures:
    return Figures(
        int(statistics.median(r.received for r in runs)),
        int(statistics.median(r.bytes for r in runs)),
        statistics.median(r.served for r in runs),
        statistics.median(r.synced for r in runs),
    )


async def main_async(docs: int, runs: int, tmp: Path, project: str, host: str) -> None:
    from google.cloud import firestore

    writer = FirestoreRepository(Item, "items", client=firestore.AsyncClient(project=project))
    await load(writer, docs)
    name, port = host.rsplit(":", 1)
    proxy = FaultProxy(name, int(port))
    await proxy.start()

    template = tmp / "template.db"
    cold = [await worker(project, proxy, template)]
    for i in range(1, runs):
        cold.append(await worker(project, proxy, tmp / f"cold{i}.db"))

    # While the worker is down: one document added, one modified, one deleted.
    await writer.set(Item(id="new", name="new", n=-1))
    await writer.update("d000001", {"price": 1e6})
    await writer.delete("d000002")

    resumed, relisten = [], []
    for i in range(runs):
        path = copy_cache(template, tmp / f"resume{i}.db", keep_token=True)
        resumed.append(await worker(project, proxy, path))
        path = copy_cache(template, tmp / f"full{i}.db", keep_token=False)
        relisten.append(await worker(project, proxy, path))
    await proxy.stop()
    await writer.client._firestore_api.transport.grpc_channel.close()

    print(f"documents: {docs:,}; changes while down: 3 (add, modify, delete); runs: {runs}")
    print(f"{'case':<16} {'docs received':>14} {'bytes':>12} {'cache served':>13} {'synced':>9}")
    rows = [("resume (token)", median(resumed)), ("full re-listen", median(relisten))]
    rows.append(("cold (no cache)", median(cold)))
    for label, f in rows:
        served = f"{f.served * 1000:.0f} ms" if f.served else "-"
        print(
            f"{label:<16} {f.received:>14,} {f.bytes:>12,} {served:>13} {f.synced * 1000:>6.0f} ms"
        )
    r, full = rows[0][1], rows[1][1]
    print(
        f"resume vs full re-listen: {full.bytes / r.bytes:.0f}x fewer bytes, "
        f"{full.synced / r.synced:.1f}x faster to the server's sync"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, emulator_process(("firestore",)) as emulators:
        asyncio.run(
            main_async(args.docs, args.runs, Path(tmp), emulators.project, emulators.firestore_host)
        )


if __name__ == "__main__":
    main()
