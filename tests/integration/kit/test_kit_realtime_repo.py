"""RealtimeRepository against the embedded emulator over real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from firebase_admin import db
from kit_models import Product

from firebase_sync import ChangeKind, Store, Synced, errors
from firebase_sync.adapters.realtime import RealtimeRepository


@pytest.fixture
async def products(rtdb_app: Any) -> AsyncIterator[RealtimeRepository[Product]]:
    async with RealtimeRepository(Product, "/shop/products", app=rtdb_app) as repo:
        yield repo


async def test_crud(products: RealtimeRepository[Product], rtdb_app: Any) -> None:
    lamp = await products.create(Product(id="p1", name="lamp", price=10))
    assert await products.get("p1") == lamp
    with pytest.raises(errors.AlreadyExists):
        await products.create(Product(id="p1", name="again", price=1))
    pushed = await products.push(Product(name="desk", price=90))
    assert pushed.id.startswith("-") or len(pushed.id) == 20
    await products.set(Product(id="p1", name="lamp", price=12, tags=["x"]))
    await products.update("p1", {"price": 13})
    assert await products.get("p1") == Product(id="p1", name="lamp", price=13, tags=["x"])
    await products.set(Product(id="p1", name="lamp2", price=14), merge=True)
    # the SDK sees the same data we wrote
    raw = await asyncio.to_thread(db.reference("/shop/products/p1", app=rtdb_app).get)
    assert raw == {"name": "lamp2", "price": 14}
    assert set(await products.get_many(["p1", pushed.id, "zz"])) == {"p1", pushed.id}
    await products.delete("p1")
    assert await products.get("p1") is None


async def test_queries(products: RealtimeRepository[Product]) -> None:
    for i, price in enumerate([5, 1, 4, 2, 3]):
        await products.set(Product(id=f"p{i}", name=f"n{i}", price=price))
    by_price = await products.order_by_child("price").start_at(2).limit_to_first(2).get()
    assert [p.id for p in by_price] == ["p3", "p4"]
    last = await products.order_by_child("price").limit_to_last(2).get()
    assert [p.price for p in last] == [4, 5]
    keys = await products.order_by_key().end_at("p1").get()
    assert [p.id for p in keys] == ["p0", "p1"]
    assert [p.id for p in await products.order_by_child("price").equal_to(4).get()] == ["p2"]


async def test_compare_and_set(products: RealtimeRepository[Product]) -> None:
    await products.set(Product(id="c", name="counter", price=0))
    value, etag = await products.get_with_etag("c")
    assert value is not None
    stored, _, _ = await products.set_if_unchanged("c", etag, value.model_copy(update={"price": 1}))
    assert stored
    stored, current, _ = await products.set_if_unchanged("c", etag, value)
    assert not stored and current is not None and current.price == 1

    async def bump(i: int) -> None:
        await products.transaction(
            "c", lambda p: p.model_copy(update={"price": p.price + 1}) if p else None
        )

    await asyncio.gather(*(bump(i) for i in range(5)))
    assert (await products.get("c")).price == 6  # type: ignore[union-attr]


async def test_invalid_node_names_path_and_field(
    products: RealtimeRepository[Product], rtdb_app: Any
) -> None:
    await asyncio.to_thread(
        db.reference("/shop/products/bad", app=rtdb_app).set, {"name": "x", "price": "free"}
    )
    with pytest.raises(errors.ValidationFailed) as caught:
        await products.get("bad")
    assert caught.value.path == "/shop/products/bad" and caught.value.field == "price"


async def test_watch_initial_sync_then_changes(products: RealtimeRepository[Product]) -> None:
    await products.set(Product(id="a", name="a", price=1))
    store: Store[Product] = Store()
    async with products.watch(store=store) as changes:
        first = await asyncio.wait_for(anext(changes), 20)
        assert first.kind is ChangeKind.ADDED and first.key == "a"
        marker = await anext(changes)
        assert isinstance(marker, Synced) and marker.entries == 1 and not marker.resumed
        await products.update("a", {"price": 2})
        modified = await asyncio.wait_for(anext(changes), 20)
        assert modified.kind is ChangeKind.MODIFIED
        assert modified.before.price == 1 and modified.after.price == 2
        pushed = await products.push(Product(name="b", price=3))
        added = await asyncio.wait_for(anext(changes), 20)
        assert (added.key, added.kind) == (pushed.id, ChangeKind.ADDED)
        await products.delete("a")
        removed = await asyncio.wait_for(anext(changes), 20)
        assert removed.kind is ChangeKind.REMOVED and removed.before.price == 2
        await store.wait_for(lambda s: len(s) == 1, timeout=5)


@pytest.mark.parametrize("server_filter", [False, True], ids=["client-window", "server-filter"])
async def test_watch_a_query_with_limit(
    products: RealtimeRepository[Product], server_filter: bool
) -> None:
    for key, price in [("a", 5), ("b", 1), ("c", 3)]:
        await products.set(Product(id=key, name=key, price=price))
    cheapest = products.order_by_child("price").limit_to_first(2)
    store: Store[Product] = Store()
    async with cheapest.watch(store=store, markers=False, server_filter=server_filter) as changes:
        await store.wait_for(lambda s: {p.id for p in s.values()} == {"b", "c"}, timeout=5)
        await products.set(Product(id="d", name="d", price=0))  # d enters, c leaves
        got = {
            (c.key, c.kind) for c in [await asyncio.wait_for(anext(changes), 20) for _ in range(4)]
        }
        assert got == {
            ("b", ChangeKind.ADDED),
            ("c", ChangeKind.ADDED),
            ("d", ChangeKind.ADDED),
            ("c", ChangeKind.REMOVED),
        }
        await store.wait_for(lambda s: {p.id for p in s.values()} == {"b", "d"}, timeout=5)
        await products.delete("d")  # c comes back into the window
        await store.wait_for(lambda s: {p.id for p in s.values()} == {"b", "c"}, timeout=5)
        await products.set(Product(id="b", name="b", price=9))  # b leaves, a enters
        await store.wait_for(lambda s: {p.id for p in s.values()} == {"c", "a"}, timeout=5)
