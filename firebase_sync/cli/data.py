"""``firebase-sync get|set|update|delete|query``: JSON in and out, for both databases.

Targets are ``firestore:COLLECTION[/ID...]`` and ``rtdb:/PATH``. With the emulator variables
set, the commands talk to the emulators; otherwise to the project's real databases.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from firebase_sync._wire.rtdb_events import Absent
from firebase_sync._wire.rtdb_order import RtdbQuerySpec, evaluate
from firebase_sync.adapters._rtdb_http import RtdbEndpoint
from firebase_sync.adapters.firestore import FirestoreRepository
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
from firebase_sync.errors import FirebaseSyncError
from firebase_sync.query import Op, where

R = TypeVar("R")
_OPERATORS = (
    "<",
    "<=",
    "==",
    "!=",
    ">=",
    ">",
    "in",
    "not-in",
    "array_contains",
    "array_contains_any",
)


def _run(work: Callable[[], Awaitable[R]]) -> R:
    """Run one command's coroutine; kit errors become a one-line message and exit 1."""
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
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
def get_command(target: Target, project: str, database_url: str | None, pretty: bool) -> None:
    """Print a document, a collection or an RTDB value as JSON (null when absent)."""
    connection = make_connection(project, database_url)

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

    click.echo(dumps(_run(work), pretty=pretty))


@click.command("set")
@connection_options
@click.argument("target", type=TARGET)
@click.argument("value")
@click.option("--merge", is_flag=True, help="Merge into the document instead of replacing it.")
def set_command(
    target: Target, value: str, project: str, database_url: str | None, merge: bool
) -> None:
    """Write VALUE (JSON, or - for stdin) at TARGET, replacing what is there."""
    data = parse_json_argument(value)
    connection = make_connection(project, database_url)

    async def work() -> None:
        if target.database == "rtdb":
            method = "PATCH" if merge else "PUT"
            await _rtdb(connection, method, target, body=data, params={"print": "silent"})
            return
        if not isinstance(data, dict):
            raise click.BadParameter("a Firestore document must be a JSON object")
        collection, key = target.split_document()
        async with connection.app() as app, _repository(app, collection) as repo:
            await repo.set(Record(id=key, **data), merge=merge)

    _run(work)


@click.command("update")
@connection_options
@click.argument("target", type=TARGET)
@click.argument("fields")
def update_command(target: Target, fields: str, project: str, database_url: str | None) -> None:
    """Update some fields (a JSON object; keys may be paths: Firestore a.b, RTDB a/b)."""
    data = parse_json_argument(fields)
    if not isinstance(data, dict) or not data:
        raise click.BadParameter("FIELDS must be a non-empty JSON object")
    connection = make_connection(project, database_url)

    async def work() -> None:
        if target.database == "rtdb":
            await _rtdb(connection, "PATCH", target, body=data, params={"print": "silent"})
            return
        collection, key = target.split_document()
        async with connection.app() as app, _repository(app, collection) as repo:
            await repo.update(key, data)

    _run(work)


@click.command("delete")
@connection_options
@click.argument("target", type=TARGET)
def delete_command(target: Target, project: str, database_url: str | None) -> None:
    """Delete a document or an RTDB path (and everything below it)."""
    connection = make_connection(project, database_url)

    async def work() -> None:
        if target.database == "rtdb":
            await _rtdb(connection, "DELETE", target)
            return
        collection, key = target.split_document()
        async with connection.app() as app, _repository(app, collection) as repo:
            await repo.delete(key)

    _run(work)


@click.command("query")
@connection_options
@click.argument("target", type=TARGET)
@click.option(
    "--where",
    "filters",
    multiple=True,
    nargs=3,
    metavar="FIELD OP VALUE",
    help="Firestore filter (repeatable, ANDed); VALUE is JSON or a plain string.",
)
@click.option(
    "--order-by",
    "order_by",
    multiple=True,
    help="Firestore: FIELD or FIELD:desc (repeatable). RTDB: $key, $value or a child.",
)
@click.option("--limit", type=click.IntRange(min=0), help="At most this many results.")
@click.option("--limit-to-last", type=click.IntRange(min=0), help="The last N results.")
@click.option("--start-at", help="RTDB: lower bound (JSON) on the order-by index.")
@click.option("--end-at", help="RTDB: upper bound (JSON) on the order-by index.")
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
    project: str,
    database_url: str | None,
) -> None:
    """Query a Firestore collection or the children of an RTDB path."""
    connection = make_connection(project, database_url)
    if limit is not None and limit_to_last is not None:
        raise click.BadParameter("use either --limit or --limit-to-last")

    async def firestore() -> Any:
        async with connection.app() as app, _repository(app, target.collection()) as repo:
            query = repo.query()
            for field, op, value in filters:
                if op not in _OPERATORS:
                    raise click.BadParameter(f"unknown operator {op!r}; use {_OPERATORS}")
                op_: Op = op  # type: ignore[assignment]
                query = query.where(where(field, op_, parse_scalar(value)))
            for order in order_by:
                field, _, direction = order.partition(":")
                query = query.order_by(field, descending=direction.lower() == "desc")
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
        if filters:
            raise click.BadParameter("--where is for Firestore; RTDB uses --order-by and ranges")
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

    result = _run(firestore if target.database == "firestore" else rtdb)
    if jsonl and isinstance(result, list):
        for item in result:
            click.echo(dumps(item))
    elif jsonl and isinstance(result, dict):
        for key, value in result.items():
            click.echo(dumps({"key": key, "value": value}))
    else:
        click.echo(dumps(result))
