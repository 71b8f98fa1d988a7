"""``@firebase/rules-unit-testing`` (npm) with real rules on both databases.

The script ``tests/node/rules_unit_testing_rules.mjs`` runs ``assertSucceeds`` / ``assertFails``
for users with claims and for nobody, ``withSecurityRulesDisabled``, ``clearFirestore`` and
``clearDatabase``. Its Firestore half runs against our emulator and, where installed, the
official one (the Realtime Database is ours in both runs): the same script passing on both
means both emulators gave every request the same verdict.
"""

from __future__ import annotations

import re
import uuid

import pytest
from node_runner import ensure_packages, run_script

from firebase_sync.testing import EmulatorHosts

#: the number of checks the script makes; fewer means it stopped early
CHECKS = 41


@pytest.mark.parametrize("target", ["ours", "official"])
def test_rules_unit_testing_both_databases(
    emulators: EmulatorHosts, official_firestore: str | None, target: str
) -> None:
    ensure_packages("@firebase/rules-unit-testing", "firebase", "firebase-admin")
    if target == "official":
        if official_firestore is None:
            pytest.skip("the official Firestore emulator is not installed")
        firestore_host = official_firestore
    else:
        firestore_host = emulators.firestore_host
    done = run_script(
        "rules_unit_testing_rules.mjs",
        emulators,
        FIRESTORE_EMULATOR_HOST=firestore_host,
        RTDB_HOST=emulators.database_host,
        GCLOUD_PROJECT=f"demo-rut-rules-{uuid.uuid4().hex[:8]}",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.match(r"ok (\d+) checks", done.stdout)
    assert found and int(found.group(1)) == CHECKS, done.stdout + done.stderr
