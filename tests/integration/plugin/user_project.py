"""A user's project, written to a temporary directory: its tests use the plugin as documented.

``write_project`` lays it out; the tests in ``test_user_project.py`` install firebase-sync from
this checkout into a fresh virtual environment and run the project's own tests there.
"""

# rename_emulator_imports: leave alone (the project's own `emulator` module is not ours)

from __future__ import annotations

import socket
from pathlib import Path

PYPROJECT = """\
[project]
name = "shop"
version = "0"
requires-python = ">=3.11"

[tool.pytest.ini_options]
addopts = "-p no:cacheprovider"
filterwarnings = [
    "error",
    # pytest-asyncio's own notice to every project that leaves its loop scope option unset
    "ignore:The configuration option:pytest.PytestDeprecationWarning",
]

[tool.mypy]
strict = true
files = ["shop.py", "tests"]
"""

# The app under test: typed models and one function that uses the kit.
SHOP = '''\
"""The user's app."""

from __future__ import annotations

from firebase_sync import Document, FirestoreRepository, RealtimeRepository


class Product(Document):
    """A product in the catalog."""

    name: str
    price: float


async def reprice(
    catalog: FirestoreRepository[Product],
    prices: RealtimeRepository[Product],
    key: str,
    price: float,
) -> Product:
    """Set a product's price in both databases."""
    product = await catalog.get(key)
    assert product is not None
    updated = product.model_copy(update={"price": price})
    await catalog.set(updated)
    await prices.set(updated)
    return updated
'''

# Tests exactly as the README shows them: strict-mode markers, typed fixtures, `eventually`.
TESTS = '''\
"""The user's tests."""

from __future__ import annotations

import asyncio
import os
from typing import Any, assert_type

import pytest
from google.cloud import firestore

from firebase_sync import ChangeStream, FirestoreRepository, RealtimeRepository, Store
from firebase_sync.testing import (
    EmulatorHosts,
    FirestoreRepositoryFactory,
    RealtimeRepositoryFactory,
    eventually,
    xdist_worker,
)
from shop import Product, reprice


@pytest.mark.asyncio
async def test_reprice_reaches_both_databases_and_the_store(
    firestore_repository: FirestoreRepositoryFactory,
    realtime_repository: RealtimeRepositoryFactory,
    store: Store[Any],
) -> None:
    catalog = firestore_repository(Product, "products")
    prices = realtime_repository(Product, "/products")
    assert_type(catalog, FirestoreRepository[Product])
    assert_type(prices, RealtimeRepository[Product])
    await catalog.set(Product(id="p1", name="Pen", price=1.5))
    async with ChangeStream(catalog.listener(), prices.listener(), store=store):
        await reprice(catalog, prices, "p1", 2.0)
        await eventually(lambda: len(store) == 2)
    assert await prices.get("p1") == Product(id="p1", name="Pen", price=2.0)


@pytest.mark.asyncio
@pytest.mark.parametrize("round_", range(4))
async def test_each_worker_has_its_own_data(
    round_: int,
    firestore_repository: FirestoreRepositoryFactory,
    realtime_repository: RealtimeRepositoryFactory,
) -> None:
    # Every test starts by clearing "its" database; a worker sharing it would lose data here.
    catalog = firestore_repository(Product, "products")
    prices = realtime_repository(Product, "/products")
    mine = sorted(f"r{round_}-{i}" for i in range(6))
    for _ in range(3):
        for key in mine:
            await catalog.set(Product(id=key, name="x", price=round_))
            await prices.set(Product(id=key, name="x", price=round_))
        await asyncio.sleep(0.05)
        assert sorted(p.id for p in await catalog.all()) == mine
        assert sorted(p.id for p in await prices.all()) == mine


def test_sync_client_and_project(
    emulators: EmulatorHosts, firestore_client: firestore.Client
) -> None:
    worker = xdist_worker()
    expected = f"-{worker}" if worker else ""
    assert emulators.project.endswith(expected)
    assert os.environ["GCLOUD_PROJECT"] == emulators.project
    firestore_client.collection("c").document("d").set({"n": 1})
    snapshot = firestore_client.collection("c").document("d").get()
    assert snapshot.to_dict() == {"n": 1}
'''


#: how many tests a run of the project passes
TEST_COUNT = 6


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def write_project(root: Path) -> Path:
    """Lay the project out under ``root``; its firebase.json names free ports."""
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "shop.py").write_text(SHOP)
    (root / "tests" / "__init__.py").write_text("")
    (root / "tests" / "test_shop.py").write_text(TESTS)
    ports = {name: free_port() for name in ("database", "firestore", "hub")}
    emulators = ", ".join(f'"{name}": {{"port": {port}}}' for name, port in ports.items())
    (root / "firebase.json").write_text(f'{{"emulators": {{{emulators}}}}}\n')
    return root
