"""The sources import the embedded emulator by its installed name, never by its folder's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_no_source_imports_the_folder_name() -> None:
    # `emulator` is the repository folder; installed, it is `firebase_sync_emulator`.
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "rename_emulator_imports.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, "run tools/rename_emulator_imports.py on:\n" + done.stdout


def test_the_emulator_package_imports_itself_relatively() -> None:
    import firebase_sync_emulator.suite

    assert firebase_sync_emulator.suite.__name__ == "firebase_sync_emulator.suite"
    assert "emulator.suite" not in sys.modules  # no second copy under the folder's name
