"""The official Node.js client (``@google-cloud/firestore``) on the same wire.

Runs ``tests/node/firestore_wire.mjs`` against the session's emulator (see ``node_runner``).
"""

from __future__ import annotations

from node_runner import ensure_packages, run_script

from firebase_sync.testing import EmulatorHosts, clear_firestore


def test_node_client_set_get_query_transaction_listen(emulators: EmulatorHosts) -> None:
    ensure_packages("@google-cloud/firestore")
    clear_firestore(emulators)
    done = run_script("firestore_wire.mjs", emulators, FS_TEST_ROOT="node")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok "), done.stdout
