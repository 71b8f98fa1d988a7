"""Which replay failures fail a queued write: only a definitive refusal, and it says which.

A refusal (here: a value over the database's size limit, INVALID_ARGUMENT) fails the write,
records the refusal's code with its message, and the flusher carries on with later writes.
A bug (a conflict callback that raises ``KeyError``) fails nothing: the write stays queued
and the bug is raised, as an ``InternalError``, to whoever waits on the flusher.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from offline_helpers import PATIENT, Product, Rig

from firebase_sync import FirebaseSyncError, InternalError, InvalidArgument, Store
from firebase_sync.offline import Conflict, ConflictPolicy, LocalCache, OfflineRepository

#: just over each database's limit: Firestore documents hold 1 MiB, RTDB strings 10 MiB
TOO_BIG = {"firestore": 1_100_000, "rtdb": 10 * 1024 * 1024 + 10}


async def test_a_refused_write_fails_says_which_and_the_queue_moves_on(
    rig: Rig, tmp_path: Path
) -> None:
    failures: list[FirebaseSyncError] = []
    with LocalCache(tmp_path / "w.db") as cache:
        async with OfflineRepository(
            rig.proxied(),
            cache,
            queue="always",
            replay_policy=PATIENT,
            on_failure=lambda write, error: failures.append(error),
        ) as offline:
            await offline.set(Product(id="big", name="x" * TOO_BIG[rig.database]))
            await offline.set(Product(id="small", name="fits"))
            await offline.flush(timeout=30)
            stats = offline.statistics()
        (failed,) = cache.pending(states=("failed",))
    assert (stats.failed, stats.applied, stats.queue_depth) == (1, 1, 0)
    assert len(failures) == 1 and isinstance(failures[0], InvalidArgument)
    assert failed.key == "big" and (failed.last_error or "").startswith("INVALID_ARGUMENT: ")
    assert await rig.writer.get("big") is None
    assert (await rig.writer.get("small")).name == "fits"


async def test_a_bug_fails_no_write_and_is_raised(rig: Rig, tmp_path: Path) -> None:
    await rig.writer.set(Product(id="a", name="a", price=1))

    def buggy(conflict: Conflict[Product]) -> Product:
        raise KeyError("a bug in the conflict callback")

    with LocalCache(tmp_path / "w.db") as cache:
        offline = OfflineRepository(
            rig.proxied(), cache, queue="always", conflict=buggy, replay_policy=PATIENT
        )
        store: Store[Product] = Store()
        async with offline, offline.watch(store=store):
            await store.wait_for(lambda s: len(s) == 1)
            rig.proxy.refuse = True
            await rig.proxy.drop()
            await offline.update("a", {"stock": 3})  # its writer saw price 1...
            await rig.writer.update("a", {"price": 5})  # ...the server moves on: a conflict
            rig.proxy.refuse = False
            with pytest.raises(InternalError) as caught:
                await offline.flush(timeout=20)
            assert isinstance(caught.value.__cause__, KeyError)
            stats = offline.statistics()
            assert (stats.queue_depth, stats.failed) == (1, 0)  # kept, not failed
            # Fixed (here: another policy), the same write goes out.
            offline.conflict = ConflictPolicy.LAST_WRITER_WINS
            offline.start()
            await offline.flush(timeout=20)
    stored: Any = await rig.writer.get("a")
    assert (stored.price, stored.stock) == (5, 3)
