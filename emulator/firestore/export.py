"""Export and import of Firestore data in our own documented format.

Layout under the export directory::

    firestore_export/
      manifest.json                  {"format": "firebase-sync-firestore", "version": 1,
                                      "databases": [{"project", "database", "file", "count"}]}
      <project>/<database>.jsonl     one document per line, protobuf JSON mapping of
                                     google.firestore.v1.Document (lossless: int64 as strings,
                                     bytes as base64, NaN/Infinity as strings)

Every file is written to a temporary name, fsynced and renamed into place; the manifest is
written last, so an interrupted export never leaves a manifest pointing at partial data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from emulator.errors import invalid
from emulator.export import write_file_atomically

from .store import Store
from .values import Document

FORMAT = "firebase-sync-firestore"
VERSION = 1
DIRNAME = "firestore_export"


def export_store(store: Store, directory: Path) -> dict[str, object]:
    """Write every database of ``store`` under ``directory``; return the metadata entry."""
    root = Path(directory) / DIRNAME
    entries = []
    with store.lock:
        snapshot = [(db.key, sorted(db.docs.items())) for db in store.databases() if db.docs]
    for (project, database), docs in snapshot:
        rel = f"{project}/{database}.jsonl"
        lines = (json.dumps(json_format.MessageToDict(doc, preserving_proto_field_name=True),
                            ensure_ascii=False, separators=(",", ":")) + "\n"
                 for _, doc in docs)
        write_file_atomically(root / rel, lines)
        entries.append({"project": project, "database": database, "file": rel,
                        "count": len(docs)})
    manifest = {"format": FORMAT, "version": VERSION, "databases": entries}
    write_file_atomically(root / "manifest.json", iter([json.dumps(manifest, indent=2) + "\n"]))
    return {"version": str(VERSION), "path": DIRNAME, "format": FORMAT}


def _read_docs(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                doc = Document()
                json_format.ParseDict(json.loads(line), doc)
                yield doc


def import_store(store: Store, directory: Path, metadata: dict[str, object]) -> None:
    """Load an export written by ``export_store``, replacing the databases it contains."""
    root = Path(directory) / str(metadata.get("path") or DIRNAME)
    manifest_path = root / "manifest.json"
    if not manifest_path.exists():
        raise invalid(f"no Firestore export manifest at {manifest_path}")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise invalid(f"unknown Firestore export format {manifest.get('format')!r}")
    for entry in manifest["databases"]:
        docs = list(_read_docs(root / entry["file"]))
        store.load((entry["project"], entry["database"]), docs)
