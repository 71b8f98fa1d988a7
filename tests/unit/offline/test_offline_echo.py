"""The offline listener and the echo of a replayed write: whichever of the server's snapshot
holding the write and the flusher's acknowledgement comes first, the write is applied once
and the pending flag clears (no emulator: the real listener and overlay, in a real stream
and store, fed by a scripted server listener and a hand-driven repository)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from firebase_sync import ChangeStream, Document, Sink, Store
from firebase_sync.change import Batch, Change, ChangeKind, ChangeMetadata, Source
from firebase_sync.offline import Increment, LocalCache, OfflineListener, PendingWrite
from firebase_sync.offline.ops import UNKNOWN, WriteOp
from firebase_sync.offline.overlay import OverlaySubscriber, PendingWrites

SOURCE = Source("rtdb", "/products")


class Product(Document):
    name: str
    price: float = 0.0
    stock: int = 0


class FakeServer:
    """A server listener whose snapshots the test hands over one by one."""

    source = SOURCE

    def __init__(self) -> None:
        self.view: dict[str, Product] = {}
        self.sent: asyncio.Queue[Batch[Product]] = asyncio.Queue()

    async def run(self, sink: Sink[Product]) -> None:
        while True:
            batch = await self.sent.get()
            await sink.batch(batch)
            self.sent.task_done()


class FakeOffline:
    """An offline repository as its listener sees it (:class:`LocalSource`), with the
    flusher's reports made by hand."""

    def __init__(self, cache: LocalCache) -> None:
        self.model = Product
        self.source_id = str(SOURCE)
        self.cache = cache
        self.pending = PendingWrites()
        self.server = FakeServer()
        self.subscribers: list[OverlaySubscriber[Product]] = []
        self.listening = asyncio.Event()

    def server_listener(self) -> FakeServer:
        return self.server

    def subscribe(self, subscriber: OverlaySubscriber[Product]) -> None:
        self.subscribers.append(subscriber)
        self.listening.set()

    def unsubscribe(self, subscriber: OverlaySubscriber[Product]) -> None:
        self.subscribers.remove(subscriber)

    def start(self) -> None:
        pass

    async def queue(self, op: WriteOp) -> PendingWrite:
        write = self.cache.enqueue(self.source_id, op.key, op.kind, op.data, None)
        self.pending.add(write)
        for subscriber in self.subscribers:
            await subscriber.local_changed(op.key)
        return write

    def writing(self, write: PendingWrite, value: Any) -> None:
        for subscriber in self.subscribers:
            subscriber.overlay.writing(write, value)

    async def settled(self, write: PendingWrite, *, applied: bool, stored: Any = UNKNOWN) -> None:
        self.cache.complete(write.write_id)
        self.pending.remove(write)
        for subscriber in self.subscribers:
            subscriber.overlay.settled(write, applied=applied, stored=stored)
            await subscriber.local_changed(write.key)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Any]:
    with LocalCache(tmp_path / "c.db") as cache:
        offline = FakeOffline(cache)
        store: Store[Product] = Store()
        listener = OfflineListener(offline, store)
        async with ChangeStream(listener, store=store):
            await offline.listening.wait()
            yield SimpleNamespace(offline=offline, store=store, listener=listener)


async def server(rig: Any, value: Product) -> None:
    before = rig.offline.server.view.get(value.id)
    rig.offline.server.view[value.id] = value
    kind = ChangeKind.ADDED if before is None else ChangeKind.MODIFIED
    change = Change(SOURCE, value.id, kind, before, value, ChangeMetadata())
    await rig.offline.server.sent.put(Batch(SOURCE, (change,)))
    await rig.offline.server.sent.join()


def shown(rig: Any, key: str) -> tuple[float, int, bool]:
    entry = rig.store.entry(key)
    return entry.value.price, entry.value.stock, entry.metadata.has_pending_writes


async def replay(rig: Any, write: PendingWrite, stored: Product, *, echo_first: bool) -> None:
    """What the flusher and the server do for one write, in one of the two orders."""
    rig.offline.writing(write, stored)
    if echo_first:
        await server(rig, stored)
    await rig.offline.settled(write, applied=True, stored=stored)
    if not echo_first:
        await server(rig, stored)


@pytest.mark.parametrize("echo_first", [True, False])
async def test_increments_are_counted_once(rig: Any, echo_first: bool) -> None:
    await server(rig, Product(id="c", name="c", price=3))
    first = await rig.offline.queue(WriteOp.update("c", {"stock": Increment(5)}))
    second = await rig.offline.queue(WriteOp.update("c", {"stock": Increment(2)}))
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
    write = await rig.offline.queue(WriteOp.update("a", {"price": 2, "stock": 1}))
    await server(rig, Product(id="a", name="a", price=5))  # another writer, meanwhile
    assert shown(rig, "a") == (2, 1, True)
    # The conflict callback stored the server's price with the local stock.
    await replay(rig, write, Product(id="a", name="a", price=5, stock=1), echo_first=echo_first)
    assert shown(rig, "a") == (5, 1, False)


async def test_an_acknowledged_write_is_held_until_its_echo(rig: Any) -> None:
    await server(rig, Product(id="a", name="a", price=1))
    write = await rig.offline.queue(WriteOp.update("a", {"price": 2}))
    stored = Product(id="a", name="a", price=2)
    rig.offline.writing(write, stored)
    await rig.offline.settled(write, applied=True, stored=stored)
    assert shown(rig, "a") == (2, 0, True)  # no flick back to 1 before the echo
    await server(rig, stored)
    assert shown(rig, "a") == (2, 0, False)


async def test_an_echo_followed_by_another_change_before_the_ack_is_not_held(
    rig: Any,
) -> None:
    await server(rig, Product(id="a", name="a", price=1))
    write = await rig.offline.queue(WriteOp.update("a", {"price": 2}))
    stored = Product(id="a", name="a", price=2)
    rig.offline.writing(write, stored)
    await server(rig, stored)
    await server(rig, Product(id="a", name="a", price=9))  # a later write of another client
    await rig.offline.settled(write, applied=True, stored=stored)
    assert shown(rig, "a") == (9, 0, False)


async def test_a_value_seen_before_the_write_is_sent_is_not_its_echo(rig: Any) -> None:
    await server(rig, Product(id="a", name="a", price=1))
    write = await rig.offline.queue(WriteOp.update("a", {"stock": Increment(1)}))
    # The server already holds what the write will store, but the write is not sent yet.
    await server(rig, Product(id="a", name="a", price=1, stock=1))
    assert shown(rig, "a") == (1, 2, True)
    rig.offline.writing(write, Product(id="a", name="a", price=1, stock=2))
    await server(rig, Product(id="a", name="a", price=1, stock=2))
    assert shown(rig, "a") == (1, 2, False)


async def test_failed_and_untyped_writes_hold_nothing(rig: Any) -> None:
    await server(rig, Product(id="a", name="a", price=1))
    write = await rig.offline.queue(WriteOp.update("a", {"price": 2}))
    rig.offline.writing(write, Product(id="a", name="a", price=2))
    await rig.offline.settled(write, applied=False)
    assert shown(rig, "a") == (1, 0, False)
    other = await rig.offline.queue(WriteOp.update("a", {"price": 3}))
    rig.offline.writing(other, UNKNOWN)
    await rig.offline.settled(other, applied=True, stored=UNKNOWN)
    assert shown(rig, "a") == (1, 0, False)


async def test_the_echo_of_an_earlier_write_ends_only_its_own_hold(rig: Any) -> None:
    await server(rig, Product(id="c", name="c", price=3))
    writes = []
    for by in (5, 2):
        writes.append(await rig.offline.queue(WriteOp.update("c", {"stock": Increment(by)})))
    for write, stock in zip(writes, (5, 7), strict=True):
        stored = Product(id="c", name="c", price=3, stock=stock)
        rig.offline.writing(write, stored)
        await rig.offline.settled(write, applied=True, stored=stored)
    versions = rig.store.version
    await server(rig, Product(id="c", name="c", price=3, stock=5))  # the first echo, late
    assert shown(rig, "c") == (3, 7, True)
    await server(rig, Product(id="c", name="c", price=3, stock=7))
    assert shown(rig, "c") == (3, 7, False)
    assert rig.store.version == versions  # never flicked back to 5


async def test_a_foreign_server_value_ends_every_hold(rig: Any) -> None:
    await server(rig, Product(id="a", name="a", price=1))
    write = await rig.offline.queue(WriteOp.update("a", {"price": 2}))
    stored = Product(id="a", name="a", price=2)
    rig.offline.writing(write, stored)
    await rig.offline.settled(write, applied=True, stored=stored)
    assert shown(rig, "a") == (2, 0, True)
    await server(rig, Product(id="a", name="a", price=8))
    assert shown(rig, "a") == (8, 0, False)
