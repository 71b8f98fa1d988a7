"""The emulator's lean import of the message classes shares them with the client, either order."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

EMULATOR_FIRST = """
import sys
import firebase_sync_emulator.firestore.server
from firebase_sync_emulator.firestore import protos
assert "google.cloud.firestore_v1" not in sys.modules  # the client was not loaded
from google.cloud import firestore, firestore_v1
from google.cloud.firestore_v1.types import document
assert firestore_v1.types.document is protos.document is document
assert document.Document.pb() is protos.document.Document.pb()
client = firestore.Client(project="demo-x")
client.collection("c").document("d")
print("ok")
"""

CLIENT_FIRST = """
from google.cloud import firestore
from google.cloud.firestore_v1.types import write
import firebase_sync_emulator.firestore.server
from firebase_sync_emulator.firestore import protos
assert protos.write is write
firestore.Client(project="demo-x")
print("ok")
"""


@pytest.mark.parametrize("script", [EMULATOR_FIRST, CLIENT_FIRST], ids=["emulator", "client"])
def test_one_copy_of_the_messages_whatever_is_imported_first(script: str) -> None:
    env = {**os.environ, "FIRESTORE_EMULATOR_HOST": "127.0.0.1:9"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
