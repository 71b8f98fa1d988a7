"""Running the scripts under tests/node against the session's emulator.

``npm ci`` runs once when ``tests/node/node_modules`` is missing; without node, or when the
install fails (no registry), the calling test skips with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from firebase_sync.testing import EmulatorHosts

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
INSTALL_TIMEOUT_S = 300
RUN_TIMEOUT_S = 120


def ensure_packages(*packages: str) -> None:
    """Install the locked Node dependencies once, or skip saying why that is impossible."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    wanted = [NODE_DIR / "node_modules" / p / "package.json" for p in packages]
    if all(p.is_file() for p in wanted):
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("tests/node/node_modules is missing and npm is not installed")
    try:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR)],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm ci in tests/node took over {INSTALL_TIMEOUT_S} s")
    if done.returncode != 0 or not all(p.is_file() for p in wanted):
        pytest.skip(f"npm ci in tests/node failed: {done.stderr.strip()[-500:]}")


def run_script(
    script: str, emulators: EmulatorHosts, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``tests/node/<script>`` against the session's Firestore emulator."""
    full_env = {
        **os.environ,
        "FIRESTORE_EMULATOR_HOST": emulators.firestore_host,
        "GCLOUD_PROJECT": emulators.project,
        # No GCE metadata probe: the clients have no credentials to look for on the emulator.
        "METADATA_SERVER_DETECTION": "none",
        **env,
    }
    return subprocess.run(
        ["node", str(NODE_DIR / script)],
        cwd=NODE_DIR,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
