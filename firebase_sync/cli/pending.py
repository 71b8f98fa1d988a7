"""``firebase-sync pending list|retry|drop``: inspect and manage a cache's pending writes.

Works on the cache file directly (SQLite allows it while a worker runs). ``retry`` puts
failed writes back in the queue: the worker's flusher sends them on its next round (or at
its next start). ``drop`` removes writes without sending them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from firebase_sync.cli.options import plural
from firebase_sync.offline.cache import LocalCache
from firebase_sync.offline.errors import CacheError

_CACHE = click.option(
    "--cache",
    "cache_path",
    required=True,
    envvar="FIREBASE_SYNC_CACHE",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The worker's cache file (or $FIREBASE_SYNC_CACHE).",
)


@contextmanager
def _opened(path: Path) -> Iterator[LocalCache]:
    try:
        with LocalCache(path) as cache:
            yield cache
    except CacheError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group("pending")
def pending_group() -> None:
    """List, retry or drop the writes a worker has queued."""


@pending_group.command("list")
@_CACHE
@click.option("--source", default=None, help="Only this source (e.g. firestore:products).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_command(cache_path: Path, source: str | None, as_json: bool) -> None:
    """Pending and failed writes, oldest first."""
    with _opened(cache_path) as cache:
        writes = cache.pending(source, states=("pending", "failed"))
        stats = cache.queue_statistics(source)
    for write in writes:
        if as_json:
            record = {
                "seq": write.seq,
                "write_id": write.write_id,
                "source": write.source,
                "key": write.key,
                "op": write.op,
                "state": write.state,
                "attempts": write.attempts,
                "age": round(write.age(), 3),
                "last_error": write.last_error,
            }
            click.echo(json.dumps(record))
        else:
            error = f"  {write.last_error}" if write.last_error else ""
            click.echo(
                f"{write.seq:>6} {write.write_id} {write.state:<7} {write.source} "
                f"{write.op} {write.key} attempts={write.attempts} age={write.age():.1f}s{error}"
            )
    if not as_json:
        oldest = "-" if stats.oldest_age is None else f"{stats.oldest_age:.1f}s"
        click.echo(f"{stats.depth} pending, {stats.failed} failed, oldest pending {oldest}")


@pending_group.command("retry")
@_CACHE
@click.argument("write_ids", nargs=-1)
def retry_command(cache_path: Path, write_ids: tuple[str, ...]) -> None:
    """Queue failed writes again (all of them, or WRITE_IDS)."""
    with _opened(cache_path) as cache:
        count = cache.retry(write_ids or None)
    click.echo(f"{plural(count, 'write')} queued again")


@pending_group.command("drop")
@_CACHE
@click.argument("write_ids", nargs=-1)
@click.option("--failed", "failed_only", is_flag=True, help="Drop every failed write.")
@click.option("--all", "drop_all", is_flag=True, help="Drop every write, pending or failed.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def drop_command(
    cache_path: Path, write_ids: tuple[str, ...], failed_only: bool, drop_all: bool, yes: bool
) -> None:
    """Remove WRITE_IDS (or --failed / --all writes) without sending them."""
    if bool(write_ids) + failed_only + drop_all != 1:
        raise click.UsageError("give write ids, or --failed, or --all")
    if drop_all and not yes:
        click.confirm("Drop every queued write? They will never reach the server", abort=True)
    with _opened(cache_path) as cache:
        if write_ids:
            count = cache.drop(write_ids)
        else:
            count = cache.drop(failed_only=failed_only)
    click.echo(f"{plural(count, 'write')} dropped")
