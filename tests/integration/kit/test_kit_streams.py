"""One stream over both databases, and our listeners against the SDKs' own listeners."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from firebase_admin import db
from kit_models import Product

from firebase_sync import (
    Change,
    ChangeKind,
    ChangeStream,
    FirestoreRepository,
    RealtimeRepository,
    Source,
    Store,
    Synced,
)


@pytest.fixture
def fs_products(fs_client: Any) -> FirestoreRepository[Product]:
    return FirestoreRepository(Product, "products", client=fs_client)


@pytest.fixture
async def db_products(rtdb_app: Any) -> AsyncIterator[RealtimeRepository[Product]]:
    async with RealtimeRepository(Product, "/products", app=rtdb_app) as repo:
        yield repo


async def scripted_writes(repo: Any) -> None:
    """The same creates, updates and deletes, whatever the database."""
    for i in range(6):
        await repo.set(Product(id=f"p{i}", name=f"item {i}", price=i * 1.5, tags=["new"]))
    await repo.update("p1", {"price": 99})
    await repo.update("p2", {"name": "renamed"})
    await repo.delete("p3")
    await repo.set(Product(id="p4", name="replaced", price=4))
    await repo.set(Product(id="p6", name="late", price=6, tags=["a", "b"]))
    await repo.delete("p0")


async def test_one_stream_and_store_over_both_databases(
    fs_products: FirestoreRepository[Product], db_products: RealtimeRepository[Product]
) -> None:
    await fs_products.set(Product(id="f1", name="from firestore", price=1))
    await db_products.set(Product(id="r1", name="from rtdb", price=2))
    store: Store[Product] = Store()
    stream = ChangeStream(fs_products.listener(), db_products.listener(), store=store)
    async with stream:
        synced: set[str] = set()
        async with asyncio.timeout(10):
            async for event in stream:
                if isinstance(event, Synced):
                    synced.add(event.source.database)
                if synced == {"firestore", "rtdb"}:
                    break
        assert store.get("f1", source=fs_products.source) == Product(
            id="f1", name="from firestore", price=1
        )
        assert store.get("r1") == Product(id="r1", name="from rtdb", price=2)

        await fs_products.update("f1", {"price": 10})
        await db_products.update("r1", {"price": 20})
        seen: dict[str, Change[Product]] = {}
        async with asyncio.timeout(10):
            async for event in stream:
                if isinstance(event, Change):
                    seen[event.source.database] = event
                if len(seen) == 2:
                    break
        assert seen["firestore"].source == Source("firestore", "products")
        assert seen["rtdb"].source == Source("rtdb", "/products")
        assert all(c.kind is ChangeKind.MODIFIED for c in seen.values())
        assert {c.after.price for c in seen.values() if c.after} == {10, 20}
        stats = stream.statistics()
        assert {s.source.database for s in stats.sources} == {"firestore", "rtdb"}
        assert stats.events_delivered >= 6 and store.statistics().entries == 2


async def test_firestore_listener_ends_like_on_snapshot(
    fs_products: FirestoreRepository[Product], firestore_client: Any
) -> None:
    sdk_state: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    def on_snapshot(docs: list[Any], changes: Any, read_time: Any) -> None:
        with lock:
            sdk_state.clear()
            sdk_state.update({d.id: d.to_dict() for d in docs})

    watch = firestore_client.collection("products").on_snapshot(on_snapshot)
    store: Store[Product] = Store()
    try:
        async with fs_products.watch(store=store):
            await scripted_writes(fs_products)
            expected = {p.id: p for p in await fs_products.all()}

            def sdk_models() -> dict[str, Product]:
                with lock:
                    return {k: Product(id=k, **v) for k, v in sdk_state.items()}

            await store.wait_for(lambda s: {p.id: p for p in s.values()} == expected, timeout=10)
            for _ in range(200):
                if sdk_models() == expected:
                    break
                await asyncio.sleep(0.05)
            assert sdk_models() == expected
    finally:
        watch.unsubscribe()


def _apply_sdk_event(tree: dict[str, Any], path: str, data: Any, patch: bool) -> dict[str, Any]:
    """A deliberately independent, naive applier for the SDK's listen events."""
    segments = [s for s in path.split("/") if s]
    updates = (
        [(segments + k.split("/"), v) for k, v in data.items()] if patch else [(segments, data)]
    )
    for target, value in updates:
        if not target:
            tree = dict(value or {})
            continue
        node = tree
        for segment in target[:-1]:
            node = node.setdefault(segment, {})
        if value is None:
            node.pop(target[-1], None)
        else:
            node[target[-1]] = value
    return tree


async def test_realtime_listener_ends_like_reference_listen(
    db_products: RealtimeRepository[Product], rtdb_app: Any
) -> None:
    holder: dict[str, dict[str, Any]] = {"tree": {}}
    lock = threading.Lock()

    def on_event(event: Any) -> None:
        with lock:
            holder["tree"] = _apply_sdk_event(
                holder["tree"], event.path, event.data, event.event_type == "patch"
            )

    registration = await asyncio.to_thread(db.reference("/products", app=rtdb_app).listen, on_event)
    store: Store[Product] = Store()
    try:
        async with db_products.watch(store=store):
            await scripted_writes(db_products)
            expected = {p.id: p for p in await db_products.all()}
            assert set(expected) == {"p1", "p2", "p4", "p5", "p6"}

            def sdk_models() -> dict[str, Product]:
                with lock:
                    return {k: db_products.decode(k, v) for k, v in holder["tree"].items()}

            await store.wait_for(lambda s: {p.id: p for p in s.values()} == expected, timeout=10)
            for _ in range(200):
                if sdk_models() == expected:
                    break
                await asyncio.sleep(0.05)
            assert sdk_models() == expected
    finally:
        await asyncio.to_thread(registration.close)


async def test_invalid_document_is_reported_naming_it_and_the_stream_goes_on(
    fs_products: FirestoreRepository[Product],
    db_products: RealtimeRepository[Product],
    fs_client: Any,
    rtdb_app: Any,
) -> None:
    from firebase_sync import InvalidDocument, ValidationFailed

    await fs_client.collection("products").document("bad").set({"name": 1, "price": "free"})
    await asyncio.to_thread(db.reference("/products/bad", app=rtdb_app).set, {"price": "free"})
    for repo, path in ((fs_products, "products/bad"), (db_products, "/products/bad")):
        async with repo.watch() as stream, asyncio.timeout(10):
            events = []
            async for event in stream:
                events.append(event)
                if isinstance(event, Synced):
                    break
        [invalid] = [e for e in events if isinstance(e, InvalidDocument)]
        assert isinstance(invalid.error, ValidationFailed)
        assert invalid.path == invalid.error.path == path
        assert invalid.error.field in {"name", "price"}
