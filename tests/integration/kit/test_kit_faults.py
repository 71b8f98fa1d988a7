"""Every call kind of the kit, on both databases, under each fault of ``emulator.faults``.

Faults: a held backend (the proxy accepts and holds every byte), a cut mid-request, a cut
mid-response, and an emulator restart. Each call ends in success after recovery or in a
clear, typed, retryable error within its deadlines, and the backend (read directly, not
through the proxy) shows the write exactly once: nothing lost, nothing doubled.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import pytest

from emulator.faults import FaultyEmulators
from firebase_sync import (
    ChangeStream,
    Deadlines,
    Document,
    FirebaseSyncError,
    InternalError,
    Reconnecting,
    RetryPolicy,
    Store,
    Synced,
    TransportError,
)
from firebase_sync.adapters._rtdb_http import RtdbEndpoint
from firebase_sync.adapters.firestore import FirestoreRepository
from firebase_sync.adapters.realtime import RealtimeRepository
from firebase_sync.offline import Increment, LocalCache, OfflineRepository

DEADLINES = Deadlines(connect=1.0, read=1.0, request=1.0, first_byte=1.0, idle=1.5, replay=1.0)
RETRY = RetryPolicy(attempts=None, initial=0.05, maximum=0.3, deadline=10.0)
RECONNECT = RetryPolicy(attempts=None, initial=0.05, maximum=0.3, deadline=60.0)
HOLD = 1.6  # seconds a held backend stays silent: longer than any single deadline above
#: the longest a call may take here: retries stop at the policy's deadline, plus one attempt
CALL_BUDGET = 10.0 + DEADLINES.request + RETRY.maximum + HOLD

FAULTS = ["held", "cut_request", "cut_response", "restart"]
DATABASES = ["firestore", "rtdb"]


class Item(Document):
    n: int = 0
    seen: dict[str, bool] = {}
    name: str = ""


class Fragile(Document):
    """A model whose validator has a bug: it raises KeyError (not a validation error)."""

    name: str = ""

    @pydantic.model_validator(mode="after")
    def _buggy(self) -> Fragile:
        if self.name == "boom":
            raise KeyError("a bug in a validator")
        return self


@pytest.fixture(scope="module")
def rig() -> Iterator[FaultyEmulators]:
    emulators = FaultyEmulators(keepalive_interval=0.5)
    yield emulators
    emulators.close()


@dataclass
class Pair:
    """A repository through the fault proxy, and one talking to the emulator directly."""

    proxied: Any
    direct: Any
    database: str


@pytest.fixture
async def make_pair(
    rig: FaultyEmulators, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Pair]]:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    clients: list[Any] = []
    endpoints: list[RtdbEndpoint] = []

    def make(database: str, model: type[Document] = Item) -> Pair:
        name = f"c{uuid.uuid4().hex[:10]}"
        if database == "firestore":
            made = []
            for host in (rig.host("firestore"), rig.direct_host("firestore")):
                monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", host)
                client = firestore.AsyncClient(
                    project=rig.project,
                    credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                )
                clients.append(client)
                made.append(client)
            return Pair(
                FirestoreRepository(
                    model,
                    name,
                    client=made[0],
                    retry=RETRY,
                    reconnect=RECONNECT,
                    deadlines=DEADLINES,
                ),
                FirestoreRepository(model, name, client=made[1]),
                database,
            )
        proxied = RtdbEndpoint(
            f"http://{rig.host('database')}", rig.namespace, emulator=True, deadlines=DEADLINES
        )
        direct = RtdbEndpoint(f"http://{rig.direct_host('database')}", rig.namespace, emulator=True)
        endpoints.extend((proxied, direct))
        return Pair(
            RealtimeRepository(
                model, f"/{name}", endpoint=proxied, retry=RETRY, reconnect=RECONNECT
            ),
            RealtimeRepository(model, f"/{name}", endpoint=direct),
            database,
        )

    yield make
    for client in clients:
        await client._firestore_api.transport.grpc_channel.close()
    for endpoint in endpoints:
        await endpoint.aclose()


def service(database: str) -> Any:
    return "firestore" if database == "firestore" else "database"


async def under_fault(
    rig: FaultyEmulators, database: str, fault: str, op: Callable[[], Awaitable[Any]]
) -> tuple[Any, FirebaseSyncError | None, float]:
    """Run ``op`` while ``fault`` hits ``database``; its result or typed error, and its time."""
    name = service(database)
    started = time.monotonic()
    restart: asyncio.Future[None] | None = None
    if fault == "held":
        rig.hold(name, True)
        asyncio.get_running_loop().call_later(HOLD, rig.hold, name, False)
    elif fault == "cut_request":
        rig.cut_next(name, "request")
    elif fault == "cut_response":
        rig.cut_next(name, "response")
    else:
        restart = asyncio.ensure_future(rig.restart(name))
        await asyncio.sleep(0.01)  # the stop is under way when the call starts
    try:
        result, error = await op(), None
    except FirebaseSyncError as exc:
        result, error = None, exc
    elapsed = time.monotonic() - started
    if restart is not None:
        await restart
    if fault == "held":
        await asyncio.sleep(max(0.0, HOLD + 0.2 - elapsed))  # released before the checks
    return result, error, elapsed


async def warm(pair: Pair) -> None:
    """One call first, so that the cut hits the call under test, not the connection set-up."""
    await pair.proxied.get("warm-up")


# -- unary calls ----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("database", DATABASES)
@pytest.mark.parametrize("kind", ["get", "set", "update", "delete"])
async def test_idempotent_calls_recover(
    rig: FaultyEmulators, make_pair: Callable[..., Pair], database: str, fault: str, kind: str
) -> None:
    pair = make_pair(database)
    await pair.direct.set(Item(id="k", n=1))
    await warm(pair)
    ops: dict[str, Callable[[], Awaitable[Any]]] = {
        "get": lambda: pair.proxied.get("k"),
        "set": lambda: pair.proxied.set(Item(id="k", n=5)),
        "update": lambda: pair.proxied.update("k", {"n": 7}),
        "delete": lambda: pair.proxied.delete("k"),
    }
    result, error, elapsed = await under_fault(rig, database, fault, ops[kind])
    assert error is None, f"{kind} under {fault}: {error!r}"
    assert elapsed < CALL_BUDGET
    stored = await pair.direct.get("k")
    expected = {"get": 1, "set": 5, "update": 7, "delete": None}[kind]
    assert (stored.n if stored else None) == expected
    if kind == "get":
        assert result is not None and result.n == 1


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("database", DATABASES)
@pytest.mark.parametrize("keyed", [False, True], ids=["push", "create"])
async def test_non_idempotent_calls_never_double(
    rig: FaultyEmulators, make_pair: Callable[..., Pair], database: str, fault: str, keyed: bool
) -> None:
    pair = make_pair(database)
    await warm(pair)
    document = Item(id="k" if keyed else "", n=1)
    # Unkeyed: RTDB push (POST) and Firestore create with a fresh random id.
    call = pair.proxied.create if (keyed or database == "firestore") else pair.proxied.push
    result, error, elapsed = await under_fault(rig, database, fault, lambda: call(document))
    assert elapsed < CALL_BUDGET
    stored = await pair.direct.all()
    assert len(stored) <= 1, f"applied twice: {stored}"
    if error is None:
        assert [item.n for item in stored] == [1] and stored[0].id == result.id
    else:
        # "May have been applied": a typed, retryable transport error, never a silent double.
        assert isinstance(error, TransportError) and error.retryable, repr(error)
    if keyed:
        # A create is conditional and reads a lost reply back: it always ends applied, once.
        assert error is None, repr(error)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("database", DATABASES)
async def test_transactions_apply_at_most_once(
    rig: FaultyEmulators, make_pair: Callable[..., Pair], database: str, fault: str
) -> None:
    pair = make_pair(database)
    await pair.direct.set(Item(id="k", n=0))
    await warm(pair)
    if database == "rtdb":

        def bump(current: Item | None) -> Item:
            assert current is not None
            return current.model_copy(update={"n": current.n + 1})

        op: Callable[[], Awaitable[Any]] = lambda: pair.proxied.transaction("k", bump)  # noqa: E731
    else:

        async def body(tx: Any) -> None:
            current = await tx.get("k")
            tx.set(current.model_copy(update={"n": current.n + 1}))

        op = lambda: pair.proxied.transaction(body)  # noqa: E731
    _, error, elapsed = await under_fault(rig, database, fault, op)
    stored = await pair.direct.get("k")
    assert stored is not None
    if error is None:
        assert stored.n == 1, f"transaction under {fault} applied {stored.n} times"
    else:
        assert error.retryable and stored.n in (0, 1), repr(error)
    if database == "rtdb":
        assert error is None  # compare-and-set with read-back: always applied, once
    assert elapsed < CALL_BUDGET * 5


# -- listening and offline replay ---------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("database", DATABASES)
async def test_listeners_resync_after_each_fault(
    rig: FaultyEmulators, make_pair: Callable[..., Pair], database: str, fault: str
) -> None:
    pair = make_pair(database)
    await pair.direct.set(Item(id="a", n=1))
    name = service(database)
    store: Store[Item] = Store()
    if fault == "cut_request":
        rig.cut_next(name, "request")  # the stream's opening request is cut
    async with ChangeStream(pair.proxied.listener(), store=store) as stream:

        async def until_synced() -> None:
            async for event in stream:
                if isinstance(event, Synced):
                    return

        await asyncio.wait_for(until_synced(), 10)
        if fault == "held":
            rig.hold(name, True)
            await asyncio.sleep(HOLD)
            rig.hold(name, False)
        elif fault == "cut_response":
            rig.cut_next(name, "response")
        elif fault == "restart":
            await rig.restart(name)
        await pair.direct.set(Item(id="b", n=2))
        await pair.direct.set(Item(id="a", n=3))
        await store.wait_for(
            lambda s: (s.get("a") or Item()).n == 3 and (s.get("b") or Item()).n == 2,
            timeout=15,
        )
        backend = {item.id: item for item in await pair.direct.all()}
        assert {entry.key: entry.value for entry in store.items()} == backend


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("database", DATABASES)
async def test_offline_replay_applies_exactly_once(
    rig: FaultyEmulators,
    make_pair: Callable[..., Pair],
    database: str,
    fault: str,
    tmp_path: Path,
) -> None:
    pair = make_pair(database)
    await pair.direct.set(Item(id="k", n=0))
    await warm(pair)
    fast = RetryPolicy(attempts=None, initial=0.05, maximum=0.3, deadline=None)
    failures: list[FirebaseSyncError] = []
    with LocalCache(tmp_path / "cache.db") as cache:
        async with OfflineRepository(
            pair.proxied,
            cache,
            replay_policy=fast,
            on_failure=lambda write, error: failures.append(error),
        ) as offline:

            async def write() -> Any:
                await offline.update("k", {"n": Increment(1), "seen.w1": True})
                await offline.flush(timeout=20)

            _, error, _ = await under_fault(rig, database, fault, write)
            assert error is None and not failures, repr(error or failures)
            stats = offline.statistics()
            assert (stats.queue_depth, stats.failed) == (0, 0)
    stored = await pair.direct.get("k")
    assert stored is not None and stored.n == 1 and stored.seen == {"w1": True}


# -- bugs are not outages -----------------------------------------------------------------


@pytest.mark.parametrize("database", DATABASES)
async def test_a_listener_bug_surfaces_within_one_event(
    make_pair: Callable[..., Pair], database: str
) -> None:
    pair = make_pair(database, Fragile)
    await pair.direct.set(Fragile(id="a", name="fine"))
    await pair.direct.set(Fragile(id="b", name="fine"))
    events: list[Any] = []
    async with ChangeStream(pair.proxied.listener()) as stream:
        with pytest.raises(InternalError) as caught:
            async with asyncio.timeout(10):
                async for event in stream:
                    events.append(event)
                    if isinstance(event, Synced):
                        await pair.direct.update("b", {"name": "boom"})
    assert isinstance(caught.value.__cause__, KeyError)
    assert not caught.value.retryable
    # Raised on the event that met the bug: no reconnect, nothing retried.
    assert not [e for e in events if isinstance(e, Reconnecting)]
    assert [type(e).__name__ for e in events] == ["Change", "Change", "Synced"]


# -- the CLI against a dead port ----------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "target"),
    [
        ("FIRESTORE_EMULATOR_HOST", "firestore:products/p1"),
        ("FIREBASE_DATABASE_EMULATOR_HOST", "rtdb:/products/p1"),
    ],
)
def test_cli_fails_within_seconds_on_a_dead_port(variable: str, target: str) -> None:
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**os.environ, variable: f"127.0.0.1:{port}", "GCLOUD_PROJECT": "demo-dead"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", "from firebase_sync.cli import main; main()", "get", target],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach" in lines[0] and variable in lines[0], done.stderr
    assert elapsed < 20, f"took {elapsed:.1f} s"


# -- a backend that never answers --------------------------------------------------------


@pytest.mark.parametrize("database", DATABASES)
async def test_a_silent_backend_is_a_retryable_timeout_within_the_deadline(
    rig: FaultyEmulators, make_pair: Callable[..., Pair], database: str, tmp_path: Path
) -> None:
    pair = make_pair(database)
    await pair.direct.set(Item(id="k", n=0))
    await warm(pair)
    pair.proxied.retry = RetryPolicy(attempts=2, initial=0.05, maximum=0.1, deadline=None)
    name = service(database)
    rig.hold(name, True)
    try:
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            await pair.proxied.get("k")
        elapsed = time.monotonic() - started
        assert caught.value.retryable
        assert elapsed < 2 * DEADLINES.request + 1.0, f"blocked {elapsed:.1f} s"
        with LocalCache(tmp_path / "cache.db") as cache:
            fast = RetryPolicy(attempts=None, initial=0.05, maximum=0.3, deadline=None)
            async with OfflineRepository(pair.proxied, cache, replay_policy=fast) as offline:
                started = time.monotonic()
                result = await offline.update("k", {"n": Increment(1)})
                # Acknowledged once on disk; the replay timed out, so the call did not wait.
                assert not result.applied
                assert time.monotonic() - started < DEADLINES.replay + 1.0
                rig.hold(name, False)
                await offline.flush(timeout=20)
    finally:
        rig.hold(name, False)
    stored = await pair.direct.get("k")
    assert stored is not None and stored.n == 1
