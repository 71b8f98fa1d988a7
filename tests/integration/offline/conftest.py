"""Fixtures for the offline tests: a repository of each database behind a fault proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from offline_helpers import Product, Rig

from firebase_sync.adapters import _compat
from firebase_sync.testing import (  # noqa: F401 -- fixtures
    EmulatorHosts,
    emulators,
    rtdb_app,
)


@pytest.fixture(params=["firestore", "rtdb"])
async def rig(
    request: pytest.FixtureRequest,
    emulators: EmulatorHosts,  # noqa: F811
    rtdb_app: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Rig]:
    from google.cloud import firestore

    from emulator.faults import FaultProxy
    from firebase_sync import FirestoreRepository, RealtimeRepository
    from firebase_sync.testing import clear_firestore

    host = emulators.firestore_host if request.param == "firestore" else emulators.database_host
    name, port = host.rsplit(":", 1)
    proxy = FaultProxy(name, int(port))
    await proxy.start()
    made: list[Any] = []
    if request.param == "firestore":
        clear_firestore(emulators)
        direct = firestore.AsyncClient(project=emulators.project)
        writer: Any = FirestoreRepository(Product, "products", client=direct)
        # The emulator variable wins over api_endpoint: point it at the proxy for our clients.
        monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", proxy.address)
        yield Rig("firestore", writer, proxy, emulators, made)
        for repo in [writer, *made]:
            await _compat.close_channel(repo.client)
    else:
        async with RealtimeRepository(Product, "/products", app=rtdb_app) as writer:
            yield Rig("rtdb", writer, proxy, emulators, made)
        for repo in made:
            await repo.aclose()
    await proxy.stop()
