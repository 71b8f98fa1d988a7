"""The official Node.js client (``@google-cloud/firestore``) on the same wire.

Runs ``tests/node/firestore_wire.mjs`` against the session's emulator. When
``tests/node/node_modules`` is missing it runs ``npm ci`` first; without node, or when the
install fails (no registry), the test skips with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from firebase_sync.testing import EmulatorHosts, clear_firestore

NODE_DIR = Path(__file__).resolve().parents[2] / "node"
SCRIPT = NODE_DIR / "firestore_wire.mjs"
CLIENT = NODE_DIR / "node_modules" / "@google-cloud" / "firestore" / "package.json"
INSTALL_TIMEOUT_S = 300
RUN_TIMEOUT_S = 120


def _ensure_client() -> None:
    """Install the locked Node dependencies once, or skip saying why that is impossible."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if CLIENT.is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("tests/node/node_modules is missing and npm is not installed")
    try:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR)],
            capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm ci in tests/node took over {INSTALL_TIMEOUT_S} s")
    if done.returncode != 0 or not CLIENT.is_file():
        pytest.skip(f"npm ci in tests/node failed: {done.stderr.strip()[-500:]}")


def test_node_client_set_get_query_transaction_listen(emulators: EmulatorHosts) -> None:
    _ensure_client()
    clear_firestore(emulators)
    env = {
        **os.environ,
        "FIRESTORE_EMULATOR_HOST": emulators.firestore_host,
        "GCLOUD_PROJECT": emulators.project,
        "FS_TEST_ROOT": "node",
        # No GCE metadata probe: the client has no credentials to look for on the emulator.
        "METADATA_SERVER_DETECTION": "none",
    }
    done = subprocess.run(["node", str(SCRIPT)], cwd=NODE_DIR, env=env, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok "), done.stdout
