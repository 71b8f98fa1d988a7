"""``firebase-sync get|set|update|delete|query``: JSON in and out, for both databases.

Targets are ``firestore:COLLECTION[/ID...]`` and ``rtdb:/PATH``. With the emulator variables
set, the commands talk to the emulators; otherwise to the project's real databases (a
``demo-`` project never leaves the emulators). Every command gives up after ``--timeout``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from firebase_sync._wire.rtdb_events import Absent
from firebase_sync._wire.rtdb_order import RtdbQuerySpec, evaluate
from firebase_sync.adapters._rtdb_http import RtdbEndpoint
from firebase_sync.adapters.firestore import FirestoreRepository
from firebase_sync.cli.options import plural
from firebase_sync.cli.targets import (
    TARGET,
    Connection,
    Record,
    Target,
    connection_options,
    dumps,
    make_connection,
    parse_json_argument,
    parse_scalar,
)
from firebase_sync.errors import (
    ConnectError,
    FirebaseSyncError,
    TransportTimeout,
    map_exception,
)
from firebase_sync.query import Op, where

R = TypeVar("R")
#: operator spellings: the SDKs' (``array-contains``) and the kit's (``array_contains``).
OPERATORS: dict[str, Op] = {
    "<": "<",
    "<=": "<=",
    "==": "==",
    "!=": "!=",
    ">=": ">=",
    ">": ">",
    "in": "in",
    "not-in": "not-in",
    "not_in": "not-in",
    "array-contains": "array_contains",
    "array_contains": "array_contains",
    "array-contains-any": "array_contains_any",
    "array_contains_any": "array_contains_any",
}
#: documents deleted per commit by a recursive delete (Firestore allows 500 writes).
DELETE_BATCH = 500


def run_with_deadline(work: Callable[[], Awaitable[R]], timeout: float | None) -> R:
    """Run one command's coroutine within ``timeout`` seconds; failures become one line."""

    async def bounded() -> R:
        async with asyncio.timeout(timeout):
            return await work()

    silent = (
        f"no answer within {timeout or 0:g} s: the backend is unreachable or too slow "
        f"(raise --timeout to wait longer)"
    )
    try:
        return asyncio.run(bounded())
    except (TimeoutError, TransportTimeout) as exc:
        raise click.ClickException(silent) from exc
    except ConnectError as exc:
        # a peer that accepts but never speaks HTTP/2 is a silent backend, not a refusal
        if "timed out" in str(exc):
            raise click.ClickException(silent) from exc
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc
    except FirebaseSyncError as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc


async def _rtdb(connection: Connection, method: str, target: Target, **kwargs: Any) -> Any:
    async with connection.app() as app:
        endpoint = RtdbEndpoint.from_app(app)
        try:
            return (await endpoint.request(method, target.path, **kwargs)).json()
        finally:
            await endpoint.aclose()


def _repository(app: Any, collection: str) -> FirestoreRepository[Record]:
    return FirestoreRepository(Record, collection, app=app)


@click.command("get")
@connection_options
@click.argument("target", type=TARGET)
@click.option("--pretty", is_flag=True, help="Indent the JSON output.")
def get_command(
    target: Target, project: str | None, database_url: str | None, timeout: float, pretty: bool
) -> None:
    """Print a document, a collection or an RTDB value as JSON (null when absent)."""
    connection = make_connection(project, database_url, {target.database})

    async def work() -> Any:
        if target.database == "rtdb":
            return await _rtdb(connection, "GET", target)
        async with connection.app() as app:
            if len(target.segments) % 2:
                async with _repository(app, target.collection()) as repo:
                    return await repo.all()
            collection, key = target.split_document()
            async with _repository(app, collection) as repo:
                return await repo.get(key)

    click.echo(dumps(run_with_deadline(work, timeout), pretty=pretty))


@click.command("set")
@connection_options
@click.argument("target", type=TARGET)
@click.argument("value")
@click.option("--merge", is_flag=True, help="Merge into the document instead of replacing it.")
def set_command(
    target: Target,
    value: str,
    project: str | None,
    database_url: str | None,
    timeout: float,
    merge: bool,
) -> None:
    """Write VALUE (JSON, or - for stdin) at TARGET, replacing what is there."""
    data = parse_json_argument(value)
    if target.database == "firestore":
        if not isinstance(data, dict):
            raise click.BadParameter("a Firestore document must be a JSON object")
        target.split_document()
    connection = make_connection(project, database_url, {target.database})

    async def work() -> None:
        if target.database == "rtdb":
            method = "PATCH" if merge else "PUT"
            await _rtdb(connection, method, target, body=data, params={"print": "silent"})
            return
        collection, key = target.split_document()
        async with connection.app() as app, _repository(app, collection) as repo:
            await repo.set(Record(id=key, **data), merge=merge)

    run_with_deadline(work, timeout)


@click.command("update")
@connection_options
@click.argument("target", type=TARGET)
@click.argument("fields")
def update_command(
    target: Target, fields: str, project: str | None, database_url: str | None, timeout: float
) -> None:
    """Update some fields (a JSON object; keys may be paths: Firestore a.b, RTDB a/b)."""
    data = parse_json_argument(fields)
    if not isinstance(data, dict) or not data:
        raise click.BadParameter("FIELDS must be a non-empty JSON object")
    if target.database == "firestore":
        target.split_document()
    connection = make_connection(project, database_url, {target.database})

    async def work() -> None:
        if target.database == "rtdb":
            await _rtdb(connection, "PATCH", target, body=data, params={"print": "silent"})
            return
        collection, key = target.split_document()
        async with connection.app() as app, _repository(app, collection) as repo:
            await repo.update(key, data)

    run_with_deadline(work, timeout)


@click.command("delete")
@connection_options
@click.argument("target", type=TARGET)
@click.option(
    "-r",
    "--recursive",
    is_flag=True,
    help="Firestore: also delete every subcollection (and a whole collection).",
)
def delete_command(
    target: Target, project: str | None, database_url: str | None, timeout: float, recursive: bool
) -> None:
    """Delete a document or an RTDB path (and everything below it)."""
    if target.database == "firestore" and not recursive:
        target.split_document()
    connection = make_connection(project, database_url, {target.database})

    async def work() -> None:
        if target.database == "rtdb":
            await _rtdb(connection, "DELETE", target)
            return
        if recursive:
            await delete_firestore_tree(connection, target.path, recursive=True)
            return
        collection, key = target.split_document()
        async with connection.app() as app, _repository(app, collection) as repo:
            await repo.delete(key)

    run_with_deadline(work, timeout)


async def delete_firestore_tree(
    connection: Connection,
    path: str,
    *,
    recursive: bool,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Delete the document or collection at ``path`` (with ``recursive``, every descendant).

    Without ``recursive`` a collection loses its documents but not their subcollections.
    Deletes go out in commits of up to 500; ``progress`` gets the running count. Returns
    how many documents were deleted.
    """
    segments = [s for s in path.split("/") if s]
    counter = _Counter(progress)
    async with connection.app() as app, _repository(app, segments[0]) as repo:
        client = repo.client
        try:
            if len(segments) % 2:
                collection = client.collection(*segments)
                query = collection.recursive() if recursive else collection._query()
                await _delete_matching(client, query, counter)
            else:
                document = client.document(*segments)
                if recursive:
                    async for sub in document.collections():
                        await _delete_matching(client, sub.recursive(), counter)
                await document.delete()
                counter.add(1)
        except FirebaseSyncError:
            raise
        except Exception as exc:
            raise map_exception(exc, path=path) from exc
    return counter.count


class _Counter:
    def __init__(self, progress: Callable[[int], None] | None) -> None:
        self.count = 0
        self.progress = progress

    def add(self, count: int) -> None:
        self.count += count
        if self.progress is not None:
            self.progress(self.count)


async def _delete_matching(client: Any, query: Any, counter: _Counter) -> None:
    """Delete what ``query`` matches, a page at a time (each page re-read from the start)."""
    from google.cloud.firestore_v1.field_path import FieldPath

    page_query = query.select([FieldPath.document_id()]).limit(DELETE_BATCH)
    while True:
        page = [snapshot.reference async for snapshot in page_query.stream()]
        if not page:
            return
        batch = client.batch()
        for reference in page:
            batch.delete(reference)
        await batch.commit()
        counter.add(len(page))


@click.command("query")
@connection_options
@click.argument("target", type=TARGET)
@click.option(
    "--where",
    "filters",
    multiple=True,
    nargs=3,
    metavar="FIELD OP VALUE",
    help="Firestore filter (repeatable, ANDed); VALUE is JSON or a plain string. "
    "OP: < <= == != >= > in not-in array-contains array-contains-any.",
)
@click.option(
    "--order-by",
    "order_by",
    multiple=True,
    help="Firestore: FIELD or FIELD:desc (repeatable). RTDB: $key, $value or a child.",
)
@click.option("--limit", type=click.IntRange(min=0), help="At most this many results.")
@click.option("--limit-to-last", type=click.IntRange(min=0), help="The last N results.")
@click.option(
    "--start-at",
    help="Lower bound (JSON) on the order-by index; Firestore: a JSON array "
    "gives one value per --order-by field.",
)
@click.option("--end-at", help="Upper bound (JSON) on the order-by index (like --start-at).")
@click.option("--equal-to", help="RTDB: only this index value (JSON).")
@click.option("--count", "aggregate", flag_value="count", help="Firestore: print the count.")
@click.option("--sum", "sum_field", help="Firestore: print the sum of FIELD.")
@click.option("--avg", "avg_field", help="Firestore: print the average of FIELD.")
@click.option("--jsonl", is_flag=True, help="One JSON result per line.")
def query_command(
    target: Target,
    filters: tuple[tuple[str, str, str], ...],
    order_by: tuple[str, ...],
    limit: int | None,
    limit_to_last: int | None,
    start_at: str | None,
    end_at: str | None,
    equal_to: str | None,
    aggregate: str | None,
    sum_field: str | None,
    avg_field: str | None,
    jsonl: bool,
    project: str | None,
    database_url: str | None,
    timeout: float,
) -> None:
    """Query a Firestore collection or the children of an RTDB path."""
    if limit is not None and limit_to_last is not None:
        raise click.BadParameter("use either --limit or --limit-to-last")
    if target.database == "firestore":
        target.collection()
        for _, op, _ in filters:
            if op not in OPERATORS:
                raise click.BadParameter(
                    f"unknown operator {op!r}; use one of {' '.join(dict.fromkeys(OPERATORS))}"
                )
        if equal_to is not None:
            raise click.BadParameter("--equal-to is for RTDB; Firestore uses --where F == V")
        if (start_at is not None or end_at is not None) and not order_by:
            raise click.BadParameter("--start-at and --end-at need --order-by")
    else:
        if filters:
            raise click.BadParameter("--where is for Firestore; RTDB uses --order-by and ranges")
        if aggregate or sum_field or avg_field:
            raise click.BadParameter("--count, --sum and --avg are for Firestore")
        if len(order_by) > 1:
            raise click.BadParameter("RTDB orders by one index: give --order-by once")
    connection = make_connection(project, database_url, {target.database})

    def cursor(text: str) -> list[Any]:
        value = parse_scalar(text)
        return value if isinstance(value, list) and len(order_by) > 1 else [value]

    async def firestore() -> Any:
        async with connection.app() as app, _repository(app, target.collection()) as repo:
            query = repo.query()
            for field, op, value in filters:
                query = query.where(where(field, OPERATORS[op], parse_scalar(value)))
            for order in order_by:
                field, _, direction = order.partition(":")
                query = query.order_by(field, descending=direction.lower() == "desc")
            if start_at is not None:
                query = query.start_at(*cursor(start_at))
            if end_at is not None:
                query = query.end_at(*cursor(end_at))
            if limit is not None:
                query = query.limit(limit)
            if limit_to_last is not None:
                query = query.limit_to_last(limit_to_last)
            if aggregate == "count":
                return await query.count()
            if sum_field:
                return await query.sum(sum_field)
            if avg_field:
                return await query.avg(avg_field)
            return await query.get()

    async def rtdb() -> Any:
        bounds = {"start_at": start_at, "end_at": end_at}
        if equal_to is not None:
            bounds = {"start_at": equal_to, "end_at": equal_to}
        spec = RtdbQuerySpec(
            order_by=order_by[0] if order_by else "$key",
            **{k: parse_scalar(v) if v is not None else Absent for k, v in bounds.items()},
            limit_to_first=limit,
            limit_to_last=limit_to_last,
        )
        children = await _rtdb(connection, "GET", target, params=spec.params())
        if isinstance(children, list):  # rendered as an array: keys are the indexes
            children = {str(i): v for i, v in enumerate(children) if v is not None}
        if not isinstance(children, dict):
            return {}
        return dict(evaluate(children, spec))

    result = run_with_deadline(firestore if target.database == "firestore" else rtdb, timeout)
    if jsonl and isinstance(result, list):
        for item in result:
            click.echo(dumps(item))
    elif jsonl and isinstance(result, dict):
        for key, value in result.items():
            click.echo(dumps({"key": key, "value": value}))
    else:
        click.echo(dumps(result))


class DeleteProgress:
    """``Deleted N docs (R docs/s)`` redrawn in place on a terminal; silent otherwise."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self.started = time.monotonic()
        self.count = 0

    def __call__(self, count: int) -> None:
        self.count = count
        if self.live:
            rate = count / max(time.monotonic() - self.started, 1e-3)
            sys.stderr.write(f"\rDeleted {plural(count, 'doc')} ({rate:.0f} docs/s)")
            sys.stderr.flush()

    def close(self) -> None:
        if self.live and self.count:
            sys.stderr.write("\n")
