"""``firebase-sync export`` / ``import`` against the embedded emulators, through the CLI."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from firebase_sync.cli import main
from firebase_sync.testing import EmulatorHosts, clear_database, clear_firestore

CLI = str(Path(sys.executable).with_name("firebase-sync"))


def cli(emulators: EmulatorHosts, *args: str) -> Result:
    result = CliRunner().invoke(main, [*args, "--project", emulators.project])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def manifest(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / "manifest.json").read_text())
    return data


def snapshot_tree(client: Any, collection: str) -> dict[str, dict[str, Any]]:
    """Every document under ``collection`` (recursively), by path, as the SDK reads it."""
    found: dict[str, dict[str, Any]] = {}

    def walk(coll: Any) -> None:
        for ref in coll.list_documents():
            snapshot = ref.get()
            if snapshot.exists:
                found[ref.path] = snapshot.to_dict()
            for sub in ref.collections():
                walk(sub)

    walk(client.collection(collection))
    return found


def same(a: Any, b: Any) -> bool:
    """Deep equality that also holds for NaN and compares references by path."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "path") and hasattr(b, "path"):
        return bool(a.path == b.path)
    return type(a) is type(b) and bool(a == b)


def seed_firestore(client: Any) -> None:
    from google.api_core.datetime_helpers import DatetimeWithNanoseconds
    from google.cloud.firestore import GeoPoint

    stamp = DatetimeWithNanoseconds(2024, 5, 1, 12, 0, 0, nanosecond=123456789, tzinfo=dt.UTC)
    client.document("products/p1").set(
        {
            "name": "Pen",
            "price": 1.0,  # a double that looks like an integer
            "stock": 2**62,
            "nan": math.nan,
            "inf": -math.inf,
            "when": stamp,
            "blob": b"\x00\xffbytes",
            "where": GeoPoint(48.85, 2.35),
            "maker": client.document("users/u1"),
            "tags": ["a", 1, None, {"deep": True}],
            "looks_tagged": {"$bytes": "not really"},
            "empty": {},
            "nothing": None,
        }
    )
    client.document("products/p1/reviews/r1").set({"stars": 5, "text": "ok"})
    client.document("products/p1/reviews/r1/replies/x1").set({"text": "thanks"})
    # A subcollection under a document that does not exist.
    client.document("products/ghost/reviews/r2").set({"stars": 1})
    for i in range(7):
        client.document(f"products/item{i:02d}").set({"n": i})
    # Neighbours that sort next to the tree but are not part of it.
    client.document("productsX/a").set({"outside": True})
    client.document("users/u1").set({"name": "Ann"})


def test_firestore_round_trip_keeps_subcollections_and_types(
    emulators: EmulatorHosts, firestore_client: Any, tmp_path: Path
) -> None:
    seed_firestore(firestore_client)
    before = snapshot_tree(firestore_client, "products")
    assert len(before) == 11
    out = tmp_path / "export"
    cli(emulators, "export", str(out), "firestore:products", "--page-size", "3", "--quiet")

    [entry] = manifest(out)["entries"]
    assert (entry["kind"], entry["path"], entry["count"]) == ("firestore", "products", 11)
    lines = [json.loads(line) for line in (out / entry["file"]).read_text().splitlines()]
    paths = [line["path"] for line in lines]
    assert paths == sorted(paths, key=lambda p: p.split("/"))
    assert "products/ghost/reviews/r2" in paths and "productsX/a" not in paths
    fields = next(line["fields"] for line in lines if line["path"] == "products/p1")
    assert fields["when"] == {"$timestamp": "2024-05-01T12:00:00.123456789Z"}
    assert fields["maker"] == {"$reference": "users/u1"}
    assert fields["looks_tagged"] == {"$map": {"$bytes": "not really"}}

    clear_firestore(emulators)
    cli(emulators, "import", str(out), "--page-size", "4", "--quiet")
    after = snapshot_tree(firestore_client, "products")
    assert after.keys() == before.keys()
    for path in before:
        assert same(after[path], before[path]), path
    # Lossless down to what the SDK cannot show (nanoseconds): a re-export is identical.
    again = tmp_path / "again"
    cli(emulators, "export", str(again), "firestore:products", "--quiet")
    assert (again / entry["file"]).read_bytes() == (out / entry["file"]).read_bytes()
    assert not firestore_client.document("productsX/a").get().exists


def test_rtdb_round_trip_pages_children_and_leaves(
    emulators: EmulatorHosts, rtdb_app: Any, tmp_path: Path
) -> None:
    from firebase_admin import db

    products = {
        f"p{i:04d}": {"name": f"n{i}", "price": i / 4, "tags": {"a": True}} for i in range(250)
    }
    products.update({"1": {"name": "int key"}, "10": {"name": "ten"}, "-5": {"name": "minus"}})
    db.reference("/products", app=rtdb_app).set(products)
    db.reference("/config/version", app=rtdb_app).set("1.2.3")
    db.reference("/other", app=rtdb_app).set({"kept": 1})
    out = tmp_path / "export"
    cli(
        emulators,
        "export",
        str(out),
        "rtdb:/products",
        "rtdb:/config/version",
        "--page-size",
        "40",
        "-q",
    )

    entries = manifest(out)["entries"]
    assert [(e["kind"], e["path"], e["count"]) for e in entries] == [
        ("rtdb", "/products", 253),
        ("rtdb", "/config/version", 1),
    ]
    keys = [json.loads(line)["key"] for line in (out / entries[0]["file"]).read_text().splitlines()]
    assert keys[:3] == ["-5", "1", "10"] and len(set(keys)) == 253  # Firebase key order

    clear_database(emulators)
    db.reference("/products/stale", app=rtdb_app).set({"name": "kept by a merge import"})
    cli(emulators, "import", str(out), "--page-size", "25", "-q")
    restored = db.reference("/products", app=rtdb_app).get()
    assert restored == {**products, "stale": {"name": "kept by a merge import"}}
    assert db.reference("/config/version", app=rtdb_app).get() == "1.2.3"
    assert db.reference("/other", app=rtdb_app).get() is None


def test_both_databases_in_one_export_and_selective_import(
    emulators: EmulatorHosts, firestore_client: Any, rtdb_app: Any, tmp_path: Path
) -> None:
    from firebase_admin import db

    firestore_client.document("products/a").set({"price": 1})
    db.reference("/products/b", app=rtdb_app).set({"price": 2})
    out = tmp_path / "both"
    # Not a terminal: one summary line per source, on standard error.
    done = subprocess.run(
        [
            CLI,
            "export",
            str(out),
            "firestore:products",
            "rtdb:/products",
            "--project",
            emulators.project,
        ],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "exported firestore:products: 1 record",
        "exported rtdb:/products: 1 record",
    ]
    clear_firestore(emulators)
    clear_database(emulators)
    cli(emulators, "import", str(out), "rtdb:/products", "-q")
    assert db.reference("/products", app=rtdb_app).get() == {"b": {"price": 2}}
    assert not firestore_client.document("products/a").get().exists


def test_export_replaces_only_exports_and_only_when_complete(
    emulators: EmulatorHosts, firestore_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from firebase_sync.errors import Unavailable
    from firebase_sync.transfer import FirestoreTransfer

    firestore_client.document("products/a").set({"v": 1})
    out = tmp_path / "export"
    cli(emulators, "export", str(out), "firestore:products", "-q")
    first = (out / "manifest.json").read_text()

    firestore_client.document("products/b").set({"v": 2})
    original = FirestoreTransfer.documents

    async def failing(self: FirestoreTransfer, collection: str) -> Any:
        async for record in original(self, collection):
            yield record
            raise Unavailable("network gone mid-export")

    monkeypatch.setattr(FirestoreTransfer, "documents", failing)
    result = CliRunner().invoke(main, ["export", str(out), "firestore:products", "-q"])
    assert result.exit_code == 1 and "network gone" in result.output
    assert (out / "manifest.json").read_text() == first  # the previous export stands
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]  # no staging left behind

    monkeypatch.setattr(FirestoreTransfer, "documents", original)
    cli(emulators, "export", str(out), "firestore:products", "-q")
    assert manifest(out)["entries"][0]["count"] == 2

    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    refused = CliRunner().invoke(main, ["export", str(precious), "firestore:products"])
    assert refused.exit_code == 1 and "not an export" in refused.output
    assert (precious / "notes.txt").read_text() == "mine"


def test_import_checks_every_file_before_writing(
    emulators: EmulatorHosts, firestore_client: Any, rtdb_app: Any, tmp_path: Path
) -> None:
    from firebase_admin import db

    firestore_client.document("products/a").set({"v": 1})
    db.reference("/products/b", app=rtdb_app).set({"v": 2})
    out = tmp_path / "export"
    cli(emulators, "export", str(out), "firestore:products", "rtdb:/products", "-q")
    clear_firestore(emulators)
    clear_database(emulators)
    rtdb_file = out / manifest(out)["entries"][1]["file"]
    rtdb_file.write_text(rtdb_file.read_text().replace('"v":2', '"v":3'))

    result = CliRunner().invoke(main, ["import", str(out), "--project", emulators.project])
    assert result.exit_code == 1 and "does not match the manifest" in result.output
    assert not firestore_client.document("products/a").get().exists  # nothing was written
    (out / "manifest.json").unlink()
    result = CliRunner().invoke(main, ["import", str(out), "--project", emulators.project])
    assert result.exit_code == 1 and "no complete export" in result.output


def test_reexport_keeps_sources_not_named_again(
    emulators: EmulatorHosts, firestore_client: Any, rtdb_app: Any, tmp_path: Path
) -> None:
    from firebase_admin import db

    firestore_client.document("products/p1").set({"name": "Pen"})
    db.reference("/prices", app=rtdb_app).set({"p1": 4})
    out = tmp_path / "export"
    cli(emulators, "export", str(out), "firestore:products", "rtdb:/prices", "--quiet")
    firestore_client.document("products/p2").set({"name": "Ink"})
    again = CliRunner().invoke(
        main, ["export", str(out), "firestore:products", "--project", emulators.project]
    )
    assert again.exit_code == 0, again.output
    assert "kept from the previous export: rtdb:/prices" in again.stderr
    entries = {(e["kind"], e["path"]): e["count"] for e in manifest(out)["entries"]}
    assert entries == {("firestore", "products"): 2, ("rtdb", "/prices"): 1}
    db.reference("/prices", app=rtdb_app).delete()
    cli(emulators, "import", str(out), "rtdb:/prices", "--quiet")  # checked against the manifest
    assert db.reference("/prices", app=rtdb_app).get() == {"p1": 4}
