"""Fixtures for the kit's integration tests: the shared plugin's emulators, plus repositories.

The plugin (``firebase_sync.testing``) is normally loaded through its entry point; importing
its fixtures here keeps these tests runnable from a source checkout too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from firebase_sync.adapters import _compat
from firebase_sync.testing import (  # noqa: F401 -- fixtures
    EmulatorHosts,
    async_firestore_client,
    emulators,
    firestore_client,
    rtdb_app,
)


@pytest.fixture
async def fs_client(emulators: EmulatorHosts) -> AsyncIterator[Any]:  # noqa: F811
    """An AsyncClient on an emptied database (closed on the test's own loop)."""
    from google.cloud import firestore

    from firebase_sync.testing import clear_firestore

    clear_firestore(emulators)
    client = firestore.AsyncClient(project=emulators.project)
    yield client
    await _compat.close_channel(client)
