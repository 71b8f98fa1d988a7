"""Fixtures for the kit's integration tests: the shared plugin's emulators, plus repositories.

The plugin (``firebase_sync.testing``) is loaded through its entry point and provides the
session's ``emulators``, overridden here; importing its other fixtures here keeps them at hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from side_by_side import hosts_for

from firebase_sync.adapters import _compat
from firebase_sync.testing import (  # noqa: F401 -- fixtures
    EmulatorHosts,
    async_firestore_client,
    firestore_client,
    rtdb_app,
)


@pytest.fixture
def emulators(
    request: pytest.FixtureRequest,
    emulators: EmulatorHosts,
    firestore_target: str,
    monkeypatch: pytest.MonkeyPatch,
) -> EmulatorHosts:
    """The plugin's emulators, with Firestore swapped per ``firestore_target`` (side by side
    for the Firestore tests, see ``side_by_side``)."""
    return hosts_for(request, emulators, firestore_target, monkeypatch)


@pytest.fixture
async def fs_client(emulators: EmulatorHosts) -> AsyncIterator[Any]:  # noqa: F811
    """An AsyncClient on an emptied database (closed on the test's own loop)."""
    from google.cloud import firestore

    from firebase_sync.testing import clear_firestore

    clear_firestore(emulators)
    client = firestore.AsyncClient(project=emulators.project)
    yield client
    await _compat.close_channel(client)
