"""pytest plugin: emulators for the session, a clean database per test.

Registered through the ``pytest11`` entry point, so installing firebase-sync is enough. When
``FIREBASE_DATABASE_EMULATOR_HOST`` / ``FIRESTORE_EMULATOR_HOST`` are set (for instance under
``firebase emulators:exec``), the fixtures use those emulators; otherwise they start the embedded
ones on free ports, once per session (so parallel sessions never clash). Before every test that
asks for a database, its data is cleared. The fixtures refuse anything that does not answer as an
emulator, so a test can never touch production data.

Under pytest-xdist each worker uses its own project, ``<project>-<worker id>`` (so its own
Firestore data and its own RTDB namespace ``<project>-<worker id>-default-rtdb``): workers sharing
one pair of emulators never see or clear each other's data. The worker's ``GCLOUD_PROJECT`` /
``GOOGLE_CLOUD_PROJECT`` are set to it before collection, so code that takes the project from the
environment follows.

The async fixtures are pytest-asyncio fixtures, so they work in its strict and auto modes alike
(in strict mode, mark the async tests ``@pytest.mark.asyncio`` as pytest-asyncio requires). When
pytest-asyncio is missing they fail with the command that installs it; the rest still works.
"""

from __future__ import annotations

import asyncio
import functools
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, Protocol, TypeVar

import pytest

from emulator.config import DEFAULT_PROJECT
from emulator.suite import EmulatorSuite, ThreadedSuite
from firebase_sync.rules_testing import RulesTestEnvironment

if TYPE_CHECKING:
    import firebase_admin
    from google.cloud import firestore

    from firebase_sync.adapters.firestore import FirestoreRepository
    from firebase_sync.adapters.realtime import RealtimeRepository
    from firebase_sync.models import Document
    from firebase_sync.retry import RetryPolicy
    from firebase_sync.store import Store

__all__ = [
    "EmulatorHosts",
    "FirestoreRepositoryFactory",
    "NotAnEmulatorError",
    "RealtimeRepositoryFactory",
    "async_firestore_client",
    "clear_database",
    "clear_firestore",
    "emulators",
    "eventually",
    "firestore_client",
    "firestore_repository",
    "realtime_repository",
    "rtdb_app",
    "session_project",
    "store",
    "verify_database_emulator",
    "verify_firestore_emulator",
    "xdist_worker",
]

DATABASE_HOST_VARIABLE = "FIREBASE_DATABASE_EMULATOR_HOST"
FIRESTORE_HOST_VARIABLE = "FIRESTORE_EMULATOR_HOST"
_PRODUCTION_SUFFIXES = ("googleapis.com", "firebaseio.com", "firebasedatabase.app", "google.com")
_PROJECT_VARIABLES = ("GCLOUD_PROJECT", "GOOGLE_CLOUD_PROJECT")
_MISSING_PYTEST_ASYNCIO = (
    "the firebase_sync fixture {name!r} is an async fixture and needs pytest-asyncio, "
    "which is not installed: pip install 'firebase-sync[test]' (or pip install pytest-asyncio)"
)

_D = TypeVar("_D", bound="Document")
_P = ParamSpec("_P")
_R = TypeVar("_R")


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


class FirestoreRepositoryFactory(Protocol):
    """The ``firestore_repository`` fixture: ``firestore_repository(Model, "collection")``."""

    def __call__(
        self,
        model: type[_D],
        collection: str,
        *,
        client: firestore.AsyncClient | None = None,
        database: str | None = None,
        group: bool = False,
        retry: RetryPolicy | None = None,
        reconnect: RetryPolicy | None = None,
    ) -> FirestoreRepository[_D]:
        """A repository on the emptied test database, closed after the test."""
        ...


class RealtimeRepositoryFactory(Protocol):
    """The ``realtime_repository`` fixture: ``realtime_repository(Model, "/path")``."""

    def __call__(
        self,
        model: type[_D],
        path: str,
        *,
        retry: RetryPolicy | None = None,
        reconnect: RetryPolicy | None = None,
    ) -> RealtimeRepository[_D]:
        """A repository on the emptied test namespace, closed after the test."""
        ...


def xdist_worker() -> str | None:
    """This process's pytest-xdist worker id (``gw0``, ``gw1``...), or None outside xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER") or None


@functools.cache
def session_project() -> str:
    """The project this test process uses (the ``emulators`` fixture's ``project``).

    ``GCLOUD_PROJECT`` (or ``GOOGLE_CLOUD_PROJECT``, else ``demo-firebase-sync``); under xdist
    with ``-<worker id>`` appended, so each worker has its own data on shared emulators.
    """
    base = next((os.environ[v] for v in _PROJECT_VARIABLES if os.environ.get(v)), DEFAULT_PROJECT)
    worker = xdist_worker()
    if worker is None or base.endswith(f"-{worker}"):
        return base
    return f"{base}-{worker}"


_saved_project_variables: dict[str, str | None] = {}


def pytest_configure(config: pytest.Config) -> None:
    """In an xdist worker, point the project variables at the worker's project before collection."""
    if xdist_worker() is None:
        return
    project = session_project()
    for variable in _PROJECT_VARIABLES:
        _saved_project_variables[variable] = os.environ.get(variable)
        os.environ[variable] = project


def pytest_unconfigure(config: pytest.Config) -> None:
    """Restore what ``pytest_configure`` changed."""
    for variable, value in _saved_project_variables.items():
        if value is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = value
    _saved_project_variables.clear()


def _async_fixture(
    function: Callable[_P, AsyncIterator[_R]],
) -> Callable[_P, AsyncIterator[_R]]:
    """A pytest-asyncio fixture (strict and auto mode), or one that says what is missing."""
    try:
        import pytest_asyncio
    except ImportError:
        pass
    else:
        return pytest_asyncio.fixture(function)

    name = function.__name__

    @pytest.fixture(name=name)
    def missing() -> NoReturn:
        pytest.fail(_MISSING_PYTEST_ASYNCIO.format(name=name), pytrace=False)

    return missing


@pytest.fixture(scope="session")
def emulators() -> Iterator[EmulatorHosts]:
    """The session's emulators: the ones the environment names, or embedded ones on free ports."""
    database_host = os.environ.get(DATABASE_HOST_VARIABLE)
    firestore_host = os.environ.get(FIRESTORE_HOST_VARIABLE)
    project = session_project()
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
def rtdb_app(emulators: EmulatorHosts) -> Iterator[firebase_admin.App]:
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
def firestore_client(emulators: EmulatorHosts) -> Iterator[firestore.Client]:
    """A synchronous ``google.cloud.firestore.Client`` on an emptied emulator database."""
    from google.cloud import firestore

    clear_firestore(emulators)
    client = firestore.Client(project=emulators.project)
    try:
        yield client
    finally:
        client.close()  # type: ignore[no-untyped-call]


def _anonymous_async_client(project: str, database: str | None = None) -> firestore.AsyncClient:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call]
    options = {"database": database} if database else {}
    return firestore.AsyncClient(project=project, credentials=anonymous, **options)


async def _close_async_client(client: firestore.AsyncClient) -> None:
    # AsyncClient.close() does not wait for the channel; closing it here, on the test's loop,
    # leaves no transport behind for the next test's loop.
    from firebase_sync.adapters import _compat

    await _compat.close_channel(client)


@_async_fixture
async def async_firestore_client(
    emulators: EmulatorHosts,
) -> AsyncIterator[firestore.AsyncClient]:
    """An ``AsyncClient`` on an emptied emulator database."""
    clear_firestore(emulators)
    client = _anonymous_async_client(emulators.project)
    try:
        yield client
    finally:
        await _close_async_client(client)


@_async_fixture
async def firestore_repository(
    emulators: EmulatorHosts,
) -> AsyncIterator[FirestoreRepositoryFactory]:
    """A factory: ``firestore_repository(Model, "collection")`` on an emptied database.

    Every client it made is closed after the test, on the test's own event loop.
    """
    from firebase_sync.adapters.firestore import FirestoreRepository

    clear_firestore(emulators)
    made: list[firestore.AsyncClient] = []

    def make(
        model: type[_D],
        collection: str,
        *,
        client: firestore.AsyncClient | None = None,
        database: str | None = None,
        group: bool = False,
        retry: RetryPolicy | None = None,
        reconnect: RetryPolicy | None = None,
    ) -> FirestoreRepository[_D]:
        if client is None:
            client = _anonymous_async_client(emulators.project, database)
            made.append(client)
        return FirestoreRepository(
            model, collection, client=client, group=group, retry=retry, reconnect=reconnect
        )

    yield make
    for client in made:
        await _close_async_client(client)


@_async_fixture
async def realtime_repository(
    rtdb_app: firebase_admin.App,
) -> AsyncIterator[RealtimeRepositoryFactory]:
    """A factory: ``realtime_repository(Model, "/path")`` on the emptied test namespace."""
    from firebase_sync.adapters.realtime import RealtimeRepository

    made: list[RealtimeRepository[Any]] = []

    def make(
        model: type[_D],
        path: str,
        *,
        retry: RetryPolicy | None = None,
        reconnect: RetryPolicy | None = None,
    ) -> RealtimeRepository[_D]:
        repository = RealtimeRepository(model, path, app=rtdb_app, retry=retry, reconnect=reconnect)
        made.append(repository)
        return repository

    yield make
    for repository in made:
        await repository.aclose()


@pytest.fixture
def store() -> Store[Any]:
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
