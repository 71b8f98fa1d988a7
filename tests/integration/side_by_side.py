"""Side by side: the Firestore tests run against our emulator and the official one.

(Loaded by ``tests/integration/conftest.py``; the Firestore and kit conftests override
``emulators`` with ``hosts_for``.)

Every test under ``firestore/`` and every Firestore test under ``kit/`` is parametrized with
``firestore_target`` = ``ours`` / ``official``. For ``official``, the session's
``FIRESTORE_EMULATOR_HOST`` points at the official Cloud Firestore emulator (the Java one,
started once per session on a free port by ``tools.official_firestore``; reset between tests
through its DELETE endpoint like ours). Where java or its JAR is missing (or
``FIRESTORE_OFFICIAL=0``, or the environment names the emulator), only ``ours`` runs and the
session ends with one line saying why.

Tests marked ``extension`` check a deliberate extension of ours, or production behaviour the
official emulator lacks (the README lists them), and tests using the embedded emulator's hooks
(``firestore_emulator``) check our internals: neither runs on the official emulator.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firebase_sync.testing import EmulatorHosts

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.official_firestore import OfficialFirestore, unavailable_reason  # noqa: E402

OURS, OFFICIAL = "ours", "official"
#: fixtures that make a test under kit/ a Firestore test (every test under firestore/ is one).
_FIRESTORE_FIXTURES = {
    "firestore_client",
    "async_firestore_client",
    "fs_client",
    "firestore_repository",
    "rig",
}
_HERE = Path(__file__).resolve().parent
_NOT_ON_OFFICIAL: list[str] = []


def _side_by_side(metafunc: pytest.Metafunc) -> bool:
    folder = metafunc.definition.path.resolve().parent
    fixtures = set(metafunc.fixturenames)
    if "firestore_emulator" in fixtures:  # the embedded emulator's test hooks
        return False
    if folder == _HERE / "firestore":
        return True
    return folder == _HERE / "kit" and bool(_FIRESTORE_FIXTURES & fixtures)


@functools.cache  # decided once, at collection (before the plugin sets the variable)
def _official_reason() -> str | None:
    if os.environ.get("FIRESTORE_OFFICIAL") == "0":
        return "FIRESTORE_OFFICIAL=0"
    if os.environ.get("FIRESTORE_EMULATOR_HOST"):
        return "the environment names the Firestore emulator"
    return unavailable_reason()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "firestore_target" not in metafunc.fixturenames or not _side_by_side(metafunc):
        return
    if _official_reason() is None:
        metafunc.parametrize("firestore_target", [OURS, OFFICIAL], indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Not on the official emulator: tests (or parameters) marked ``extension``, and the
    # Realtime Database variant of a test parametrized over both databases (it runs once).
    keep, drop = [], []
    for item in items:
        spec = getattr(item, "callspec", None)
        params = spec.params if spec else {}
        if params.get("firestore_target") != OFFICIAL:
            keep.append(item)
        elif item.get_closest_marker("extension"):
            _NOT_ON_OFFICIAL.append(item.nodeid)
            drop.append(item)
        elif "rtdb" in params.values():
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_terminal_summary(terminalreporter: Any) -> None:
    reason = _official_reason()
    if reason:
        terminalreporter.write_line(
            f"official Firestore emulator: side-by-side runs skipped ({reason})"
        )
    elif _NOT_ON_OFFICIAL:
        terminalreporter.write_line(
            f"official Firestore emulator: {len(_NOT_ON_OFFICIAL)} tests marked extension "
            "ran on ours only (deselected on the official one)"
        )


@pytest.fixture(scope="session")
def official_firestore() -> Iterator[OfficialFirestore]:
    """The official emulator, started on first use and stopped at the end of the session."""
    with OfficialFirestore() as official:
        yield official


@pytest.fixture
def firestore_target(request: pytest.FixtureRequest) -> str:
    """Which Firestore emulator the test talks to (``ours`` unless parametrized)."""
    target: str = getattr(request, "param", OURS)
    return target


def hosts_for(
    request: pytest.FixtureRequest,
    base: EmulatorHosts,
    target: str,
    monkeypatch: pytest.MonkeyPatch,
) -> EmulatorHosts:
    """The session's hosts, with Firestore swapped for the official emulator when asked."""
    if target != OFFICIAL:
        return base
    official: OfficialFirestore = request.getfixturevalue("official_firestore")
    _reset(official, base.project)
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", official.host)
    return dataclasses.replace(base, firestore_host=official.host, embedded=None)


def _reset(official: OfficialFirestore, project: str, patience: float = 90.0) -> None:
    """Empty the official emulator. It answers 409 while a transaction (left open by a failed
    test) still holds locks; those expire, so wait rather than fail every later test."""
    deadline = time.monotonic() + patience
    while True:
        try:
            official.reset(project)
            return
        except urllib.error.HTTPError as exc:
            if exc.code != 409 or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
