"""The README's main job: `firebase-sync demo` runs on its own embedded emulators and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CLI = str(Path(sys.executable).with_name("firebase-sync"))


def test_demo_runs_end_to_end_and_exits_zero() -> None:
    env = {k: v for k, v in os.environ.items() if "EMULATOR" not in k}
    result = subprocess.run(
        [CLI, "demo", "--delay", "0"], capture_output=True, text=True, timeout=90, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "embedded emulators: database 127.0.0.1:" in out
    step1 = out.split("1. seed", 1)[1].split("2. the worker", 1)[0]
    assert "p1: " in step1 and "(firestore and rtdb)" in step1  # the seed, under its heading
    assert "firestore:products p4 added" in out
    assert "rtdb:/products p1 modified" in out
    assert "rtdb:/products p2 removed" in out
    assert "store matches the backend: 6 entries" in out
