"""Fixtures for the database emulator's integration tests.

The emulator and the per-test ``rtdb_app`` (on a cleared namespace) come from the shared
plugin, ``firebase_sync.testing``; here are raw-HTTP access and a listener recorder.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from firebase_sync.testing import EmulatorHosts, session_project

# the plugin's namespace for this process (per xdist worker)
NAMESPACE = f"{session_project()}-default-rtdb"
DATABASE_URL = f"https://{NAMESPACE}.firebaseio.com"
T = TypeVar("T")


@pytest.fixture(scope="session")
def database_emulator_host(emulators: EmulatorHosts) -> str:
    """``host:port`` of the session's Database emulator (the shared plugin's)."""
    return emulators.database_host


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Raw:
    """Minimal blocking HTTP client for what the SDK cannot send."""

    def __init__(self, host: str, ns: str = NAMESPACE) -> None:
        self.host = host
        self.ns = ns

    def url(self, path: str, query: str = "") -> str:
        sep = "&" if query else ""
        return f"http://{self.host}{path}?{query}{sep}ns={self.ns}"

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: str = "",
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> RawResponse:
        payload = (
            data
            if data is not None
            else (
                None if body is None and method in ("GET", "DELETE") else json.dumps(body).encode()
            )
        )
        request = urllib.request.Request(
            self.url(path, query),
            data=payload,
            method=method,
            headers={"Authorization": "Bearer owner", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return RawResponse(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return RawResponse(error.code, dict(error.headers), error.read())


def clear(host: str, ns: str = NAMESPACE) -> None:
    response = Raw(host, ns).request("PUT", "/.json", None, data=b"null")
    assert response.status == 200, response


@pytest.fixture
def raw(database_emulator_host: str) -> Raw:
    """Raw HTTP access to the test namespace."""
    return Raw(database_emulator_host)


class Recorder:
    """Collects ``listen()`` events from the SDK's thread; ``wait`` blocks until enough came."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []
        self._changed = threading.Condition()

    def __call__(self, event: Any) -> None:
        with self._changed:
            self.events.append((event.event_type, event.path, event.data))
            self._changed.notify_all()

    def wait(self, count: int, timeout: float = 5.0) -> list[tuple[str, str, Any]]:
        """The first ``count`` events (fails after ``timeout`` seconds)."""
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.events) >= count, timeout), self.events
            return self.events[:count]


@contextmanager
def listening(ref: Any) -> Iterator[Recorder]:
    """Listen on ``ref`` until the block ends; the initial ``put`` has arrived on entry."""
    recorder = Recorder()
    registration = ref.listen(recorder)
    try:
        recorder.wait(1)
        yield recorder
    finally:
        registration.close()


@pytest.fixture
def listen() -> Any:
    """``with listen(ref) as events:`` (see ``listening``)."""
    return listening
