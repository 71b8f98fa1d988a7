"""Reconnects, resyncs, failures and shutdown, with a fault proxy between us and the emulators."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from kit_models import Product

from firebase_sync import (
    Change,
    ChangeKind,
    ChangeStream,
    Deadlines,
    FirebaseSyncError,
    Reconnecting,
    RetryPolicy,
    SourceState,
    Store,
    Synced,
)
from firebase_sync.adapters._rtdb_http import RtdbEndpoint
from firebase_sync.adapters.firestore import FirestoreRepository
from firebase_sync.adapters.realtime import RealtimeRepository
from firebase_sync.testing import EmulatorHosts

FAST = RetryPolicy(attempts=20, initial=0.05, maximum=0.2, deadline=None)


@dataclass
class Rig:
    """A watched repository behind a fault proxy, and a writer talking to the emulator directly."""

    watched: Any
    writer: Any
    proxy: Any


@pytest.fixture(params=["firestore", "rtdb"])
async def rig(
    request: pytest.FixtureRequest,
    emulators: EmulatorHosts,
    rtdb_app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Rig]:
    from google.cloud import firestore

    from emulator.faults import FaultProxy
    from firebase_sync.testing import clear_firestore

    host = emulators.firestore_host if request.param == "firestore" else emulators.database_host
    name, port = host.rsplit(":", 1)
    proxy = FaultProxy(name, int(port))
    await proxy.start()
    if request.param == "firestore":
        clear_firestore(emulators)
        direct = firestore.AsyncClient(project=emulators.project)
        monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", proxy.address)
        proxied = firestore.AsyncClient(project=emulators.project)
        yield Rig(
            FirestoreRepository(Product, "products", client=proxied, retry=FAST, reconnect=FAST),
            FirestoreRepository(Product, "products", client=direct),
            proxy,
        )
        for client in (direct, proxied):
            await client._firestore_api.transport.grpc_channel.close()
    else:
        endpoint = RtdbEndpoint(
            f"http://{proxy.address}", emulators.database_namespace, emulator=True
        )
        async with (
            RealtimeRepository(
                Product, "/products", endpoint=endpoint, retry=FAST, reconnect=FAST
            ) as watched,
            RealtimeRepository(Product, "/products", app=rtdb_app) as writer,
        ):
            yield Rig(watched, writer, proxy)
    await proxy.stop()


async def until_synced(stream: ChangeStream[Product], *, resumed: bool) -> list[Any]:
    events = []
    async with asyncio.timeout(10):
        async for event in stream:
            events.append(event)
            if isinstance(event, Synced) and event.resumed is resumed:
                return events
    raise AssertionError(f"stream ended before a sync: {events}")


def changes_of(events: list[Any]) -> list[tuple[str, ChangeKind]]:
    return [(e.key, e.kind) for e in events if isinstance(e, Change)]


async def seed(repo: Any) -> None:
    for key, price in [("a", 1), ("b", 2)]:
        await repo.set(Product(id=key, name=key, price=price))


async def change_while_offline(repo: Any) -> None:
    await repo.update("a", {"price": 10})
    await repo.delete("b")
    await repo.set(Product(id="c", name="c", price=3))


async def test_reconnect_resyncs_with_only_the_real_changes(rig: Rig) -> None:
    watched, writer, proxy = rig.watched, rig.writer, rig.proxy
    await seed(writer)
    store: Store[Product] = Store()
    async with watched.watch(store=store) as stream:
        initial = await until_synced(stream, resumed=False)
        assert sorted(changes_of(initial)) == [("a", ChangeKind.ADDED), ("b", ChangeKind.ADDED)]

        proxy.refuse = True
        await proxy.drop()
        await change_while_offline(writer)
        await asyncio.sleep(0.3)  # a few refused attempts
        proxy.refuse = False

        after = await until_synced(stream, resumed=True)
        assert any(isinstance(e, Reconnecting) for e in after)
        assert sorted(changes_of(after)) == [
            ("a", ChangeKind.MODIFIED),
            ("b", ChangeKind.REMOVED),
            ("c", ChangeKind.ADDED),
        ]
        resumed_changes = [e for e in after if isinstance(e, Change)]
        assert all(c.metadata.resumed for c in resumed_changes)
        assert {p.id: p.price for p in store.values()} == {"a": 10, "c": 3}
        stats = stream.statistics()
        assert stats.reconnects >= 1 and stats.sources[0].state is SourceState.SYNCED


async def test_full_resend_without_changes_is_diffed_to_nothing(rig: Rig) -> None:
    watched, writer, proxy = rig.watched, rig.writer, rig.proxy
    await seed(writer)
    async with watched.watch() as stream:
        await until_synced(stream, resumed=False)
        for _ in range(2):
            await proxy.drop()
            after = await until_synced(stream, resumed=True)
            assert changes_of(after) == []


async def test_listener_failure_reaches_the_consumer(rig: Rig) -> None:
    watched, proxy = rig.watched, rig.proxy
    watched.reconnect = RetryPolicy(attempts=3, initial=0.01, maximum=0.05, deadline=None)
    if isinstance(watched, FirestoreRepository):
        # A Listen attempt waits for the reconnecting channel up to its first-byte deadline.
        watched.deadlines = Deadlines(first_byte=1.0)
    store: Store[Product] = Store()
    async with watched.watch(store=store) as stream:
        await until_synced(stream, resumed=False)
        proxy.refuse = True
        await proxy.drop()
        with pytest.raises(FirebaseSyncError) as caught:
            async with asyncio.timeout(10):
                async for _ in stream:
                    pass
        assert caught.value.retryable  # it was transient, but it never came back
        assert stream.statistics().sources[0].state is SourceState.FAILED
    with pytest.raises(FirebaseSyncError):
        await store.wait_for(lambda s: False, timeout=1)


async def test_clean_shutdown_leaves_no_task_thread_or_connection(rig: Rig) -> None:
    tasks_before = asyncio.all_tasks()
    threads_before = set(threading.enumerate())
    await seed(rig.writer)
    stream = rig.watched.watch()
    async with stream:
        await until_synced(stream, resumed=False)
        assert len(rig.proxy._writers) > 0
    await stream.aclose()
    if isinstance(rig.watched, RealtimeRepository):
        await rig.watched.aclose()
    else:
        await rig.watched.client._firestore_api.transport.grpc_channel.close()
    # The sockets close asynchronously (grpc's core closes them on its own schedule).
    for _ in range(100):
        if not rig.proxy._writers and asyncio.all_tasks() == tasks_before:
            break
        await asyncio.sleep(0.05)
    assert asyncio.all_tasks() == tasks_before
    assert set(threading.enumerate()) <= threads_before
    assert len(rig.proxy._writers) == 0  # every connection through the proxy is gone
