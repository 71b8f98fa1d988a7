"""Schema-invalid documents arriving in a stream: error events with their path, stream goes on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from kit_models import Product

from firebase_sync import (
    Change,
    ChangeKind,
    ChangeStream,
    InvalidDocument,
    Store,
    Synced,
    ValidationFailed,
)
from firebase_sync.adapters.firestore import FirestoreRepository
from firebase_sync.adapters.realtime import RealtimeRepository


@dataclass
class Rig:
    repo: Any
    #: write raw (unvalidated) data under a key; ``None`` deletes
    raw: Callable[[str, dict[str, Any] | None], Awaitable[None]]
    prefix: str


@pytest.fixture(params=["firestore", "rtdb"])
async def rig(request: pytest.FixtureRequest, fs_client: Any, rtdb_app: Any) -> AsyncIterator[Rig]:
    if request.param == "firestore":

        async def raw_fs(key: str, data: dict[str, Any] | None) -> None:
            ref = fs_client.collection("products").document(key)
            await (ref.delete() if data is None else ref.set(data))

        yield Rig(FirestoreRepository(Product, "products", client=fs_client), raw_fs, "products/")
    else:
        async with RealtimeRepository(Product, "/products", app=rtdb_app) as repo:

            async def raw_db(key: str, data: dict[str, Any] | None) -> None:
                await repo.endpoint.request("PUT", f"/products/{key}", body=data)

            yield Rig(repo, raw_db, "/products/")


async def next_events(stream: ChangeStream[Product], count: int) -> list[Any]:
    """The next ``count`` Change / InvalidDocument events (markers skipped)."""
    events: list[Any] = []
    async with asyncio.timeout(10):
        async for event in stream:
            if isinstance(event, Change | InvalidDocument):
                events.append(event)
                if len(events) == count:
                    return events
    raise AssertionError(f"stream ended early: {events}")


async def test_invalid_documents_are_error_events_and_the_stream_goes_on(rig: Rig) -> None:
    await rig.raw("a", {"name": "a", "price": 1})
    await rig.raw("bad", {"name": "bad", "price": "cheap"})
    store: Store[Product] = Store()
    async with rig.repo.watch(store=store) as stream:
        initial: list[Any] = []
        async with asyncio.timeout(10):
            async for event in stream:
                if isinstance(event, Synced):
                    break
                initial.append(event)
        [added] = [e for e in initial if isinstance(e, Change)]
        [invalid] = [e for e in initial if isinstance(e, InvalidDocument)]
        assert (added.key, added.kind) == ("a", ChangeKind.ADDED)
        assert (invalid.key, invalid.path, invalid.stale) == ("bad", rig.prefix + "bad", False)
        assert isinstance(invalid.error, ValidationFailed)
        assert invalid.error.field == "price" and invalid.error.path == rig.prefix + "bad"
        assert "bad" not in store

        # The stream goes on: later valid changes still arrive.
        await rig.raw("b", {"name": "b", "price": 2})
        [change] = await next_events(stream, 1)
        assert isinstance(change, Change) and (change.key, change.kind) == ("b", ChangeKind.ADDED)

        # A valid document turning invalid: reported, the store keeps the last valid value.
        await rig.raw("a", {"name": "a", "price": {"not": "a number"}})
        [stale] = await next_events(stream, 1)
        assert isinstance(stale, InvalidDocument) and (stale.key, stale.stale) == ("a", True)
        assert store.get("a") == Product(id="a", name="a", price=1)

        # Fixed again: a modification from the last valid value.
        await rig.raw("a", {"name": "a", "price": 5})
        [fixed] = await next_events(stream, 1)
        assert isinstance(fixed, Change) and fixed.kind is ChangeKind.MODIFIED
        assert fixed.before == Product(id="a", name="a", price=1) and fixed.after.price == 5

        # Removing a document that was never valid produces no change; the next one arrives.
        await rig.raw("bad", None)
        await rig.raw("c", {"name": "c", "price": 3})
        [next_change] = await next_events(stream, 1)
        assert isinstance(next_change, Change) and next_change.key == "c"
        assert {p.id: p.price for p in store.values()} == {"a": 5, "b": 2, "c": 3}
        assert stream.statistics().sources[0].invalid == 2
