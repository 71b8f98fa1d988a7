"""`firebase-sync watch` prints the merged change stream of both databases as JSON lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from firebase_sync.testing import EmulatorHosts

CLI = str(Path(sys.executable).with_name("firebase-sync"))


def _read_json_line(process: subprocess.Popen[str]) -> dict[str, Any]:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, f"watch ended early: {process.stderr.read() if process.stderr else ''}"
    record: dict[str, Any] = json.loads(line)
    return record


def test_watch_merges_both_databases(
    emulators: EmulatorHosts, firestore_client: Any, rtdb_app: Any
) -> None:
    from firebase_admin import db

    firestore_client.document("products/p1").set({"name": "Pen", "price": 1.5})
    db.reference("/products/r1", app=rtdb_app).set({"name": "Ink", "price": 7})
    process = subprocess.Popen(
        [
            CLI,
            "watch",
            "firestore:products",
            "rtdb:/products",
            "--jsonl",
            "--max-changes",
            "5",
            "--project",
            emulators.project,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        initial = [_read_json_line(process) for _ in range(4)]
        assert {(r["type"], r["source"]) for r in initial} == {
            ("change", "firestore:products"),
            ("change", "rtdb:/products"),
            ("synced", "firestore:products"),
            ("synced", "rtdb:/products"),
        }
        added = {r["key"]: r for r in initial if r["type"] == "change"}
        assert added["p1"]["kind"] == "added" and added["p1"]["after"]["price"] == 1.5
        assert added["r1"]["after"] == {"name": "Ink", "price": 7}

        firestore_client.document("products/p1").update({"price": 2})
        update = _read_json_line(process)
        assert update["kind"] == "modified" and update["key"] == "p1"
        assert update["before"]["price"] == 1.5 and update["after"]["price"] == 2

        db.reference("/products/r1", app=rtdb_app).delete()
        removal = _read_json_line(process)
        assert removal["kind"] == "removed" and removal["source"] == "rtdb:/products"
        assert removal["before"]["name"] == "Ink" and removal["after"] is None

        firestore_client.document("products/p2").set({"name": "Pad", "price": 3})
        assert _read_json_line(process)["key"] == "p2"
        assert process.wait(timeout=10) == 0  # --max-changes 5 reached
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
