"""Export and import of Firestore data in the official emulator's format.

An export is what the official emulator writes for firebase-tools (and what a managed
production export holds), so either emulator imports the other's files::

    firestore_export/
      firestore_export.overall_export_metadata
      all_namespaces/all_kinds/all_namespaces_all_kinds.export_metadata
      all_namespaces/all_kinds/output-0          one entity per document

The encoding is in :mod:`emulator.firestore.datastore_format`. Every document of every project
and database goes into the one output file: each entity's key names its project (and database,
when not the default), as the official format does. Timestamps keep microseconds, Firestore's
own precision. Create and update times are not part of the format: we keep them in a side
file, ``firebase-sync-times.jsonl`` (``[name, create_us, update_us]`` per line), which the
official emulator ignores; documents it does not list get the import time. Import also reads
our earlier format (``manifest.json`` plus one JSON-lines file per database) and a bare
directory holding an ``*.overall_export_metadata`` file.

Every file is written to a temporary name, fsynced and renamed into place; the metadata files
are written after the data, and the caller swaps the whole directory in.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from emulator.errors import invalid
from emulator.export import write_file_atomically

from .store import DbKey, Store, from_timestamp, to_timestamp
from .values import Document

DIRNAME = "firestore_export"
EXPORT_NAME = "firestore_export"
METADATA_FILE = f"{DIRNAME}/{EXPORT_NAME}.overall_export_metadata"
VERSION = "firebase-sync/2"
TIMES_FILE = "firebase-sync-times.jsonl"
#: our first format, still read.
LEGACY_FORMAT = "firebase-sync-firestore"


def export_store(store: Store, directory: Path) -> dict[str, object]:
    """Write every database of ``store`` under ``directory``; return the metadata entry."""
    from . import datastore_format as fmt  # only when exporting: a cold start skips it

    root = Path(directory) / DIRNAME
    started = time.time_ns() // 1000
    with store.lock:
        docs = [doc for db in store.databases() for _, doc in sorted(db.docs.items())]
    counted = {"bytes": 0}

    def chunks() -> Iterator[bytes]:
        for chunk in fmt.encode_records(fmt.encode_document(doc) for doc in docs):
            counted["bytes"] += len(chunk)
            yield chunk

    output = f"{fmt.OUTPUT_PREFIX}0"
    write_file_atomically(root / fmt.KIND_DIR / output, chunks())
    times = (
        json.dumps(
            [doc.name, from_timestamp(doc.create_time), from_timestamp(doc.update_time)],
            separators=(",", ":"),
        )
        + "\n"
        for doc in docs
    )
    write_file_atomically(root / TIMES_FILE, times)
    finished = time.time_ns() // 1000
    write_file_atomically(
        root / fmt.KIND_DIR / fmt.KIND_METADATA,
        fmt.kind_metadata(EXPORT_NAME, started, finished, [output]),
    )
    write_file_atomically(
        Path(directory) / METADATA_FILE, fmt.overall_metadata(len(docs), counted["bytes"])
    )
    return {"version": VERSION, "path": DIRNAME, "metadata_file": METADATA_FILE}


def find_overall_metadata(directory: Path) -> Path | None:
    """The ``*.overall_export_metadata`` file directly in ``directory``, if any."""
    found = sorted(Path(directory).glob("*.overall_export_metadata"))
    return found[0] if found else None


def read_official(metadata_file: Path) -> dict[DbKey, list[Any]]:
    """Every document of an official-format export, by (project, database)."""
    from . import datastore_format as fmt  # only when importing: a cold start skips it

    try:
        overall = metadata_file.read_bytes()
        databases: dict[DbKey, list[Any]] = defaultdict(list)
        for relative in fmt.kind_metadata_paths(overall):
            kind_file = metadata_file.parent / relative
            for output in fmt.output_files(kind_file.read_bytes()):
                data = (kind_file.parent / output).read_bytes()
                for record in fmt.decode_records(data):
                    doc = fmt.decode_document(record)
                    parts = doc.name.split("/")
                    databases[(parts[1], parts[3])].append(doc)
    except OSError as exc:
        raise invalid(f"cannot read the Firestore export at {metadata_file}: {exc}") from exc
    return databases


def _read_legacy(root: Path) -> dict[DbKey, list[Any]]:
    from google.protobuf import json_format  # only for this old format

    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format") != LEGACY_FORMAT:
        raise invalid(f"unknown Firestore export format {manifest.get('format')!r}")
    databases: dict[DbKey, list[Any]] = {}
    for entry in manifest["databases"]:
        docs = []
        with (root / entry["file"]).open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    doc = Document()
                    json_format.ParseDict(json.loads(line), doc)
                    docs.append(doc)
        databases[(entry["project"], entry["database"])] = docs
    return databases


def import_store(
    store: Store, directory: Path, metadata: dict[str, object], project: str | None = None
) -> None:
    """Load an export (official format, or our earlier one), replacing the databases it holds.

    An official-format export whose documents all belong to one other project (a production
    export, a teammate's seed) is loaded into ``project``, as the official emulator lets any
    project read its seed data. Raises ``ServiceError`` (invalid argument) when the files
    are missing or malformed.
    """
    directory = Path(directory)
    metadata_file = metadata.get("metadata_file")
    root = directory / str(metadata.get("path") or DIRNAME)
    if isinstance(metadata_file, str):
        found: Path | None = directory / metadata_file
    elif (root / "manifest.json").is_file():
        found = None
    else:
        found = find_overall_metadata(root)
        if found is None:
            raise invalid(f"no Firestore export at {root}")
    if found is None:
        databases = _read_legacy(root)
    else:
        databases = read_official(found)
        sources = {key[0] for key in databases}
        if project is not None and len(sources) == 1 and project not in sources:
            databases = _rehome(databases, sources.pop(), project)
        times = _read_times(found.parent / TIMES_FILE)
        for docs in databases.values():
            for doc in docs:
                if doc.name in times:
                    to_timestamp(times[doc.name][0], doc.create_time)
                    to_timestamp(times[doc.name][1], doc.update_time)
    now = store.clock.tick()
    for key, docs in databases.items():
        for doc in docs:
            if not doc.HasField("update_time"):
                to_timestamp(now, doc.create_time)
                to_timestamp(now, doc.update_time)
        store.load(key, docs)


def _rehome(databases: dict[DbKey, list[Any]], old: str, new: str) -> dict[DbKey, list[Any]]:
    """The documents of project ``old`` as documents of ``new`` (references included)."""
    prefix, replacement = f"projects/{old}/", f"projects/{new}/"

    def fix(value: Any) -> None:
        kind = value.WhichOneof("value_type")
        if kind == "reference_value" and value.reference_value.startswith(prefix):
            value.reference_value = replacement + value.reference_value[len(prefix) :]
        elif kind == "map_value":
            for inner in value.map_value.fields.values():
                fix(inner)
        elif kind == "array_value":
            for inner in value.array_value.values:
                fix(inner)

    moved: dict[DbKey, list[Any]] = {}
    for (_, database), docs in databases.items():
        for doc in docs:
            doc.name = replacement + doc.name[len(prefix) :]
            for value in doc.fields.values():
                fix(value)
        moved[(new, database)] = docs
    return moved


def _read_times(path: Path) -> dict[str, tuple[int, int]]:
    """Create and update times by document name, from our side file (absent: none)."""
    times: dict[str, tuple[int, int]] = {}
    try:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                name, created, updated = json.loads(line)
                times[name] = (int(created), int(updated))
    except FileNotFoundError:
        pass
    except (OSError, ValueError, TypeError) as exc:
        raise invalid(f"unreadable {path}: {exc}") from exc
    return times
