"""Fixtures for the Firestore emulator tests.

The emulator, ``firestore_client`` and ``async_firestore_client`` come from the shared plugin
(``firebase_sync.testing``); ``emulators`` is overridden so that every test here also runs
against the official emulator (``side_by_side``); ``firestore_emulator`` reaches the embedded
emulator's hooks (tests using it are skipped on the official one).
"""

from __future__ import annotations

import asyncio
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest
from side_by_side import hosts_for

from emulator.firestore import FirestoreEmulator
from firebase_sync.testing import EmulatorHosts, session_project

PROJECT = session_project()  # the plugin's project for this process (per xdist worker)


@dataclass
class RunningEmulator:
    """The session's emulator, its port and the loop it runs on."""

    emulator: FirestoreEmulator
    port: int
    loop: asyncio.AbstractEventLoop

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def http(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        req = urllib.request.Request(f"http://{self.host}{path}", data=body, method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def reset(self) -> None:
        self.http("DELETE", f"/emulator/v1/projects/{PROJECT}/databases/(default)/documents")


@pytest.fixture
def emulators(
    request: pytest.FixtureRequest,
    emulators: EmulatorHosts,
    firestore_target: str,
    monkeypatch: pytest.MonkeyPatch,
) -> EmulatorHosts:
    """The plugin's emulators, with Firestore swapped per ``firestore_target``."""
    return hosts_for(request, emulators, firestore_target, monkeypatch)


@pytest.fixture
def firestore_emulator(emulators: EmulatorHosts) -> RunningEmulator:
    """The embedded emulator behind the shared fixtures, for tests that use its test hooks."""
    if emulators.embedded is None:
        pytest.skip("needs the embedded emulator's test hooks")  # e.g. on the official one
    suite = emulators.embedded
    emulator = suite.suite.services["firestore"]
    assert isinstance(emulator, FirestoreEmulator)
    port = int(emulators.firestore_host.rsplit(":", 1)[1])
    return RunningEmulator(emulator, port, suite.loop)
