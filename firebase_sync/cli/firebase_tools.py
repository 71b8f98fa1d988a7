"""firebase-tools' spellings: ``database:get|set|push|update|remove`` and ``firestore:delete``.

Same arguments, options and output as the ``firebase`` CLI: ``database:get /path`` prints the
JSON the server returns; the writes print ``✔  Data ... successfully`` and where to view it;
writes that replace or remove data ask first unless ``-f/--force`` (and refuse without a
terminal to ask on, as firebase-tools does in non-interactive use).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import click

from firebase_sync.adapters._rtdb_http import RtdbEndpoint
from firebase_sync.cli.data import DeleteProgress, delete_firestore_tree, run_with_deadline
from firebase_sync.cli.targets import (
    Connection,
    connection_options,
    make_connection,
    stream_options,
)

SUCCESS = "✔ "


def _path(path: str) -> str:
    if not path.startswith("/"):
        raise click.UsageError("Path must begin with /")
    return path


def _connection(project: str | None, database_url: str | None, instance: str | None) -> Connection:
    if instance:
        database_url = f"https://{instance}.firebaseio.com"
    return make_connection(project, database_url, {"rtdb"})


def _confirm(message: str, force: bool) -> None:
    """firebase-tools' confirmation: ``--force`` skips it; without a terminal it aborts."""
    if force:
        return
    if not sys.stdin.isatty():
        raise click.ClickException(
            f"{message} Pass -f/--force to confirm when not running in a terminal."
        )
    if not click.confirm(message, default=False, err=True):
        raise click.ClickException("Command aborted.")


def _view_url(endpoint: RtdbEndpoint, connection: Connection, path: str) -> str:
    """Where to see the data: the emulator's JSON URL, or the Firebase console."""
    if endpoint.emulator:
        query = urllib.parse.urlencode({"ns": endpoint.namespace or ""})
        return f"{endpoint.base_url}{path.rstrip('/') or ''}.json?{query}"
    host = urllib.parse.urlsplit(connection.database_url).hostname or ""
    namespace = host.split(".")[0]
    return (
        f"https://console.firebase.google.com/project/{connection.project}"
        f"/database/{namespace}/data{path}"
    )


def _read_data(data: str | None, infile: Path | None) -> Any:
    """The JSON to write: ``--data``, else the file, else standard input."""
    if data is not None:
        text = data
    elif infile is not None:
        try:
            text = infile.read_text(encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot read {infile}: {exc.strerror or exc}") from exc
    else:
        if sys.stdin.isatty():
            click.echo("Note: Reading STDIN. Type JSON data and then press Ctrl-D", err=True)
        text = sys.stdin.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"Failed to parse JSON: {exc}") from exc


async def _call(connection: Connection, method: str, path: str, **kwargs: Any) -> tuple[Any, str]:
    """One REST call at ``path``; returns (the response, where to view ``path``)."""
    async with connection.app() as app:
        endpoint = RtdbEndpoint.from_app(app)
        try:
            response = await endpoint.request(method, path, **kwargs)
            return response, _view_url(endpoint, connection, path)
        finally:
            await endpoint.aclose()


_instance = click.option(
    "--instance",
    help="Use the database <instance>.firebaseio.com (default: the project's default database).",
)
_data = click.option("-d", "--data", help="Specify escaped JSON directly.")
_force = click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
_infile = click.argument(
    "infile", required=False, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)


@click.command("database:get")
@connection_options
@click.argument("path")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Save to this file."
)
@click.option("--pretty", is_flag=True, help="Pretty print the response.")
@click.option("--shallow", is_flag=True, help="Return a shallow response.")
@click.option("--export", "export", is_flag=True, help="Include priorities in the response.")
@click.option("--order-by", help="Order by this child key.")
@click.option("--order-by-key", is_flag=True, help="Order by key name.")
@click.option("--order-by-value", is_flag=True, help="Order by primitive value.")
@click.option("--limit-to-first", help="Limit to the first <num> results.")
@click.option("--limit-to-last", help="Limit to the last <num> results.")
@click.option("--start-at", help="Start results at <val> (based on the ordering).")
@click.option("--end-at", help="End results at <val> (based on the ordering).")
@click.option("--equal-to", help="Restrict results to <val> (based on the ordering).")
@_instance
def database_get(
    path: str,
    output: Path | None,
    pretty: bool,
    shallow: bool,
    export: bool,
    order_by: str | None,
    order_by_key: bool,
    order_by_value: bool,
    limit_to_first: str | None,
    limit_to_last: str | None,
    start_at: str | None,
    end_at: str | None,
    equal_to: str | None,
    instance: str | None,
    project: str | None,
    database_url: str | None,
    timeout: float,
) -> None:
    """Fetch and print JSON data at PATH."""
    _path(path)
    params: dict[str, str] = {}
    if shallow:
        params["shallow"] = "true"
    if export:
        params["format"] = "export"
    if order_by_key:
        order_by = "$key"
    if order_by_value:
        order_by = "$value"
    for name, value in (("limitToFirst", limit_to_first), ("limitToLast", limit_to_last)):
        if value:
            params[name] = value
    for name, value in (
        ("orderBy", order_by),
        ("startAt", start_at),
        ("endAt", end_at),
        ("equalTo", equal_to),
    ):
        if value:  # JSON-encoded, as firebase-tools sends them
            try:
                params[name] = json.dumps(json.loads(value))
            except json.JSONDecodeError:
                params[name] = json.dumps(value)
    connection = _connection(project, database_url, instance)

    async def work() -> Any:
        response, _ = await _call(connection, "GET", path, params=params)
        return response.json()

    value = run_with_deadline(work, timeout)
    text = json.dumps(
        value,
        ensure_ascii=False,
        indent=2 if pretty else None,
        separators=None if pretty else (",", ":"),
    )
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)


def _write_command(name: str, method: str, verb: str, *, confirm: str | None) -> click.Command:
    """``database:set`` / ``database:update`` / ``database:push``."""

    @click.command(name)
    @connection_options
    @click.argument("path")
    @_infile
    @_data
    @_instance
    def command(
        path: str,
        infile: Path | None,
        data: str | None,
        instance: str | None,
        project: str | None,
        database_url: str | None,
        timeout: float,
        force: bool = False,
    ) -> None:
        _path(path)
        given = data is not None or infile is not None
        body = _read_data(data, infile) if given else None  # mistakes first, stdin later
        connection = _connection(project, database_url, instance)
        if confirm is not None:
            where = _view_url_guess(connection, path)
            _confirm(confirm.format(url=where), force)
        if not given:
            body = _read_data(None, None)
        if method == "PATCH" and not isinstance(body, dict):
            raise click.ClickException("Data must be a JSON object to update.")

        async def work() -> str:
            response, url = await _call(connection, method, path, body=body)
            if method == "POST":
                key = response.json()["name"]
                return url.replace(".json?", f"/{key}.json?", 1) if "?" in url else url + "/" + key
            return url

        url = run_with_deadline(work, timeout)
        click.echo(f"{SUCCESS} Data {verb} successfully")
        click.echo()
        click.echo(f"View data at: {url}")

    if confirm is not None:
        command = _force(command)
    return command


def _view_url_guess(connection: Connection, path: str) -> str:
    """Where ``path`` lives, for a confirmation prompt (before any connection is made)."""
    host = os.environ.get("FIREBASE_DATABASE_EMULATOR_HOST")
    url = urllib.parse.urlsplit(connection.database_url)
    namespace = (url.hostname or "").split(".")[0]
    if host:
        return f"http://{host}{path}?ns={namespace}"
    return f"https://{url.netloc}{path}"


database_set = _write_command(
    "database:set",
    "PUT",
    "persisted",
    confirm="You are about to overwrite all data at {url}. Are you sure?",
)
database_set.help = "Store JSON data at PATH via STDIN, an argument (-d) or a file."
database_update = _write_command(
    "database:update",
    "PATCH",
    "updated",
    confirm="You are about to modify data at {url}. Are you sure?",
)
database_update.help = "Update some of the keys at PATH (JSON via STDIN, -d or a file)."
database_push = _write_command("database:push", "POST", "pushed", confirm=None)
database_push.help = "Add a new JSON object to the list of data at PATH."


@click.command("database:remove")
@connection_options
@click.argument("path")
@_force
@_instance
def database_remove(
    path: str,
    force: bool,
    instance: str | None,
    project: str | None,
    database_url: str | None,
    timeout: float,
) -> None:
    """Remove data at PATH (and everything below it)."""
    _path(path)
    connection = _connection(project, database_url, instance)
    url = _view_url_guess(connection, path)
    _confirm(f"You are about to remove all data at {url}. Are you sure?", force)

    async def work() -> None:
        await _call(connection, "DELETE", path, params={"print": "silent"})

    run_with_deadline(work, timeout)
    click.echo(f"{SUCCESS} Data removed successfully")


@click.command("firestore:delete")
@stream_options
@click.argument("path", required=False)
@click.option(
    "-r",
    "--recursive",
    is_flag=True,
    help="Delete every document and subcollection at and under PATH.",
)
@click.option(
    "--shallow",
    is_flag=True,
    help="Delete only the documents at PATH's level (subcollections are left).",
)
@_force
def firestore_delete(
    path: str | None,
    recursive: bool,
    shallow: bool,
    force: bool,
    project: str | None,
    database_url: str | None,
    timeout: float | None,
) -> None:
    """Delete a document or a collection of Cloud Firestore (PATH without a leading /)."""
    if not path:
        raise click.UsageError("Must specify a path.")
    path = path.strip("/")
    segments = path.split("/")
    if any(not segment for segment in segments):
        raise click.UsageError("Path must not have any empty segments.")
    if recursive and shallow:
        raise click.UsageError("Cannot pass recursive and shallow options together.")
    is_collection = len(segments) % 2 == 1
    if is_collection and not recursive and not shallow:
        raise click.UsageError("Must pass recursive or shallow option when deleting a collection.")
    connection = make_connection(project, database_url, {"firestore"})
    root = f"projects/{connection.project}/databases/(default)/documents"
    if is_collection:
        message = f"You are about to delete all documents in the collection at {path} for {root}."
    elif recursive:
        message = (
            f"You are about to delete the document at {path} and all of its subcollections "
            f"for {root}."
        )
    else:
        message = f"You are about to delete the document at {path} for {root}."
    _confirm(message + " Are you sure?", force)
    progress = DeleteProgress()

    async def work() -> int:
        return await delete_firestore_tree(connection, path, recursive=recursive, progress=progress)

    try:
        run_with_deadline(work, timeout)
    finally:
        progress.close()
