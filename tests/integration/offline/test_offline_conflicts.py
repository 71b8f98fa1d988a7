"""Conflict policies: a queued write replayed over a value its writer did not see."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from offline_helpers import PATIENT, Product, Rig

from firebase_sync import FirebaseSyncError, Store
from firebase_sync.offline import (
    Conflict,
    ConflictPolicy,
    LocalCache,
    OfflineRepository,
    PendingWrite,
    WriteConflict,
)


async def _conflicting_write(rig: Rig, tmp_path: Path, conflict: Any) -> tuple[Any, Store[Product]]:
    await rig.writer.set(Product(id="a", name="a", price=1))
    failures: list[tuple[PendingWrite, FirebaseSyncError]] = []
    with LocalCache(tmp_path / "w.db") as cache:
        offline = OfflineRepository(
            rig.proxied(),
            cache,
            queue="always",
            conflict=conflict,
            replay_policy=PATIENT,
            on_failure=lambda write, error: failures.append((write, error)),
        )
        store: Store[Product] = Store()
        async with offline, offline.watch(store=store):
            await store.wait_for(lambda s: len(s) == 1)
            rig.proxy.refuse = True
            await rig.proxy.drop()
            await offline.update("a", {"price": 2, "stock": 1})
            await rig.writer.update("a", {"price": 5})
            rig.proxy.refuse = False
            await offline.flush(timeout=20)
            await store.wait_for(
                lambda s: (
                    (e := s.entry("a")) is not None
                    and not e.metadata.has_pending_writes
                    and e.value.price == 5
                ),
                timeout=20,
            )
            return (offline.statistics(), failures, await rig.writer.get("a")), store


async def test_fail_policy_keeps_the_server_value_and_reports(
    rig: Rig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="firebase_sync")
    (stats, failures, stored), store = await _conflicting_write(rig, tmp_path, ConflictPolicy.FAIL)
    logged = [r for r in caplog.records if r.name == "firebase_sync.offline.repository"]
    assert logged[-1].levelno == logging.ERROR and "failed for good" in logged[-1].getMessage()
    assert stored.price == 5 and stored.stock == 0
    assert stats.conflicts == 1 and stats.failed == 1 and stats.queue_depth == 0
    ((write, error),) = failures
    assert isinstance(error, WriteConflict) and error.write_id == write.write_id
    assert store.get("a") == stored


async def test_callback_merges(rig: Rig, tmp_path: Path) -> None:
    seen: list[Conflict[Product]] = []

    def merge(conflict: Conflict[Product]) -> Product:
        seen.append(conflict)
        assert conflict.server is not None and conflict.local is not None
        return conflict.server.model_copy(update={"stock": conflict.local.stock})

    (stats, failures, stored), store = await _conflicting_write(rig, tmp_path, merge)
    assert (stored.price, stored.stock) == (5, 1)
    assert not failures and stats.applied == 1
    assert seen[0].expected is not None and seen[0].expected.price == 1
    assert store.get("a") == stored
