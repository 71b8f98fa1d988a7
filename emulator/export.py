"""Export and import directories in the firebase-tools layout, written atomically.

A directory holds ``firebase-export-metadata.json`` plus one sub-folder per service. An export
is written into a sibling temporary directory and swapped in only when complete, so a crash
mid-export leaves the previous export intact; if the crash falls between the two renames of
the swap, the previous export is still whole under ``<dir>.previous`` and import finds it there.
Sources the previous export held and this one does not write (an emulator not running now,
or one firebase-tools exported: auth, storage) are carried over, never silently dropped.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

METADATA_FILE = "firebase-export-metadata.json"
EXPORT_FORMAT_VERSION = "firebase-sync/1"


def write_file_atomically(path: Path, chunks: bytes | str | Iterable[str | bytes]) -> None:
    """Write ``chunks`` to ``path`` through a fsync'd temporary file and an atomic rename.

    ``chunks`` is the whole content (bytes or text) or an iterable of text or byte pieces,
    written as they come so a large export never sits in memory whole. The directory is
    fsync'd too.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(chunks, bytes):
                handle.write(chunks)
            elif isinstance(chunks, str):
                handle.write(chunks.encode("utf-8"))
            else:
                for piece in chunks:
                    handle.write(piece if isinstance(piece, bytes) else piece.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def fsync_directory(path: Path) -> None:
    """Make renames inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def export_directory(
    target: Path, exporters: Mapping[str, Callable[[Path], dict[str, object]]]
) -> None:
    """Run each service's exporter into a fresh directory, then swap it in for ``target``."""
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.exporting-"))
    try:
        metadata: dict[str, object] = {"version": EXPORT_FORMAT_VERSION}
        for name, export in exporters.items():
            metadata[name] = export(staging)
        _carry_over(target, staging, metadata)
        write_file_atomically(
            staging / METADATA_FILE, json.dumps(metadata, indent=2).encode("utf-8")
        )
        fsync_directory(staging)
        previous = target.with_name(target.name + ".previous")
        if previous.exists():
            shutil.rmtree(previous)
        if target.exists():
            os.replace(target, previous)
        os.replace(staging, target)
        fsync_directory(target.parent)
        if previous.exists():
            shutil.rmtree(previous)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _carry_over(previous: Path, staging: Path, metadata: dict[str, object]) -> None:
    """Copy into ``staging`` the sources of the export at ``previous`` not written anew."""
    try:
        _, old = read_export_metadata(previous)
    except (FileNotFoundError, ValueError):
        return
    for name, entry in old.items():
        if name in metadata or not isinstance(entry, dict):
            continue
        folder = entry.get("path")
        if isinstance(folder, str) and folder and not Path(folder).is_absolute():
            source = previous / folder
            if source.is_dir() and ".." not in Path(folder).parts:
                shutil.copytree(source, staging / folder, dirs_exist_ok=True)
        metadata[name] = entry


def read_export_metadata(source: Path) -> tuple[Path, dict[str, object]]:
    """Locate a complete export at ``source`` (or its ``.previous`` twin) and read its metadata.

    A directory holding only a Firestore export (``*.overall_export_metadata``, as a managed
    export or the official emulator writes it) reads as an export of Firestore alone.
    """
    if source.is_dir() and not (source / METADATA_FILE).is_file():
        bare = sorted(source.glob("*.overall_export_metadata"))
        if bare:
            return source, {
                "firestore": {"version": "prod", "path": ".", "metadata_file": bare[0].name}
            }
    for candidate in (source, source.with_name(source.name + ".previous")):
        meta = candidate / METADATA_FILE
        if meta.is_file():
            try:
                data = json.loads(meta.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{meta} is not valid JSON: {exc}") from exc
            if not isinstance(data, dict):
                raise ValueError(f"{meta}: expected a JSON object")
            return candidate, data
    raise FileNotFoundError(f"no export found at {source} (missing {METADATA_FILE})")
