"""``firebase-sync export`` / ``import``: collections and RTDB paths to and from JSON files.

The format is described in :mod:`firebase_sync.transfer`. On a terminal a rich progress bar
shows each source; in scripts (standard error not a terminal) one summary line per source is
printed, and ``--quiet`` prints nothing but errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from firebase_sync.adapters import _compat
from firebase_sync.adapters._rtdb_http import RtdbEndpoint
from firebase_sync.cli.data import run_with_deadline
from firebase_sync.cli.options import plural
from firebase_sync.cli.targets import (
    TARGET,
    Connection,
    Target,
    make_connection,
    stream_options,
)
from firebase_sync.transfer import (
    FirestoreTransfer,
    RtdbTransfer,
    Source,
    export_directory,
    import_directory,
)


class _Bars:
    """Progress on a terminal: one rich task per source."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def begin(self, label: str, total: int | None) -> Callable[[int], None]:
        task = self.progress.add_task(label, total=total)
        self.tasks[label] = task
        return lambda advance: self.progress.advance(task, advance)

    def end(self, label: str, count: int) -> None:
        self.progress.update(self.tasks[label], total=count, completed=count)


@dataclass
class _Lines:
    """Progress in scripts: a summary line per source (nothing with ``quiet``)."""

    console: Console
    verb: str
    quiet: bool

    def begin(self, label: str, total: int | None) -> Callable[[int], None]:
        return lambda advance: None

    def end(self, label: str, count: int) -> None:
        if not self.quiet:
            self.console.print(f"{self.verb} {label}: {plural(count, 'record')}", highlight=False)


@asynccontextmanager
async def _reporter(verb: str, quiet: bool) -> AsyncIterator[Any]:
    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        yield _Lines(console, verb, quiet)
        return
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        yield _Bars(progress)


@asynccontextmanager
async def _transfers(
    connection: Connection, kinds: Collection[str], page_size: int
) -> AsyncIterator[tuple[FirestoreTransfer | None, RtdbTransfer | None]]:
    firestore = rtdb = None
    client: Any = None
    endpoint: RtdbEndpoint | None = None
    async with connection.app() as app:
        try:
            if "firestore" in kinds:
                from google.cloud.firestore import AsyncClient

                client = AsyncClient(project=connection.project)
                firestore = FirestoreTransfer(client, page_size=page_size)
            if "rtdb" in kinds:
                endpoint = RtdbEndpoint.from_app(app)
                rtdb = RtdbTransfer(endpoint, page_size=page_size)
            yield firestore, rtdb
        finally:
            if client is not None:
                await _compat.close_channel(client)
            if endpoint is not None:
                await endpoint.aclose()


def _sources(targets: Sequence[Target]) -> list[Source]:
    sources = []
    for target in targets:
        path = target.collection() if target.database == "firestore" else target.path
        sources.append(Source(target.database, path))
    return sources


_quiet = click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
_page_size = click.option(
    "--page-size",
    default=500,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Documents or children read (or written) per request.",
)


@click.command("export")
@stream_options
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.argument("targets", nargs=-1, required=True, type=TARGET)
@_page_size
@_quiet
def export_command(
    directory: Path,
    targets: tuple[Target, ...],
    project: str | None,
    database_url: str | None,
    timeout: float | None,
    page_size: int,
    quiet: bool,
) -> None:
    """Export firestore:COLLECTION (with subcollections) and rtdb:/PATH targets to DIRECTORY.

    The directory is replaced only once the whole export is written (an existing export
    there is replaced, keeping the sources it held that are not exported again; any other
    non-empty directory is refused).
    """
    sources = _sources(targets)
    connection = make_connection(project, database_url, {s.kind for s in sources})

    async def work() -> None:
        kinds = {source.kind for source in sources}
        async with _transfers(connection, kinds, page_size) as (firestore, rtdb):
            async with _reporter("exported", quiet) as reporter:
                entries = await export_directory(
                    directory, sources, firestore=firestore, rtdb=rtdb, reporter=reporter
                )
        kept = [e for e in entries if Source(e.kind, e.path) not in sources]
        if kept and not quiet:
            names = ", ".join(f"{e.kind}:{e.path}" for e in kept)
            click.echo(f"kept from the previous export: {names}", err=True)

    run_with_deadline(work, timeout)


@click.command("import")
@stream_options
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("targets", nargs=-1, type=TARGET)
@_page_size
@_quiet
def import_command(
    directory: Path,
    targets: tuple[Target, ...],
    project: str | None,
    database_url: str | None,
    timeout: float | None,
    page_size: int,
    quiet: bool,
) -> None:
    """Import an export from DIRECTORY (every source in it, or only the TARGETS named).

    Documents and children in the export replace those with the same path; nothing else
    is deleted. Every file is checked against the manifest before anything is written.
    """
    from firebase_sync.transfer import read_manifest

    only = _sources(targets)
    entries = read_manifest(directory).entries
    kinds = {e.kind for e in entries if not only or Source(e.kind, e.path) in only}
    connection = make_connection(project, database_url, kinds)

    async def work() -> None:
        async with _transfers(connection, kinds, page_size) as (firestore, rtdb):
            async with _reporter("imported", quiet) as reporter:
                await import_directory(
                    directory, only=only, firestore=firestore, rtdb=rtdb, reporter=reporter
                )

    run_with_deadline(work, timeout)
