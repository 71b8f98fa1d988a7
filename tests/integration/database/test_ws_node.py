"""The npm ``firebase`` and ``firebase-admin`` SDKs over the WebSocket protocol.

Runs the scenarios of ``tests/node/rtdb_wire.mjs`` against a Database emulator of this module
(running on its own thread, so a scenario can have it restarted and the test can read its
statistics). Without node, or when ``npm ci`` cannot install the pinned packages, the tests
skip saying why.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from node_runner import NODE_DIR, ensure_packages

from firebase_sync_emulator.database import DatabaseEmulator

SCRIPT = NODE_DIR / "rtdb_wire.mjs"
NS = "demo-ws-default-rtdb"
RUN_TIMEOUT_S = 180


class ThreadedDatabase:
    """A ``DatabaseEmulator`` on its own event loop thread, restartable on the same port."""

    def __init__(self) -> None:
        self.service = DatabaseEmulator(project="demo-ws", keepalive_interval=0.25)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.port = self._call(self.service.start("127.0.0.1", 0))

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def restart(self) -> None:
        """Stop (every connection is closed) and serve again on the same port, same data."""
        self._call(self.service.stop())
        self._call(self.service.start("127.0.0.1", self.port))

    def close(self) -> None:
        self._call(self.service.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def database() -> Iterator[ThreadedDatabase]:
    ensure_packages("firebase", "firebase-admin")
    running = ThreadedDatabase()
    try:
        yield running
    finally:
        running.close()


def node_env(database: ThreadedDatabase) -> dict[str, str]:
    return {**os.environ, "RTDB_HOST": database.host, "RTDB_NS": NS}


def run_scenario(database: ThreadedDatabase, name: str) -> str:
    done = subprocess.run(
        ["node", str(SCRIPT), name],
        cwd=NODE_DIR,
        env=node_env(database),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("ok "), done.stdout
    return done.stdout


@pytest.mark.parametrize(
    "scenario", ["crud", "queries", "transactions", "ondisconnect", "large", "rut"]
)
def test_node_sdks(database: ThreadedDatabase, scenario: str) -> None:
    run_scenario(database, scenario)


def test_node_transaction_hash_matches_on_first_try(database: ThreadedDatabase) -> None:
    before = database.service.ws.statuses.get("datastale", 0)
    run_scenario(database, "hash")
    # The script checks each transaction ran its update once; the server never saw a mismatch.
    assert database.service.ws.statuses.get("datastale", 0) == before


def test_node_clients_reconnect_after_restart(database: ThreadedDatabase) -> None:
    with subprocess.Popen(
        ["node", str(SCRIPT), "restart"],
        cwd=NODE_DIR,
        env=node_env(database),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None and child.stdin is not None
        try:
            line = child.stdout.readline()
            assert line.strip() == "RESTART", line + child.stderr.read()  # type: ignore[union-attr]
            database.restart()
            child.stdin.write("GO\n")
            child.stdin.flush()
            out, err = child.communicate(timeout=RUN_TIMEOUT_S)
        finally:
            if child.poll() is None:
                child.kill()
        assert child.returncode == 0, out + err
        assert out.strip().splitlines()[-1].startswith("ok "), out


async def test_python_and_node_listeners_end_in_the_same_state(database: ThreadedDatabase) -> None:
    """WebSocket and REST writes interleaved; SSE, kit and Node listeners agree."""
    import firebase_admin
    from firebase_admin import db

    from firebase_sync import Document, Store
    from firebase_sync.adapters.realtime import RealtimeRepository

    class Item(Document):
        name: str
        price: float

    app = firebase_admin.initialize_app(
        options={"databaseURL": f"http://{database.host}?ns={NS}", "projectId": "demo-ws"},
        name=f"ws-{uuid.uuid4().hex}",
    )
    holder: dict[str, Any] = {"tree": None}
    lock = threading.Lock()

    def on_event(event: Any) -> None:
        with lock:
            holder["tree"] = _apply(holder["tree"], event.path, event.data, event.event_type)

    try:
        await asyncio.to_thread(db.reference("/cross", app=app).delete)
        registration = await asyncio.to_thread(
            db.reference("/cross/items", app=app).listen, on_event
        )
        store: Store[Item] = Store()
        try:
            async with RealtimeRepository(Item, "/cross/items", app=app) as repo:
                async with repo.watch(store=store):
                    out = await asyncio.to_thread(run_scenario, database, "cross")
                    [state_line] = [ln for ln in out.splitlines() if ln.startswith("STATE ")]
                    node_state = json.loads(state_line[len("STATE ") :])
                    assert len(node_state) == 5
                    expected = {key: Item(id=key, **value) for key, value in node_state.items()}
                    await store.wait_for(
                        lambda s: {item.id: item for item in s.values()} == expected, timeout=10
                    )
                    for _ in range(200):
                        with lock:
                            if holder["tree"] == node_state:
                                break
                        await asyncio.sleep(0.05)
                    with lock:
                        assert holder["tree"] == node_state
        finally:
            await asyncio.to_thread(registration.close)
    finally:
        firebase_admin.delete_app(app)


def _apply(tree: Any, path: str, data: Any, kind: str) -> Any:
    """Apply one firebase-admin ``put`` / ``patch`` event to a plain JSON tree."""
    keys = [key for key in path.split("/") if key]
    if kind == "patch":
        for name, value in data.items():
            tree = _apply(tree, "/".join([*keys, name]), value, "put")
        return tree
    if not keys:
        return data
    root = tree if isinstance(tree, dict) else {}
    node = root
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    if data is None:
        node.pop(keys[-1], None)
    else:
        node[keys[-1]] = data
    return _prune(root)


def _prune(tree: Any) -> Any:
    if not isinstance(tree, dict):
        return tree
    pruned = {k: _prune(v) for k, v in tree.items()}
    pruned = {k: v for k, v in pruned.items() if v is not None and v != {}}
    return pruned or None
