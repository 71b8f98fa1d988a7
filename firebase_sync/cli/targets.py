"""What the admin commands act on: ``firestore:PATH`` and ``rtdb:/PATH`` targets, and the
connection (firebase-admin app) they use, emulator included.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, TypeVar

import click
from pydantic import ConfigDict

from firebase_sync.cli.options import project_option, resolve_project
from firebase_sync.models import Document, GeoPoint, Reference

Database = Literal["firestore", "rtdb"]
F = TypeVar("F", bound=Callable[..., Any])
#: per database: the emulator variable, and the emulator's name in messages.
EMULATOR_VARIABLES: dict[str, tuple[str, str]] = {
    "firestore": ("FIRESTORE_EMULATOR_HOST", "Firestore emulator"),
    "rtdb": ("FIREBASE_DATABASE_EMULATOR_HOST", "Database emulator"),
}
#: seconds to connect to an emulator before calling it unreachable.
PROBE_TIMEOUT = 2.0


class Record(Document):
    """Any document: every stored field is kept (the admin commands are untyped)."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True)
class Target:
    """``firestore:products/p1`` or ``rtdb:/products/p1``, parsed."""

    database: Database
    path: str

    @property
    def segments(self) -> list[str]:
        return [segment for segment in self.path.split("/") if segment]

    def split_document(self) -> tuple[str, str]:
        """(collection path, document id) of a Firestore document target."""
        segments = self.segments
        if self.database != "firestore" or len(segments) < 2 or len(segments) % 2:
            raise click.BadParameter(
                f"{self} is not a document: use firestore:COLLECTION/ID[/SUB/ID...]"
            )
        return "/".join(segments[:-1]), segments[-1]

    def collection(self) -> str:
        """The collection path of a Firestore collection target."""
        segments = self.segments
        if self.database != "firestore" or not segments or len(segments) % 2 == 0:
            raise click.BadParameter(f"{self} is not a collection: use firestore:COLLECTION")
        return "/".join(segments)

    def __str__(self) -> str:
        return f"{self.database}:{self.path}"


def parse_target(text: str) -> Target:
    """Parse ``firestore:PATH`` / ``rtdb:PATH``; raises ``click.BadParameter``."""
    scheme, sep, path = text.partition(":")
    if not sep or scheme not in ("firestore", "rtdb"):
        raise click.BadParameter(f"{text!r}: expected firestore:PATH or rtdb:/PATH")
    if scheme == "rtdb":
        path = "/" + path.strip("/")
    else:
        path = path.strip("/")
    return Target(scheme, path)  # type: ignore[arg-type]


class TargetType(click.ParamType):  # type: ignore[type-arg]  # generic in click 8.2+ only
    name = "TARGET"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Target):
            return value
        try:
            return parse_target(str(value))
        except click.BadParameter as exc:
            self.fail(str(exc.message), param, ctx)


TARGET = TargetType()


@dataclass(frozen=True)
class Connection:
    """How to reach Firebase: project and database URL (the emulator variables win)."""

    project: str
    database_url: str

    @asynccontextmanager
    async def app(self) -> AsyncIterator[Any]:
        """A private firebase-admin app for one command, deleted afterwards."""
        import firebase_admin

        # Credentials are resolved lazily: emulators need none, production uses ADC.
        options = {"projectId": self.project, "databaseURL": self.database_url}
        app = firebase_admin.initialize_app(
            options=options, name=f"firebase-sync-cli-{uuid.uuid4().hex}"
        )
        try:
            yield app
        finally:
            firebase_admin.delete_app(app)


def connection_options(command: F) -> F:
    """``-P/--project``, ``--database-url`` and ``--timeout`` (30 s; from the environment)."""
    decorated: F = _connection_options(command, 30.0)
    return decorated


def stream_options(command: F) -> F:
    """:func:`connection_options` without a default deadline, for commands that run long
    (watch, export, import, recursive delete); an unreachable emulator is still refused."""
    decorated: F = _connection_options(command, None)
    return decorated


def _connection_options(command: Any, timeout: float | None) -> Any:
    command = click.option(
        "--timeout",
        type=click.FloatRange(min=0.1),
        envvar="FIREBASE_SYNC_TIMEOUT",
        default=timeout,
        show_default=timeout is not None,
        help="Give up (exit 1) when the command has not finished after this many seconds.",
    )(command)
    command = click.option(
        "--database-url",
        envvar="FIREBASE_DATABASE_URL",
        default=None,
        help="Realtime Database URL (default https://<project>-default-rtdb.firebaseio.com).",
    )(command)
    command = project_option(command)
    return command


def probe(host: str) -> str | None:
    """Why ``host`` (``host:port``) cannot be connected to within a moment; None if it can."""
    name, sep, port_text = host.rpartition(":")
    if not sep or not port_text.isdigit():
        return f"{host!r} is not HOST:PORT"
    name = name.strip("[]") or "127.0.0.1"
    try:
        with socket.create_connection((name, int(port_text)), timeout=PROBE_TIMEOUT):
            return None
    except TimeoutError:
        return f"no answer within {PROBE_TIMEOUT:g} s"
    except OSError as exc:
        return exc.strerror or str(exc)


def check_reachable(project: str, databases: Collection[Database]) -> None:
    """Refuse at once what can only fail (or wrongly reach production), with one clear line.

    With an emulator variable set, the emulator must accept a connection. Without it, a
    ``demo-`` project is refused (it exists only in the emulators) and so is the absence of
    Google credentials.
    """
    for database in sorted(databases):
        variable, label = EMULATOR_VARIABLES[database]
        host = os.environ.get(variable)
        if host:
            reason = probe(host)
            if reason is not None:
                raise click.ClickException(
                    f"cannot reach the {label} at {host} ({variable}): {reason}; start it "
                    f"(firebase-sync emulators:start) or unset {variable}"
                )
            continue
        if project.startswith("demo-"):
            raise click.ClickException(
                f"project {project} is a demo project, which exists only in the emulators: set "
                f"{variable} (or run under firebase-sync emulators:exec), or pass -P PROJECT "
                f"for a real project"
            )
        _require_credentials(project, variable)


def _require_credentials(project: str, variable: str) -> None:
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        google.auth.default()
    except DefaultCredentialsError as exc:
        raise click.ClickException(
            f"no Google credentials for project {project}: set GOOGLE_APPLICATION_CREDENTIALS "
            f"to a service-account key file (or run gcloud auth application-default login), "
            f"or set {variable} to use the emulator"
        ) from exc


def make_connection(
    project: str | None, database_url: str | None, databases: Collection[Database] = ()
) -> Connection:
    """The connection for ``project``, after :func:`check_reachable` for ``databases``."""
    resolved = resolve_project(project)
    check_reachable(resolved, databases)
    return Connection(resolved, database_url or f"https://{resolved}-default-rtdb.firebaseio.com")


def to_json(value: Any) -> Any:
    """Firestore and model values as JSON: ISO times, base64 bytes, paths for references."""
    if isinstance(value, Document):
        return {"id": value.id, **{k: to_json(v) for k, v in value.model_dump().items()}}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, GeoPoint):
        return {"latitude": value.latitude, "longitude": value.longitude}
    if isinstance(value, Reference):
        return value.path
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return to_json(value.value)
    return value


def dumps(value: Any, *, pretty: bool = False) -> str:
    return json.dumps(to_json(value), indent=2 if pretty else None, ensure_ascii=False)


def parse_json_argument(text: str) -> Any:
    """A JSON argument, or ``-`` for standard input."""
    if text == "-":
        text = sys.stdin.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}") from exc


def parse_scalar(text: str) -> Any:
    """A query value: JSON when it parses (``10``, ``true``, ``"x"``), else the raw string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
