"""One codec on every path, and Increment on every repository that offers it (real emulator)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from kit_models import Product

from firebase_sync import Document, GeoPoint, Increment, Reference
from firebase_sync.adapters.firestore import FirestoreRepository
from firebase_sync.adapters.realtime import RealtimeRepository


class Loose(Document):
    """Every field as the codec decodes it, no model conversion in between."""

    data: dict[str, Any]


async def test_get_query_and_listener_read_identical_values(fs_client: Any) -> None:
    data = {
        "null": None,
        "flag": True,
        "int": -(2**63),
        "double": 0.1,
        "text": "ü€",
        "blob": b"\x00\xff",
        "when": dt.datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC),
        "where": GeoPoint(-90.0, 180.0),
        "ref": Reference("shops/s1/items/i1"),
        "list": [1, "a", {"m": [Reference("a/b")]}],
        "map": {"empty": {}, "none": []},
    }
    repo = FirestoreRepository(Loose, "loose", client=fs_client)
    await repo.set(Loose(id="d", data=data))
    got = await repo.get("d")
    queried = await repo.query().get()
    async with repo.watch(markers=False) as changes:
        heard = await asyncio.wait_for(anext(changes), 20)
    assert got is not None and heard.after is not None
    assert got.data == queried[0].data == heard.after.data == data


async def test_listening_to_a_subcollection(fs_client: Any) -> None:
    await fs_client.document("shops/s1/items/i1").set({"name": "in", "price": 1})
    await fs_client.document("shops/s2/items/i1").set({"name": "out", "price": 1})
    items = FirestoreRepository(Product, "shops/s1/items", client=fs_client)
    assert items.query_parent.endswith("/documents/shops/s1")
    async with items.watch(markers=False) as changes:
        first = await asyncio.wait_for(anext(changes), 20)
    assert (first.key, first.after) == ("i1", Product(id="i1", name="in", price=1))


async def test_firestore_increment_in_update_batch_and_transaction(fs_client: Any) -> None:
    repo = FirestoreRepository(Product, "counted", client=fs_client)
    await repo.set(Product(id="p", name="p", price=1))
    await repo.update("p", {"price": Increment(2)})
    async with repo.batch() as batch:
        batch.update("p", {"price": Increment(0.5)})

    async def bump(tx: Any) -> None:
        tx.update("p", {"price": Increment(-1)})

    await repo.transaction(bump)
    assert await repo.get("p") == Product(id="p", name="p", price=2.5)


async def test_realtime_increment(rtdb_app: Any) -> None:
    async with RealtimeRepository(Product, "/counted", app=rtdb_app) as repo:
        await repo.set(Product(id="p", name="p", price=1))
        await repo.update("p", {"price": Increment(2)})
        await repo.update("p", {"price": Increment(0.5), "name": "q"})
        assert await repo.get("p") == Product(id="p", name="q", price=3.5)
