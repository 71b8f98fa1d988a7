"""Whole exports and imports: several sources, one directory, progress reported as it goes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import InvalidArgument
from .files import Entry, ExportDirectory, Kind, read_lines, read_manifest, verify
from .firestore import FirestoreTransfer
from .rtdb import RtdbTransfer

__all__ = ["Reporter", "Source", "export_directory", "import_directory"]


@dataclass(frozen=True, slots=True)
class Source:
    """What to export: a Firestore collection (with its subcollections) or an RTDB path."""

    kind: Kind
    path: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.path}"


class Reporter(Protocol):
    """Where progress goes: ``begin`` returns the callback that counts records."""

    def begin(self, label: str, total: int | None) -> Callable[[int], None]: ...

    def end(self, label: str, count: int) -> None: ...


class _Silent:
    def begin(self, label: str, total: int | None) -> Callable[[int], None]:
        return lambda advance: None

    def end(self, label: str, count: int) -> None:
        pass


def _need(transfer: object, kind: str) -> None:
    if transfer is None:
        raise InvalidArgument(f"no {kind} connection given for a {kind} source")


async def export_directory(
    directory: Path,
    sources: Sequence[Source],
    *,
    firestore: FirestoreTransfer | None = None,
    rtdb: RtdbTransfer | None = None,
    reporter: Reporter | None = None,
) -> list[Entry]:
    """Export ``sources`` into ``directory``, replacing it only once everything is written.

    Raises :class:`~firebase_sync.transfer.files.TransferError` if ``directory`` exists and
    is not an export, and the kit's errors for failed reads (the old export then stays).
    """
    reporter = reporter or _Silent()
    with ExportDirectory(directory) as export:
        for source in sources:
            label = str(source)
            progress = reporter.begin(label, None)
            writer = export.open(source.kind, source.path)
            try:
                if source.kind == "firestore":
                    _need(firestore, "firestore")
                    assert firestore is not None
                    await firestore.export(source.path, writer.write, progress)
                else:
                    _need(rtdb, "rtdb")
                    assert rtdb is not None
                    await rtdb.export(source.path, writer.write, progress)
            finally:
                entry = export.add(source.kind, source.path, writer)
            reporter.end(label, entry.count)
    return export.entries


async def import_directory(
    directory: Path,
    *,
    only: Sequence[Source] = (),
    firestore: FirestoreTransfer | None = None,
    rtdb: RtdbTransfer | None = None,
    reporter: Reporter | None = None,
) -> list[Entry]:
    """Import an export (every entry, or those in ``only``); return the entries imported.

    Every file is checked against the manifest before anything is written.
    """
    reporter = reporter or _Silent()
    manifest = read_manifest(directory)
    wanted = {(s.kind, s.path) for s in only}
    entries = [e for e in manifest.entries if not wanted or (e.kind, e.path) in wanted]
    missing = wanted - {(e.kind, e.path) for e in entries}
    if missing:
        names = ", ".join(f"{kind}:{path}" for kind, path in sorted(missing))
        raise InvalidArgument(f"not in the export: {names}")
    for entry in entries:
        _need(firestore if entry.kind == "firestore" else rtdb, entry.kind)
        verify(directory, entry)
    for entry in entries:
        label = f"{entry.kind}:{entry.path}"
        progress = reporter.begin(label, entry.count)
        records = read_lines(directory, entry)
        if entry.kind == "firestore":
            assert firestore is not None
            count = await firestore.import_(records, progress)
        else:
            assert rtdb is not None
            count = await rtdb.import_(entry.path, records, progress)
        reporter.end(label, count)
    return entries
