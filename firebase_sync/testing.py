"""pytest plugin: emulators for the session, a clean database per test.

Registered through the ``pytest11`` entry point, so installing firebase-sync is enough. When
``FIREBASE_DATABASE_EMULATOR_HOST`` / ``FIRESTORE_EMULATOR_HOST`` are set (for instance under
``firebase emulators:exec``), the fixtures use those emulators; otherwise they start the embedded
ones on free ports, once per session (so parallel sessions never clash). Before every test that
asks for a database, its data is cleared. The fixtures refuse anything that does not answer as an
emulator, so a test can never touch production data.
"""

from __future__ import annotations

import asyncio
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from emulator.config import DEFAULT_PROJECT
from emulator.suite import EmulatorSuite, ThreadedSuite
from firebase_sync.rules_testing import RulesTestEnvironment

DATABASE_HOST_VARIABLE = "FIREBASE_DATABASE_EMULATOR_HOST"
FIRESTORE_HOST_VARIABLE = "FIRESTORE_EMULATOR_HOST"
_PRODUCTION_SUFFIXES = ("googleapis.com", "firebaseio.com", "firebasedatabase.app", "google.com")


class NotAnEmulatorError(RuntimeError):
    """A fixture was pointed at something that is not a Firebase emulator."""


@dataclass(frozen=True)
class EmulatorHosts:
    """Where the session's emulators are, and which project the tests use."""

    project: str
    database_host: str
    firestore_host: str
    #: the embedded suite, when the fixtures started it (tests may reach its test hooks).
    embedded: ThreadedSuite | None = None

    @property
    def database_namespace(self) -> str:
        """The namespace that ``https://<project>-default-rtdb.firebaseio.com`` maps to."""
        return f"{self.project}-default-rtdb"

    @property
    def database_url(self) -> str:
        """A production-shaped URL; the SDK reroutes it to the emulator via the variable."""
        return f"https://{self.database_namespace}.firebaseio.com"


def _request(method: str, url: str, data: bytes | None = None, timeout: float = 10.0) -> bytes:
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Authorization": "Bearer owner"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (emulator only)
        body: bytes = response.read()
        return body


def _require_emulator_host(variable: str, host: str) -> None:
    name = host.rsplit(":", 1)[0].strip("[]").lower()
    if not host or "//" in host or name.endswith(_PRODUCTION_SUFFIXES):
        raise NotAnEmulatorError(f"{variable}={host!r} is not an emulator address")


def verify_firestore_emulator(host: str) -> None:
    """Raise ``NotAnEmulatorError`` unless ``host`` answers ``GET /`` like the emulator."""
    _require_emulator_host(FIRESTORE_HOST_VARIABLE, host)
    try:
        body = _request("GET", f"http://{host}/")
    except (urllib.error.URLError, OSError) as exc:
        raise NotAnEmulatorError(f"no Firestore emulator answers at {host}: {exc}") from exc
    if not body.strip().startswith(b"Ok"):
        raise NotAnEmulatorError(f"{host} does not answer like the Firestore emulator")


def verify_database_emulator(host: str) -> None:
    """Raise ``NotAnEmulatorError`` unless ``host`` serves the RTDB REST API over plain HTTP."""
    _require_emulator_host(DATABASE_HOST_VARIABLE, host)
    try:
        _request("GET", f"http://{host}/.json?ns=firebase-sync-probe&shallow=true")
    except (urllib.error.URLError, OSError) as exc:
        raise NotAnEmulatorError(f"no Database emulator answers at {host}: {exc}") from exc


def clear_database(hosts: EmulatorHosts, namespace: str | None = None) -> None:
    """Delete everything in one RTDB namespace (what rules-unit-testing's clear does)."""
    ns = namespace or hosts.database_namespace
    _request("PUT", f"http://{hosts.database_host}/.json?ns={ns}", data=b"null")


def clear_firestore(hosts: EmulatorHosts, database: str = "(default)") -> None:
    """Delete every document of the project's database through the emulator's reset endpoint."""
    _request(
        "DELETE",
        f"http://{hosts.firestore_host}/emulator/v1/projects/{hosts.project}"
        f"/databases/{database}/documents",
    )


@pytest.fixture(scope="session")
def emulators() -> Iterator[EmulatorHosts]:
    """The session's emulators: the ones the environment names, or embedded ones on free ports."""
    database_host = os.environ.get(DATABASE_HOST_VARIABLE)
    firestore_host = os.environ.get(FIRESTORE_HOST_VARIABLE)
    project = os.environ.get("GCLOUD_PROJECT") or DEFAULT_PROJECT
    if database_host and firestore_host:
        verify_database_emulator(database_host)
        verify_firestore_emulator(firestore_host)
        yield EmulatorHosts(project, database_host, firestore_host)
        return
    # Short keep-alives keep firebase-admin's listener close() fast (it wakes on the next byte).
    suite = EmulatorSuite(project=project, free_ports=True, with_hub=False, database_keepalive=0.25)
    threaded = suite.start_in_thread()
    running = threaded.running
    assert running is not None and running.database_host and running.firestore_host
    saved = {key: os.environ.get(key) for key in running.environment()}
    os.environ.update(running.environment())
    try:
        yield EmulatorHosts(project, running.database_host, running.firestore_host, threaded)
    finally:
        threaded.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def rtdb_app(emulators: EmulatorHosts) -> Iterator[Any]:
    """A firebase-admin ``App`` on the emulator's default namespace, emptied before the test."""
    import firebase_admin

    clear_database(emulators)
    app = firebase_admin.initialize_app(
        options={"databaseURL": emulators.database_url, "projectId": emulators.project},
        name=f"test-{uuid.uuid4().hex}",
    )
    try:
        yield app
    finally:
        firebase_admin.delete_app(app)


@pytest.fixture
def firestore_client(emulators: EmulatorHosts) -> Iterator[Any]:
    """A synchronous ``google.cloud.firestore.Client`` on an emptied emulator database."""
    from google.cloud import firestore

    clear_firestore(emulators)
    client = firestore.Client(project=emulators.project)
    try:
        yield client
    finally:
        client.close()  # type: ignore[no-untyped-call]


@pytest.fixture
async def async_firestore_client(emulators: EmulatorHosts) -> Any:
    """An ``AsyncClient`` on an emptied emulator database."""
    from google.cloud import firestore

    clear_firestore(emulators)
    client = firestore.AsyncClient(project=emulators.project)
    try:
        yield client
    finally:
        client.close()  # type: ignore[no-untyped-call]


@pytest.fixture
async def firestore_repository(emulators: EmulatorHosts) -> Any:
    """A factory: ``firestore_repository(Model, "collection")`` on an emptied database.

    Every repository made is closed after the test, on the test's own event loop.
    """
    from firebase_sync.adapters.firestore import FirestoreRepository

    clear_firestore(emulators)
    made: list[FirestoreRepository[Any]] = []

    def make(model: type[Any], collection: str, **options: Any) -> FirestoreRepository[Any]:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import firestore

        client = options.pop("client", None) or firestore.AsyncClient(
            project=emulators.project,
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        )
        repository = FirestoreRepository(model, collection, client=client, **options)
        made.append(repository)
        return repository

    yield make
    from firebase_sync.adapters import _compat

    for repository in made:
        await _compat.close_channel(repository.client)


@pytest.fixture
async def realtime_repository(rtdb_app: Any) -> Any:
    """A factory: ``realtime_repository(Model, "/path")`` on the emptied test namespace."""
    from firebase_sync.adapters.realtime import RealtimeRepository

    made: list[RealtimeRepository[Any]] = []

    def make(model: type[Any], path: str, **options: Any) -> RealtimeRepository[Any]:
        repository = RealtimeRepository(model, path, app=rtdb_app, **options)
        made.append(repository)
        return repository

    yield make
    for repository in made:
        await repository.aclose()


@pytest.fixture
def store() -> Any:
    """An empty ``Store`` (use ``await store.wait_for(predicate)`` to await a state)."""
    from firebase_sync.store import Store

    return Store()


async def eventually(
    predicate: Callable[[], bool | Awaitable[bool]],
    timeout: float = 5.0,  # noqa: ASYNC109 (mirrors Store.wait_for)
    interval: float = 0.02,
) -> None:
    """Wait until ``predicate()`` holds (it may be async); ``TimeoutError`` after ``timeout``."""
    async with asyncio.timeout(timeout):
        while True:
            result = predicate()
            if isinstance(result, Awaitable):
                result = await result
            if result:
                return
            await asyncio.sleep(interval)


@pytest.fixture
def rules_env(emulators: EmulatorHosts) -> Iterator[RulesTestEnvironment]:
    """Security-rules testing on the session's emulators (``firebase_sync.rules_testing``):
    load rules, act as users, assert outcomes. Data is cleared before the test and the rules
    in force before it are put back after it."""
    env = RulesTestEnvironment(
        emulators.project,
        emulators.firestore_host,
        emulators.database_host,
        emulators.database_namespace,
    )
    saved = env.current_rules()
    clear_firestore(emulators)
    clear_database(emulators)
    try:
        yield env
    finally:
        env.cleanup()
        env.restore_rules(saved)
