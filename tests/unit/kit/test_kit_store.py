"""The in-memory store: atomic batches, diffing, reads, subscriptions, waits."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from firebase_sync import (
    Batch,
    Change,
    ChangeKind,
    ChangeMetadata,
    Document,
    Source,
    Store,
    SubscriptionOverflow,
    Synced,
    WaitTimeout,
    errors,
)

FS = Source("firestore", "products")
DB = Source("rtdb", "/products")


class Product(Document):
    name: str
    price: int


def p(key: str, price: int, name: str = "x") -> Product:
    return Product(id=key, name=name, price=price)


def batch(
    source: Source, *items: tuple[str, Product | None], synced: bool = False
) -> Batch[Product]:
    meta = ChangeMetadata(read_time=dt.datetime.now(dt.UTC))
    changes = tuple(
        Change(
            source,
            key,
            ChangeKind.REMOVED if value is None else ChangeKind.ADDED,
            None,
            value,
            meta,
        )
        for key, value in items
    )
    marker = Synced(source, False, len(items), meta) if synced else None
    return Batch(source, changes, marker)


def test_apply_diffs_against_what_is_held() -> None:
    store: Store[Product] = Store()
    first = store.apply(batch(FS, ("a", p("a", 1)), ("b", p("b", 2))))
    assert [c.kind for c in first] == [ChangeKind.ADDED, ChangeKind.ADDED]
    # a full re-send of the same state changes nothing
    assert store.apply(batch(FS, ("a", p("a", 1)), ("b", p("b", 2)))) == []
    # the store decides the kind and the before value
    [modified] = store.apply(batch(FS, ("a", p("a", 5))))
    assert modified.kind is ChangeKind.MODIFIED and modified.before == p("a", 1)
    [gone] = store.apply(batch(FS, ("b", None), ("zz", None)))
    assert gone.kind is ChangeKind.REMOVED and gone.before == p("b", 2) and gone.after is None
    assert store.version == 3
    assert store.entry("a") is not None and store.entry("a").version == 2  # type: ignore[union-attr]


def test_reads_query_and_sources() -> None:
    store: Store[Product] = Store()
    store.apply(batch(FS, ("a", p("a", 3)), ("b", p("b", 1)), ("c", p("c", 2))))
    store.apply(batch(DB, ("a", p("a", 30))))
    assert len(store) == 4 and "b" in store
    assert store.get("b") == p("b", 1)
    assert store.get("a", source=DB) == p("a", 30)
    with pytest.raises(LookupError):
        store.get("a")
    assert store.get("missing") is None
    cheap = store.query(lambda v: v.price < 10, order_by=lambda v: v.price, source=FS)
    assert [v.id for v in cheap] == ["b", "c", "a"]
    top = store.query(order_by=lambda v: v.price, descending=True, limit=2)
    assert [v.price for v in top] == [30, 3]
    assert {e.key for e in store.items(source=FS)} == {"a", "b", "c"}
    stats = store.statistics()
    assert stats.entries == 4 and stats.changes_applied == 4 and stats.batches_applied == 2
    assert stats.last_lag is not None and stats.last_lag >= 0


async def test_subscriptions_receive_filtered_changes_in_order() -> None:
    store: Store[Product] = Store()
    sub = store.subscribe(lambda c: c.kind is not ChangeKind.REMOVED)
    store.apply(batch(FS, ("a", p("a", 1))))
    store.apply(batch(FS, ("a", None), ("b", p("b", 2))))
    got = [await anext(sub), await anext(sub)]
    assert [(c.key, c.kind) for c in got] == [("a", ChangeKind.ADDED), ("b", ChangeKind.ADDED)]
    await sub.aclose()
    await sub.aclose()
    with pytest.raises(StopAsyncIteration):
        await anext(sub)
    assert store.statistics().subscribers == 0


async def test_slow_subscriber_is_ended_not_silently_skipped() -> None:
    store: Store[Product] = Store()
    sub = store.subscribe(buffer=2)
    store.apply(batch(FS, ("a", p("a", 1)), ("b", p("b", 1)), ("c", p("c", 1))))
    with pytest.raises(SubscriptionOverflow):
        await anext(sub)


async def test_wait_for_returns_when_the_predicate_holds() -> None:
    store: Store[Product] = Store()

    async def feed() -> None:
        for i in range(5):
            await asyncio.sleep(0)
            store.apply(batch(FS, (f"k{i}", p(f"k{i}", i))))

    task = asyncio.create_task(feed())
    await store.wait_for(lambda s: len(s) == 5, timeout=2)
    await task


async def test_wait_for_times_out_with_a_typed_error() -> None:
    store: Store[Product] = Store()
    with pytest.raises(WaitTimeout):
        await store.wait_for(lambda s: len(s) > 0, timeout=0.01)
    with pytest.raises(TimeoutError):
        await store.wait_for(lambda s: len(s) > 0, timeout=0.01)


async def test_stream_failure_reaches_waiters_and_subscribers() -> None:
    store: Store[Product] = Store()
    sub = store.subscribe()
    waiter = asyncio.create_task(store.wait_for(lambda s: len(s) > 0, timeout=2))
    await asyncio.sleep(0)
    store.fail(errors.Unavailable("gone"))
    with pytest.raises(errors.Unavailable):
        await waiter
    with pytest.raises(errors.Unavailable):
        await anext(sub)


async def test_store_fed_again_after_a_failure() -> None:
    """A new stream feeding the store after the old one failed: waits see the new data."""
    store: Store[Product] = Store()
    store.fail(errors.Unavailable("gone"))
    with pytest.raises(errors.Unavailable):
        await store.wait_for(lambda s: len(s) > 0, timeout=1)
    store.apply(batch(FS, ("a", p("a", 1)), synced=True))
    await store.wait_for(lambda s: s.get("a") is not None, timeout=1)
    waiter = asyncio.create_task(store.wait_for(lambda s: s.get("b") is not None, timeout=2))
    await asyncio.sleep(0)
    store.apply(batch(FS, ("b", p("b", 2))))
    await waiter
    assert store.get("b") == p("b", 2)
