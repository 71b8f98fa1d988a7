"""The npm ``firebase`` web SDK and ``firebase-admin`` in Node against the emulator.

``firebase/firestore`` writes through the ``Write`` stream and reads through Listen;
``firebase/firestore/lite`` speaks the REST API v1; ``firebase-admin`` rides on
``@google-cloud/firestore``. Each script checks every answer and exits non-zero on a mismatch.
"""

from __future__ import annotations

import re
import uuid

import pytest
from node_runner import ensure_packages, run_script

from firebase_sync.testing import EmulatorHosts, clear_firestore


@pytest.mark.parametrize("sdk", ["full", "lite"])
def test_firebase_web_sdk(emulators: EmulatorHosts, sdk: str) -> None:
    ensure_packages("firebase")
    clear_firestore(emulators)
    done = run_script("firebase_web.mjs", emulators, FS_SDK=sdk, FS_TEST_ROOT="web")
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.match(rf"ok (\d+) checks \({sdk}\)", done.stdout)
    assert found, done.stdout
    assert int(found.group(1)) >= (45 if sdk == "full" else 38), done.stdout


def test_firebase_admin_sdk(emulators: EmulatorHosts) -> None:
    ensure_packages("firebase-admin")
    clear_firestore(emulators)
    done = run_script("firebase_admin.mjs", emulators, FS_TEST_ROOT="admin")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.match(r"ok \d+ checks", done.stdout), done.stdout


def test_rules_unit_testing_writes(emulators: EmulatorHosts) -> None:
    ensure_packages("@firebase/rules-unit-testing", "firebase")
    # A project of its own: the script installs security rules for the project it uses.
    done = run_script(
        "rules_unit_testing_writes.mjs",
        emulators,
        FS_TEST_ROOT="rut",
        GCLOUD_PROJECT=f"demo-rut-{uuid.uuid4().hex[:8]}",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok 6 checks"), done.stdout
