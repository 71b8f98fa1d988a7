"""The pytest plugin's fixtures, as a user's test suite would use them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from firebase_sync import ChangeStream, Document, Store
from firebase_sync.testing import (
    EmulatorHosts,
    NotAnEmulatorError,
    eventually,
    verify_database_emulator,
    verify_firestore_emulator,
)


class Product(Document):
    name: str
    price: float


def test_emulators_fixture_exports_the_sdk_variables(emulators: EmulatorHosts) -> None:
    assert os.environ["FIREBASE_DATABASE_EMULATOR_HOST"] == emulators.database_host
    assert os.environ["FIRESTORE_EMULATOR_HOST"] == emulators.firestore_host
    assert emulators.project.startswith("demo-")
    verify_database_emulator(emulators.database_host)
    verify_firestore_emulator(emulators.firestore_host)


@pytest.mark.parametrize(
    "host", ["firestore.googleapis.com:443", "demo.firebaseio.com:443", "http://127.0.0.1:1"]
)
def test_fixtures_refuse_production_hosts(host: str) -> None:
    with pytest.raises(NotAnEmulatorError):
        verify_firestore_emulator(host)
    with pytest.raises(NotAnEmulatorError):
        verify_database_emulator(host)


def test_fixtures_refuse_a_server_that_is_not_an_emulator(emulators: EmulatorHosts) -> None:
    # The RTDB emulator answers GET / with a 404, not with the Firestore emulator's "Ok".
    with pytest.raises(NotAnEmulatorError, match="no Firestore emulator answers"):
        verify_firestore_emulator(emulators.database_host)


async def test_repositories_store_and_eventually(
    firestore_repository: Any, realtime_repository: Any, store: Store[Product]
) -> None:
    catalog = firestore_repository(Product, "products")
    live = realtime_repository(Product, "/products")
    await catalog.set(Product(id="a", name="Pen", price=1))
    await live.set(Product(id="b", name="Ink", price=2))
    async with ChangeStream(catalog.listener(), live.listener(), store=store):
        await store.wait_for(lambda s: len(s) == 2, timeout=10)
        await live.update("b", {"price": 3})
        await eventually(lambda: store.get("b") == Product(id="b", name="Ink", price=3))
    with pytest.raises(TimeoutError):
        await eventually(lambda: False, timeout=0.05)


async def test_each_test_starts_with_empty_databases(
    firestore_repository: Any, realtime_repository: Any
) -> None:
    assert await firestore_repository(Product, "products").all() == []
    assert await realtime_repository(Product, "/products").all() == []


def test_without_pytest_asyncio_the_async_fixtures_say_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "test_mine.py").write_text(
        "def test_needs_async(firestore_repository):\n    pass\n\n"
        "def test_sync_fixtures_still_work(firestore_client):\n"
        "    assert firestore_client.collection('c').document('d').get().exists is False\n"
    )
    # As if pytest-asyncio were not installed: no plugin autoload (ours named with -p), and
    # importing it fails.
    script = (
        "import sys\n"
        "class Missing:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'pytest_asyncio':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Missing())\n"
        "import pytest\n"
        "sys.exit(pytest.main(['-q', '-p', 'firebase_sync.testing', '-p', 'no:cacheprovider']))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("EMULATOR_HOST")}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "1 passed, 1 error" in done.stdout, done.stdout + done.stderr
    assert "'firestore_repository' is an async fixture and needs pytest-asyncio" in done.stdout
    assert "pip install 'firebase-sync[test]'" in done.stdout
