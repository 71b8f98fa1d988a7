"""Warm resume (Firestore): a worker restarted from its cache sends the saved resume token,
so the server sends only what changed while it was down; a token the server does not know
falls back to a full resync; a snapshot whose save did not happen is sent again."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from offline_helpers import PATIENT, Product, Rig

from firebase_sync import Change, ChangeKind, ChangeStream, Store, Synced
from firebase_sync.offline import LocalCache, OfflineRepository
from firebase_sync.offline.ops import decode_entry
from firebase_sync.testing import clear_firestore

pytestmark = pytest.mark.parametrize("rig", ["firestore"], indirect=True)

Values = dict[str, tuple[str, float, int]]


@dataclass
class Run:
    """What one worker run saw: events up to the server's sync, documents the Listen
    machine received, and the store at the end."""

    events: list[Any] = field(default_factory=list)
    received: int = 0
    served: Values = field(default_factory=dict)

    def synced(self) -> list[Synced]:
        return [e for e in self.events if isinstance(e, Synced)]

    def cached_changes(self) -> list[Change[Product]]:
        """The changes delivered before the cache's sync marker."""
        end = self.events.index(self.synced()[0])
        return [e for e in self.events[:end] if isinstance(e, Change)]

    def server_changes(self) -> list[tuple[str, ChangeKind]]:
        """The real differences after the cache was served (flag-only changes left out)."""
        start = self.events.index(self.synced()[0])
        return sorted(
            (e.key, e.kind)
            for e in self.events[start:]
            if isinstance(e, Change) and (e.kind is not ChangeKind.MODIFIED or e.before != e.after)
        )


def values(products: list[Product]) -> Values:
    return {p.id: (p.name, p.price, p.stock) for p in products}


async def fill(writer: Any, count: int, *, prefix: str = "p", price: float = 0) -> None:
    async with writer.batch() as batch:
        for i in range(count):
            batch.set(Product(id=f"{prefix}{i:03d}", name=f"{prefix}{i}", price=price + i))


async def run_worker(rig: Rig, cache_path: Path, live: Any = None) -> Run:
    """Start a worker from the cache, wait for its server sync, run ``live(store, cache,
    stream)`` (if given) and stop."""
    run = Run()
    with LocalCache(cache_path) as cache:
        async with OfflineRepository(rig.proxied(), cache, replay_policy=PATIENT) as offline:
            store: Store[Product] = Store()
            listener = offline.listener(store)
            async with ChangeStream(listener, store=store) as stream, asyncio.timeout(30):
                async for event in stream:
                    run.events.append(event)
                    if isinstance(event, Synced) and not event.metadata.from_cache:
                        break
                if live is not None:
                    await live(store, cache, stream)
            run.received = listener.inner.machine.documents_received
            run.served = values(store.values())
    return run


def saved(cache_path: Path) -> tuple[bytes | None, Values]:
    """The source's saved resume token and entries."""
    with LocalCache(cache_path) as cache:
        [source] = [row[0] for row in cache._db.execute("SELECT source FROM sources")]
        state = cache.resume_state(source)
        assert state is not None
        entries = {key: decode_entry(Product, key, text) for key, text in cache.entries(source)}
    return state.resume_token, {k: (p.name, p.price, p.stock) for k, p in entries.items()}


async def test_warm_restart_receives_only_the_changes_made_while_down(
    rig: Rig, tmp_path: Path
) -> None:
    cache_path = tmp_path / "worker.db"
    await fill(rig.writer, 200)

    async def live_change(store: Store[Product], cache: LocalCache, _: ChangeStream[Any]) -> None:
        [source] = [row[0] for row in cache._db.execute("SELECT source FROM sources")]
        before = cache.resume_state(source)
        await rig.writer.update("p000", {"price": 1000})
        await store.wait_for(lambda s: s.get("p000").price == 1000, timeout=10)  # type: ignore[union-attr]
        after = cache.resume_state(source)
        # Each consistent snapshot saves its token (and read time) with its entries.
        assert before is not None and after is not None
        assert after.resume_token != before.resume_token
        assert after.read_time is not None and before.read_time is not None
        assert after.read_time > before.read_time

    first = await run_worker(rig, cache_path, live_change)
    assert first.received == 201
    assert [(m.resumed, m.metadata.from_cache) for m in first.synced()] == [(False, False)]
    token, _ = saved(cache_path)

    # While the worker is down, another client adds, modifies and deletes.
    await rig.writer.set(Product(id="n-new", name="new", price=1))
    await rig.writer.update("p001", {"price": 99})
    await rig.writer.delete("p002")
    expected = values(await rig.writer.all())

    second = await run_worker(rig, cache_path)
    cached = second.cached_changes()
    assert len(cached) == 200 and all(c.metadata.from_cache for c in cached)
    assert {c.key: c.after.price for c in cached if c.key in ("p000", "p001", "p002")} == {  # type: ignore[union-attr]
        "p000": 1000,
        "p001": 1,
        "p002": 2,
    }
    cache_marker, server_marker = second.synced()
    assert cache_marker.metadata.from_cache and not cache_marker.resumed
    assert server_marker.resumed and server_marker.entries == 200
    # Only the three changed documents came over the wire, and only they changed.
    assert second.received == 3
    assert second.server_changes() == [
        ("n-new", ChangeKind.ADDED),
        ("p001", ChangeKind.MODIFIED),
        ("p002", ChangeKind.REMOVED),
    ]
    assert second.served == expected
    new_token, entries = saved(cache_path)
    assert new_token != token and entries == expected

    # A restart with nothing changed receives nothing.
    third = await run_worker(rig, cache_path)
    assert third.received == 0 and third.server_changes() == []
    assert third.served == expected


async def test_a_token_the_server_does_not_know_falls_back_to_a_full_resync(
    rig: Rig, tmp_path: Path
) -> None:
    cache_path = tmp_path / "worker.db"
    await fill(rig.writer, 50)
    await run_worker(rig, cache_path)

    # The emulator's reset starts a new database (a new token epoch): the saved token is
    # foreign to it. Then 10 documents come back unchanged, 20 changed, 20 never, 5 new.
    clear_firestore(rig.hosts)
    await fill(rig.writer, 10)
    async with rig.writer.batch() as batch:
        for i in range(10, 30):
            batch.set(Product(id=f"p{i:03d}", name=f"p{i}", price=500 + i))
    await fill(rig.writer, 5, prefix="n")
    expected = values(await rig.writer.all())

    run = await run_worker(rig, cache_path)
    assert run.received == 35  # RESET and the whole result set
    assert run.synced()[-1].resumed
    assert run.server_changes() == sorted(
        [(f"p{i:03d}", ChangeKind.MODIFIED) for i in range(10, 30)]
        + [(f"p{i:03d}", ChangeKind.REMOVED) for i in range(30, 50)]
        + [(f"n{i:03d}", ChangeKind.ADDED) for i in range(5)]
    )
    assert run.served == expected
    assert saved(cache_path)[1] == expected

    # The new token is the server's own: the next restart resumes again.
    await rig.writer.delete("p000")
    again = await run_worker(rig, cache_path)
    assert again.received == 1 and again.server_changes() == [("p000", ChangeKind.REMOVED)]


class SimulatedCrash(RuntimeError):
    pass


async def test_a_snapshot_not_saved_is_received_again_after_a_restart(
    rig: Rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_path = tmp_path / "worker.db"
    await fill(rig.writer, 20)

    async def crash_on_next_save(
        store: Store[Product], cache: LocalCache, stream: ChangeStream[Any]
    ) -> None:
        # The worker dies after the Listen machine took the snapshot in, before the cache
        # saved it: the listener must stop (a resume from the machine's newer token would
        # skip the snapshot), and the cache keeps the old token with the old entries.
        def save(*args: Any, **kwargs: Any) -> None:
            raise SimulatedCrash("killed before the save")

        monkeypatch.setattr(cache, "save", save)
        async with writer.batch() as batch:
            batch.update("p001", {"price": 99})
            batch.delete("p002")
        with pytest.raises(Exception, match="killed before the save"):  # noqa: PT011
            async for _ in stream:
                pass
        assert store.get("p001").price == 1  # type: ignore[union-attr]

    writer = rig.writer
    await run_worker(rig, cache_path, crash_on_next_save)
    monkeypatch.undo()
    token, entries = saved(cache_path)
    assert entries["p001"][1] == 1 and "p002" in entries

    run = await run_worker(rig, cache_path)
    assert run.received == 2
    assert run.server_changes() == [("p001", ChangeKind.MODIFIED), ("p002", ChangeKind.REMOVED)]
    assert run.served == values(await rig.writer.all())
    assert saved(cache_path)[0] != token
