"""The offline listener and the echo of a replayed write: whichever of the server's snapshot
holding the write and the flusher's acknowledgement comes first, the write is applied once
and the pending flag clears (no emulator: the listener is driven by hand)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from firebase_sync import Document, Store
from firebase_sync.change import Batch, Change, ChangeKind, ChangeMetadata, Source
from firebase_sync.offline import Increment, LocalCache, OfflineListener, PendingWrite
from firebase_sync.offline.ops import UNKNOWN, WriteOp

SOURCE = Source("rtdb", "/products")


class Product(Document):
    name: str
    price: float = 0.0
    stock: int = 0


class FakeOffline:
    """What the listener uses of an OfflineRepository: model, queue, cache, listeners."""

    def __init__(self, cache: LocalCache) -> None:
        self.model = Product
        self.source_id = str(SOURCE)
        self.cache = cache
        self._queued: dict[str, list[PendingWrite]] = {}
        self._listeners: list[Any] = []
        self.repo = SimpleNamespace(listener=lambda: SimpleNamespace(source=SOURCE, view={}))

    def queue(self, op: WriteOp) -> PendingWrite:
        write = self.cache.enqueue(self.source_id, op.key, op.kind, op.data, None)
        self._queued.setdefault(op.key, []).append(write)
        return write

    def leave_queue(self, write: PendingWrite) -> None:
        self.cache.complete(write.write_id)
        self._queued[write.key].remove(write)
        if not self._queued[write.key]:
            del self._queued[write.key]


class StoreSink:
    source = SOURCE

    def __init__(self, store: Store[Product]) -> None:
        self.store = store

    async def batch(self, batch: Batch[Product]) -> None:
        self.store.apply(batch)


@pytest.fixture
def rig(tmp_path: Path) -> Any:
    with LocalCache(tmp_path / "c.db") as cache:
        offline = FakeOffline(cache)
        store: Store[Product] = Store()
        listener = OfflineListener(offline, store)  # type: ignore[arg-type]
        sink = StoreSink(store)
        listener._sink = sink  # type: ignore[assignment]
        yield SimpleNamespace(offline=offline, store=store, listener=listener, sink=sink)


async def server(rig: Any, value: Product) -> None:
    before = rig.listener.server.get(value.id)
    kind = ChangeKind.ADDED if before is None else ChangeKind.MODIFIED
    change = Change(SOURCE, value.id, kind, before, value, ChangeMetadata())
    await rig.listener._on_server(Batch(SOURCE, (change,)), rig.sink)


def shown(rig: Any, key: str) -> tuple[float, int, bool]:
    entry = rig.store.entry(key)
    return entry.value.price, entry.value.stock, entry.metadata.has_pending_writes


async def replay(rig: Any, write: PendingWrite, stored: Product, *, echo_first: bool) -> None:
    """What the flusher and the server do for one write, in one of the two orders."""
    rig.listener.writing(write, stored)
    if echo_first:
        await server(rig, stored)
    rig.offline.leave_queue(write)
    await rig.listener.settled(write, applied=True, stored=stored)
    if not echo_first:
        await server(rig, stored)


@pytest.mark.parametrize("echo_first", [True, False])
async def test_increments_are_counted_once(rig: Any, echo_first: bool) -> None:
    await server(rig, Product(id="c", name="c", price=3))
    first = rig.offline.queue(WriteOp.update("c", {"stock": Increment(5)}))
    await rig.listener.local_changed("c")
    second = rig.offline.queue(WriteOp.update("c", {"stock": Increment(2)}))
    await rig.listener.local_changed("c")
    assert shown(rig, "c") == (3, 7, True)
    versions = rig.store.version

    await replay(rig, first, Product(id="c", name="c", price=3, stock=5), echo_first=echo_first)
    assert shown(rig, "c") == (3, 7, True)
    await replay(rig, second, Product(id="c", name="c", price=3, stock=7), echo_first=echo_first)
    assert shown(rig, "c") == (3, 7, False)
    # No value ever moved: only the flag did (a flag-only refresh adds no store version).
    assert rig.store.version == versions


@pytest.mark.parametrize("echo_first", [True, False])
async def test_a_merged_write_shows_the_merged_value_then_clears(
    rig: Any, echo_first: bool
) -> None:
    await server(rig, Product(id="a", name="a", price=1))
    write = rig.offline.queue(WriteOp.update("a", {"price": 2, "stock": 1}))
    await rig.listener.local_changed("a")
    await server(rig, Product(id="a", name="a", price=5))  # another writer, meanwhile
    assert shown(rig, "a") == (2, 1, True)
    # The conflict callback stored the server's price with the local stock.
    await replay(rig, write, Product(id="a", name="a", price=5, stock=1), echo_first=echo_first)
    assert shown(rig, "a") == (5, 1, False)


async def test_an_acknowledged_write_is_held_until_its_echo(rig: Any) -> None:
    await server(rig, Product(id="a", name="a", price=1))
    write = rig.offline.queue(WriteOp.update("a", {"price": 2}))
    await rig.listener.local_changed("a")
    stored = Product(id="a", name="a", price=2)
    rig.listener.writing(write, stored)
    rig.offline.leave_queue(write)
    await rig.listener.settled(write, applied=True, stored=stored)
    assert shown(rig, "a") == (2, 0, True)  # no flick back to 1 before the echo
    await server(rig, stored)
    assert shown(rig, "a") == (2, 0, False)


async def test_an_echo_followed_by_another_change_before_the_ack_is_not_held(
    rig: Any,
) -> None:
    await server(rig, Product(id="a", name="a", price=1))
    write = rig.offline.queue(WriteOp.update("a", {"price": 2}))
    await rig.listener.local_changed("a")
    stored = Product(id="a", name="a", price=2)
    rig.listener.writing(write, stored)
    await server(rig, stored)
    await server(rig, Product(id="a", name="a", price=9))  # a later write of another client
    rig.offline.leave_queue(write)
    await rig.listener.settled(write, applied=True, stored=stored)
    assert shown(rig, "a") == (9, 0, False)


async def test_a_value_seen_before_the_write_is_sent_is_not_its_echo(rig: Any) -> None:
    await server(rig, Product(id="a", name="a", price=1))
    write = rig.offline.queue(WriteOp.update("a", {"stock": Increment(1)}))
    await rig.listener.local_changed("a")
    # The server already holds what the write will store, but the write is not sent yet.
    await server(rig, Product(id="a", name="a", price=1, stock=1))
    assert shown(rig, "a") == (1, 2, True)
    rig.listener.writing(write, Product(id="a", name="a", price=1, stock=2))
    await server(rig, Product(id="a", name="a", price=1, stock=2))
    assert shown(rig, "a") == (1, 2, False)


async def test_failed_and_untyped_writes_hold_nothing(rig: Any) -> None:
    await server(rig, Product(id="a", name="a", price=1))
    write = rig.offline.queue(WriteOp.update("a", {"price": 2}))
    await rig.listener.local_changed("a")
    rig.listener.writing(write, Product(id="a", name="a", price=2))
    rig.offline.leave_queue(write)
    await rig.listener.settled(write, applied=False)
    assert shown(rig, "a") == (1, 0, False)
    other = rig.offline.queue(WriteOp.update("a", {"price": 3}))
    rig.listener.writing(other, UNKNOWN)
    rig.offline.leave_queue(other)
    await rig.listener.settled(other, applied=True, stored=UNKNOWN)
    assert shown(rig, "a") == (1, 0, False)


async def test_the_echo_of_an_earlier_write_ends_only_its_own_hold(rig: Any) -> None:
    await server(rig, Product(id="c", name="c", price=3))
    writes = []
    for by in (5, 2):
        writes.append(rig.offline.queue(WriteOp.update("c", {"stock": Increment(by)})))
        await rig.listener.local_changed("c")
    for write, stock in zip(writes, (5, 7), strict=True):
        stored = Product(id="c", name="c", price=3, stock=stock)
        rig.listener.writing(write, stored)
        rig.offline.leave_queue(write)
        await rig.listener.settled(write, applied=True, stored=stored)
    versions = rig.store.version
    await server(rig, Product(id="c", name="c", price=3, stock=5))  # the first echo, late
    assert shown(rig, "c") == (3, 7, True)
    await server(rig, Product(id="c", name="c", price=3, stock=7))
    assert shown(rig, "c") == (3, 7, False)
    assert rig.store.version == versions  # never flicked back to 5


async def test_a_foreign_server_value_ends_every_hold(rig: Any) -> None:
    await server(rig, Product(id="a", name="a", price=1))
    write = rig.offline.queue(WriteOp.update("a", {"price": 2}))
    stored = Product(id="a", name="a", price=2)
    rig.listener.writing(write, stored)
    rig.offline.leave_queue(write)
    await rig.listener.settled(write, applied=True, stored=stored)
    assert shown(rig, "a") == (2, 0, True)
    await server(rig, Product(id="a", name="a", price=8))
    assert shown(rig, "a") == (8, 0, False)
