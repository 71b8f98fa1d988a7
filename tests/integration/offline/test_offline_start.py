"""Offline start: the backend is down, the worker serves its cache and queues its writes; the
backend returns, everything reconciles (only real differences) and the queue flushes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from offline_helpers import PATIENT, Product, Rig

from firebase_sync import Change, ChangeKind, Store
from firebase_sync.offline import Increment, LocalCache, OfflineRepository


def served(store: Store[Product]) -> dict[str, tuple[float, int]]:
    return {p.id: (p.price, p.stock) for p in store.values()}


def flags(store: Store[Product]) -> set[tuple[str, bool, bool]]:
    return {(e.key, e.metadata.from_cache, e.metadata.has_pending_writes) for e in store.items()}


async def server_state(writer: Any) -> dict[str, tuple[float, int]]:
    return {p.id: (p.price, p.stock) for p in await writer.all()}


async def test_offline_start_serves_the_cache_queues_writes_then_reconciles(
    rig: Rig, tmp_path: Path
) -> None:
    cache_path = tmp_path / "worker.db"
    for key, price in [("a", 1), ("b", 2), ("c", 3)]:
        await rig.writer.set(Product(id=key, name=key, price=price))

    # A first run, online, fills the cache.
    with LocalCache(cache_path) as cache:
        async with OfflineRepository(rig.proxied(), cache, replay_policy=PATIENT) as offline:
            store: Store[Product] = Store()
            async with offline.watch(store=store):
                await store.wait_for(
                    lambda s: len(s) == 3 and not any(f[1] for f in flags(s)), timeout=20
                )

    # The backend becomes unreachable, and changes meanwhile.
    rig.proxy.refuse = True
    await rig.proxy.drop()
    await rig.writer.update("a", {"price": 10})
    await rig.writer.delete("b")
    await rig.writer.set(Product(id="d", name="d", price=4))

    started = time.monotonic()
    with LocalCache(cache_path) as cache:
        async with OfflineRepository(rig.proxied(), cache, replay_policy=PATIENT) as offline:
            store = Store()
            seen: list[Change[Product]] = []
            subscription = store.subscribe()

            async def collect() -> None:
                async for change in subscription:
                    seen.append(change)

            collector = asyncio.create_task(collect())
            async with offline.watch(store=store):
                await store.wait_for(lambda s: len(s) == 3, timeout=5)
                assert time.monotonic() - started < 5
                assert served(store) == {"a": (1, 0), "b": (2, 0), "c": (3, 0)}
                assert flags(store) == {("a", True, False), ("b", True, False), ("c", True, False)}

                result = await offline.update("c", {"stock": Increment(5)})
                assert not result.applied
                await offline.set(Product(id="e", name="e", price=5))
                await offline.update("c", {"stock": Increment(2)})
                assert served(store)["c"] == (3, 7) and served(store)["e"] == (5, 0)
                assert ("c", True, True) in flags(store) and ("e", False, True) in flags(store)
                stats = offline.statistics()
                assert stats.queue_depth == 3 and not stats.online
                assert stats.oldest_pending_age is not None and stats.oldest_pending_age > 0
                await asyncio.sleep(0.1)  # let the subscriber catch up
                local_changes = len(seen)

                rig.proxy.refuse = False
                await offline.flush(timeout=20)
                expected = {"a": (10, 0), "c": (3, 7), "d": (4, 0), "e": (5, 0)}
                await store.wait_for(
                    lambda s: served(s) == expected and not any(f[1] or f[2] for f in flags(s)),
                    timeout=20,
                )
            await subscription.aclose()
            await collector
            assert offline.statistics().queue_depth == 0
            assert offline.statistics().applied == 3

    assert await server_state(rig.writer) == expected
    local = [c for c in seen if c.metadata.from_cache or c.metadata.has_pending_writes]
    assert len(local) == local_changes
    reconciled = sorted((c.key, c.kind) for c in seen[local_changes:])
    # Only the server's real differences: our own writes coming back change nothing.
    assert reconciled == [
        ("a", ChangeKind.MODIFIED),
        ("b", ChangeKind.REMOVED),
        ("d", ChangeKind.ADDED),
    ]
