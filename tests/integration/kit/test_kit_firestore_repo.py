"""FirestoreRepository against the embedded emulator over real sockets."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from kit_models import Product

from firebase_sync import ChangeKind, Document, GeoPoint, Reference, Store, Synced, errors
from firebase_sync.adapters.firestore import FirestoreRepository
from firebase_sync.query import any_of, where


@pytest.fixture
def products(fs_client: Any) -> FirestoreRepository[Product]:
    return FirestoreRepository(Product, "products", client=fs_client)


async def test_crud(products: FirestoreRepository[Product]) -> None:
    lamp = await products.create(Product(id="p1", name="lamp", price=10))
    assert await products.get("p1") == lamp
    with pytest.raises(errors.AlreadyExists):
        await products.create(Product(id="p1", name="again", price=1))
    auto = await products.create(Product(name="desk", price=90))
    assert len(auto.id) == 20
    await products.set(Product(id="p1", name="lamp", price=12, tags=["x"]))
    await products.update("p1", {"price": 13})
    assert (await products.get("p1")) == Product(id="p1", name="lamp", price=13, tags=["x"])
    with pytest.raises(errors.NotFound) as caught:
        await products.update("nope", {"price": 1})
    assert caught.value.path == "products/nope"
    assert set(await products.get_many(["p1", auto.id, "zz"])) == {"p1", auto.id}
    await products.delete("p1")
    assert await products.get("p1") is None


async def test_queries(products: FirestoreRepository[Product]) -> None:
    for i in range(6):
        await products.set(
            Product(id=f"p{i}", name=f"n{i}", price=i, tags=["sale"] if i % 2 else [])
        )
    cheap = await products.where("price", "<", 3).order_by("price", descending=True).get()
    assert [p.id for p in cheap] == ["p2", "p1", "p0"]
    either = await products.where(
        any_of(where("price", "==", 0), where("tags", "array_contains", "sale"))
    ).get()
    assert {p.id for p in either} == {"p0", "p1", "p3", "p5"}
    page = await products.query().order_by("price").start_after(2).limit(2).get()
    assert [p.id for p in page] == ["p3", "p4"]
    assert [p.id for p in await products.query().order_by("price").limit_to_last(2).get()] == [
        "p4",
        "p5",
    ]
    fields = await products.query().select("name").order_by("price").limit(1).get_fields()
    assert fields == [{"id": "p0", "name": "n0"}]
    assert await products.query().count() == 6
    assert await products.query().sum("price") == 15
    assert await products.where("price", ">", 3).avg("price") == 4.5


async def test_batch_and_transaction(products: FirestoreRepository[Product]) -> None:
    async with products.batch() as batch:
        batch.create(Product(id="a", name="a", price=1))
        batch.set(Product(id="b", name="b", price=2))
    assert await products.query().count() == 2

    async def move(tx: Any) -> float:
        a = await tx.get("a")
        b = await tx.get("b")
        tx.update("a", {"price": a.price - 1})
        tx.set(b.model_copy(update={"price": b.price + 1}))
        return a.price + b.price

    assert await products.transaction(move) == 3
    assert (await products.get("a")).price == 0  # type: ignore[union-attr]
    assert (await products.get("b")).price == 3  # type: ignore[union-attr]


async def test_invalid_document_names_path_and_field(
    products: FirestoreRepository[Product], fs_client: Any
) -> None:
    await fs_client.collection("products").document("bad").set({"name": "x", "price": "free"})
    with pytest.raises(errors.ValidationFailed) as caught:
        await products.get("bad")
    assert caught.value.path == "products/bad" and caught.value.field == "price"


async def test_watch_initial_sync_then_changes(products: FirestoreRepository[Product]) -> None:
    await products.set(Product(id="a", name="a", price=1))
    store: Store[Product] = Store()
    async with products.watch(store=store) as changes:
        first = await anext(changes)
        assert first.kind is ChangeKind.ADDED and first.key == "a"
        marker = await anext(changes)
        assert isinstance(marker, Synced) and marker.entries == 1 and not marker.resumed
        await products.update("a", {"price": 2})
        modified = await asyncio.wait_for(anext(changes), 20)
        assert modified.kind is ChangeKind.MODIFIED
        assert modified.before.price == 1 and modified.after.price == 2
        assert modified.metadata.read_time is not None
        await products.delete("a")
        removed = await asyncio.wait_for(anext(changes), 20)
        assert removed.kind is ChangeKind.REMOVED and removed.before.price == 2
        await store.wait_for(lambda s: len(s) == 0, timeout=5)


async def test_watch_query_sees_documents_enter_and_leave(
    products: FirestoreRepository[Product],
) -> None:
    cheap = products.where("price", "<", 10)
    async with cheap.watch(markers=False) as changes:
        await products.set(Product(id="a", name="a", price=5))
        added = await asyncio.wait_for(anext(changes), 20)
        assert (added.key, added.kind) == ("a", ChangeKind.ADDED)
        await products.set(Product(id="a", name="a", price=50))
        left = await asyncio.wait_for(anext(changes), 20)
        assert (left.key, left.kind) == ("a", ChangeKind.REMOVED)


async def test_client_from_a_firebase_admin_app(rtdb_app: Any, fs_client: Any) -> None:
    async with FirestoreRepository(Product, "products", app=rtdb_app) as repo:
        await repo.set(Product(id="x", name="x", price=1))
        assert await FirestoreRepository(Product, "products", client=fs_client).get("x")


class Rich(Document):
    when: dt.datetime
    blob: bytes
    where: GeoPoint
    maker: Reference
    amount: Decimal
    nested: dict[str, list[int]]


async def test_reads_and_listening_decode_alike(fs_client: Any) -> None:
    """The client-read path and our Listen codec give the same model."""
    repo = FirestoreRepository(Rich, "rich", client=fs_client)
    original = Rich(
        id="r1",
        when=dt.datetime(2024, 5, 1, 12, 30, 1, 654321, tzinfo=dt.UTC),
        blob=b"\x00\x01",
        where=GeoPoint(1.5, -2.25),
        maker=Reference("makers/acme"),
        amount=Decimal("10.10"),
        nested={"a": [1, 2]},
    )
    await repo.set(original)
    assert await repo.get("r1") == original
    async with repo.watch(markers=False) as changes:
        added = await asyncio.wait_for(anext(changes), 20)
    assert added.after == original


async def test_collection_group_keys_are_paths(fs_client: Any) -> None:
    for shop in ("s1", "s2"):
        await fs_client.document(f"shops/{shop}/items/same").set({"name": shop, "price": 1})
    items = FirestoreRepository(Product, "items", client=fs_client, group=True)
    assert {p.id for p in await items.all()} == {"shops/s1/items/same", "shops/s2/items/same"}
    async with items.watch(markers=False) as changes:
        first = await asyncio.wait_for(anext(changes), 20)
        second = await asyncio.wait_for(anext(changes), 20)
    assert {first.key, second.key} == {"shops/s1/items/same", "shops/s2/items/same"}
    assert await items.get("shops/s1/items/same") == Product(
        id="shops/s1/items/same", name="s1", price=1
    )
