"""Chaos: a sustained write load on both databases while the kit's listeners suffer faults.

Writers talk to the emulators directly; the kit's listeners go through a fault proxy per
database, which drops, stalls (black hole, then release), cuts mid-message and refuses
connections, while the emulators themselves restart (data kept through export / import). At
the end the store must equal the backend exactly, and no stream may have delivered the same
final state twice for a key.

The CI run injects 20 faults per source; ``CHAOS_FAULTS=120 pytest tests/chaos -m slow -s``
runs the full version (the number is per source)::
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from chaos_harness import (
    NAMESPACE,
    PROJECT,
    Backend,
    Injected,
    Item,
    WriteLoad,
    inject_faults,
    write_load,
)

from firebase_sync import Change, ChangeStream, RetryPolicy, Source, Store
from firebase_sync.adapters._rtdb_http import RtdbEndpoint
from firebase_sync.adapters.firestore import FirestoreRepository
from firebase_sync.adapters.realtime import RealtimeRepository
from firebase_sync.adapters.realtime_listen import RealtimeListener
from firebase_sync_emulator.faults import FaultProxy

# An emulator instance stopped mid-request (a restart) can leave its accepted sockets to the
# garbage collector (the server side, not the kit's: the warnings name the emulator's port).
EMULATOR_SOCKETS = (
    "ignore:Exception ignored in.*(socket.socket|_SelectorTransport)"
    ":pytest.PytestUnraisableExceptionWarning"
)
pytestmark = pytest.mark.filterwarnings(EMULATOR_SOCKETS)
KEYS = 40
# Generous: restarts and refusals make many consecutive failures; a sync resets the count.
RECONNECT = RetryPolicy(attempts=60, initial=0.05, maximum=0.5, deadline=None)
WRITES = RetryPolicy(attempts=30, initial=0.05, maximum=0.5, deadline=20)


@dataclass
class Ledger:
    """What one stream delivered, checked as it arrives."""

    last: dict[tuple[Source, str], Any] = field(default_factory=dict)
    changes: int = 0
    duplicates: int = 0  # the same final state delivered twice in a row for a key
    broken_chains: int = 0  # a change whose ``before`` is not the previous ``after``

    def record(self, change: Change[Item]) -> None:
        slot = (change.source, change.key)
        previous = self.last.get(slot)
        self.changes += 1
        if change.after == previous:
            self.duplicates += 1
        if change.before != previous:
            self.broken_chains += 1
        self.last[slot] = change.after

    def view(self, source: Source) -> dict[str, Item]:
        return {k: v for (s, k), v in self.last.items() if s == source and v is not None}


async def consume(stream: ChangeStream[Item], ledger: Ledger) -> None:
    async for event in stream:
        if isinstance(event, Change):
            ledger.record(event)


@dataclass
class Rig:
    backend: Backend
    proxies: dict[str, FaultProxy]
    direct: dict[str, Any]
    watched: dict[str, Any]


@pytest.fixture
async def rig(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    from google.cloud import firestore

    backend = Backend()
    proxies = {name: FaultProxy("127.0.0.1", backend.ports[name]) for name in backend.ports}
    for proxy in proxies.values():
        await proxy.start()
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", backend.direct_host("firestore"))
    direct_fs = firestore.AsyncClient(project=PROJECT)
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", proxies["firestore"].address)
    proxied_fs = firestore.AsyncClient(project=PROJECT)

    def endpoint(host: str) -> RtdbEndpoint:
        return RtdbEndpoint(f"http://{host}", NAMESPACE, emulator=True)

    direct = {
        "firestore": FirestoreRepository(Item, "items", client=direct_fs, retry=WRITES),
        "database": RealtimeRepository(
            Item, "/items", endpoint=endpoint(backend.direct_host("database")), retry=WRITES
        ),
    }
    watched = {
        "firestore": FirestoreRepository(
            Item, "items", client=proxied_fs, retry=RECONNECT, reconnect=RECONNECT
        ),
        "database": RealtimeRepository(
            Item,
            "/items",
            endpoint=endpoint(proxies["database"].address),
            retry=RECONNECT,
            reconnect=RECONNECT,
        ),
    }
    try:
        yield Rig(backend, proxies, direct, watched)
    finally:
        await watched["database"].aclose()
        await direct["database"].aclose()
        for client in (direct_fs, proxied_fs):
            await client._firestore_api.transport.grpc_channel.close()
        for proxy in proxies.values():
            await proxy.stop()
        backend.close()


def listeners(rig: Rig) -> list[Any]:
    # A short idle timeout: stalls longer than it (keep-alives every 0.25 s) force a reconnect.
    return [
        rig.watched["firestore"].listener(),
        RealtimeListener(rig.watched["database"], idle_timeout=0.8),
    ]


async def divergence(store_view: dict[str, Item], direct: Any) -> list[str]:
    backend = {item.id: item for item in await direct.all()}
    keys = store_view.keys() | backend.keys()
    return sorted(k for k in keys if store_view.get(k) != backend.get(k))


async def run_chaos(rig: Rig, faults: int, seed: int) -> None:
    rng = random.Random(seed)
    started = time.monotonic()
    store: Store[Item] = Store()
    main, raw = Ledger(), Ledger()
    # One stream keeps the store; a second, storeless one checks the listeners' own diffing.
    stream = ChangeStream(*listeners(rig), store=store, buffer=256)
    bare = ChangeStream(*listeners(rig), buffer=256)
    consumers = [
        asyncio.create_task(consume(s, ledger)) for s, ledger in ((stream, main), (bare, raw))
    ]
    stop = asyncio.Event()
    loads = {name: WriteLoad() for name in rig.direct}
    writers = [
        asyncio.create_task(
            write_load(rig.direct[name], KEYS, stop, loads[name], random.Random(rng.random()))
        )
        for name in rig.direct
        for _ in range(2)
    ]
    injected = {name: Injected() for name in rig.proxies}
    injectors = [
        inject_faults(rig.backend, name, proxy, faults, injected[name], random.Random(rng.random()))
        for name, proxy in rig.proxies.items()
    ]
    try:
        await asyncio.gather(*injectors)
        stop.set()
        await asyncio.gather(*writers)
        sources = {
            name: listener.source for name, listener in zip(rig.direct, listeners(rig), strict=True)
        }
        diverged: dict[str, list[str]] = {}
        for name, source in sources.items():
            deadline = time.monotonic() + 30
            while True:
                view = {e.key: e.value for e in store.items(source=source)}
                diverged[name] = await divergence(view, rig.direct[name])
                raw_diverged = await divergence(raw.view(source), rig.direct[name])
                if not (diverged[name] or raw_diverged) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
            diverged[f"{name} (storeless stream)"] = raw_diverged
    finally:
        stop.set()
        await stream.aclose()
        await bare.aclose()
        for task in [*consumers, *writers]:
            task.cancel()
        await asyncio.gather(*consumers, *writers, return_exceptions=True)
    for task in consumers:  # a listener that gave up would have ended its consumer with it
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]

    stats = stream.statistics()
    print(f"\nchaos: {faults} faults per source, seed {seed}, {time.monotonic() - started:.1f}s")
    for name in rig.proxies:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(injected[name].kinds.items()))
        print(
            f"  {name}: {injected[name].total} faults ({kinds}); "
            f"writes {loads[name].writes} ok / {loads[name].failed} refused or failed; "
            f"proxy {rig.proxies[name].stats}"
        )
    for source_stats in stats.sources:
        print(
            f"  {source_stats.source}: {source_stats.reconnects} reconnects, "
            f"{source_stats.events} events"
        )
    for name, keys in diverged.items():
        print(f"  divergent keys {name}: {len(keys)} {keys[:10]}")
    print(
        f"  store stream: {main.changes} changes, {main.duplicates} duplicates, "
        f"{main.broken_chains} broken before/after chains"
    )
    print(
        f"  storeless stream: {raw.changes} changes, {raw.duplicates} duplicates, "
        f"{raw.broken_chains} broken before/after chains"
    )

    for name in rig.proxies:
        assert injected[name].total == faults
    assert all(stats.reconnects > 0 for stats in stats.sources)
    assert {name: keys for name, keys in diverged.items() if keys} == {}
    assert (main.duplicates, main.broken_chains) == (0, 0)
    assert (raw.duplicates, raw.broken_chains) == (0, 0)


async def test_chaos_reduced(rig: Rig) -> None:
    """The CI version: 20 faults per source (about 15 s)."""
    await run_chaos(rig, faults=20, seed=int(os.environ.get("CHAOS_SEED", "5")))


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.skipif("CHAOS_FAULTS" not in os.environ, reason="set CHAOS_FAULTS (e.g. 120)")
async def test_chaos_full(rig: Rig) -> None:
    """The full version: ``CHAOS_FAULTS`` faults per source (at least 100 meant)."""
    faults = int(os.environ["CHAOS_FAULTS"])
    await run_chaos(rig, faults=faults, seed=int(os.environ.get("CHAOS_SEED", "11")))
