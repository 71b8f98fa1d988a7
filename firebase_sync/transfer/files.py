"""The export directory on disk: JSON-lines files, the manifest, the atomic swap.

An export is built in a hidden sibling directory (``.NAME.tmp-XXXX``); the sources a previous
export in ``NAME`` held and this one does not write again are copied over; every file is fsynced,
the manifest is written last, and only then does the new directory take the old one's place
(two renames: the old export is moved aside, the new one moved in, the old one removed). A
crash at any point leaves either the previous export or the complete new one under ``NAME``
(at worst with a stray ``.NAME.*`` sibling to clean up), never a partial export. Import refuses
a directory without a manifest, and checks each file's size and SHA-256 before writing anything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Literal

from ..errors import FirebaseSyncError

__all__ = [
    "FORMAT",
    "MANIFEST",
    "VERSION",
    "Entry",
    "ExportDirectory",
    "LinesWriter",
    "Manifest",
    "TransferError",
    "read_lines",
    "read_manifest",
    "verify",
]

FORMAT = "firebase-sync-transfer"
VERSION = 1
MANIFEST = "manifest.json"
Kind = Literal["firestore", "rtdb"]


class TransferError(FirebaseSyncError):
    """An export directory is missing, incomplete, corrupt or of another format."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One exported source: a Firestore collection (with its subcollections) or an RTDB path."""

    kind: Kind
    path: str
    file: str
    count: int
    bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Manifest:
    format: str
    version: int
    created: str
    entries: tuple[Entry, ...]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["entries"] = [asdict(entry) for entry in self.entries]
        return data


class LinesWriter:
    """Appends JSON lines to one file, counting them and hashing what is written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.bytes = 0
        self._hash = hashlib.sha256()
        self._file: BinaryIO = open(path, "wb")  # noqa: SIM115 -- closed by close()

    def write(self, record: Any) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        self._file.write(line)
        self._hash.update(line)
        self.count += 1
        self.bytes += len(line)

    def close(self) -> str:
        """Flush and fsync; return the SHA-256 of the content."""
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        return self._hash.hexdigest()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:60] or "root"


class ExportDirectory:
    """Context manager building an export next to ``target`` and swapping it in on success."""

    def __init__(self, target: Path) -> None:
        self.target = Path(target)
        if self.target.exists() and not _replaceable(self.target):
            raise TransferError(
                f"{self.target} exists and is not an export (no {MANIFEST}); refusing to replace it"
            )
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.staging = self.target.parent / f".{self.target.name}.tmp-{uuid.uuid4().hex[:8]}"
        self.entries: list[Entry] = []

    def __enter__(self) -> ExportDirectory:
        self.staging.mkdir()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self._commit()
        else:
            shutil.rmtree(self.staging, ignore_errors=True)

    def open(self, kind: Kind, path: str) -> LinesWriter:
        """A writer for one source's file."""
        name = f"{len(self.entries) + 1:04d}-{kind}-{_slug(path)}.jsonl"
        return LinesWriter(self.staging / name)

    def add(self, kind: Kind, path: str, writer: LinesWriter) -> Entry:
        """Close ``writer`` and record its file in the manifest."""
        digest = writer.close()
        entry = Entry(kind, path, writer.path.name, writer.count, writer.bytes, digest)
        self.entries.append(entry)
        return entry

    def _carry_over(self) -> None:
        """Keep the previous export's sources that this one did not write again."""
        if not (self.target / MANIFEST).is_file():
            return
        try:
            previous = read_manifest(self.target)
        except TransferError:
            return
        written = {(entry.kind, entry.path) for entry in self.entries}
        for old in previous.entries:
            if (old.kind, old.path) in written:
                continue
            name = f"{len(self.entries) + 1:04d}-{old.kind}-{_slug(old.path)}.jsonl"
            shutil.copyfile(self.target / old.file, self.staging / name)
            self.entries.append(Entry(old.kind, old.path, name, old.count, old.bytes, old.sha256))

    def _commit(self) -> None:
        self._carry_over()
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        manifest = Manifest(FORMAT, VERSION, created, tuple(self.entries))
        text = json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n"
        with open(self.staging / MANIFEST, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        _fsync_dir(self.staging)
        aside = None
        if self.target.exists():
            aside = self.target.parent / f".{self.target.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(self.target, aside)
        os.rename(self.staging, self.target)
        _fsync_dir(self.target.parent)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)


def _replaceable(path: Path) -> bool:
    if not path.is_dir():
        return False
    return (path / MANIFEST).is_file() or not any(path.iterdir())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_manifest(directory: Path) -> Manifest:
    """The manifest of an export; raises :class:`TransferError` if absent or foreign."""
    path = Path(directory) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TransferError(f"{directory} holds no complete export (no {MANIFEST})") from exc
    except (OSError, ValueError) as exc:
        raise TransferError(f"unreadable manifest {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise TransferError(f"{path} is not a {FORMAT} manifest")
    if data.get("version") != VERSION:
        raise TransferError(f"{path}: unsupported version {data.get('version')!r}")
    try:
        entries = tuple(Entry(**entry) for entry in data["entries"])
    except (KeyError, TypeError) as exc:
        raise TransferError(f"{path}: malformed entries: {exc}") from exc
    return Manifest(FORMAT, VERSION, str(data.get("created", "")), entries)


def verify(directory: Path, entry: Entry) -> None:
    """Check ``entry``'s file against its recorded size and SHA-256 (streaming)."""
    digest = hashlib.sha256()
    size = 0
    try:
        with open(Path(directory) / entry.file, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise TransferError(f"cannot read {entry.file}: {exc}") from exc
    if size != entry.bytes or digest.hexdigest() != entry.sha256:
        raise TransferError(f"{entry.file} does not match the manifest (corrupt or altered)")


def read_lines(directory: Path, entry: Entry) -> Iterator[Any]:
    """The records of ``entry``'s file, one at a time."""
    with open(Path(directory) / entry.file, "rb") as handle:
        for number, line in enumerate(handle, 1):
            try:
                yield json.loads(line)
            except ValueError as exc:
                raise TransferError(f"{entry.file}:{number}: not JSON: {exc}") from exc
