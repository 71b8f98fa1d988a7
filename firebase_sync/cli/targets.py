"""What the admin commands act on: ``firestore:PATH`` and ``rtdb:/PATH`` targets, and the
connection (firebase-admin app) they use, emulator included.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, Literal

import click
from pydantic import ConfigDict

from firebase_sync.models import Document, GeoPoint, Reference

Database = Literal["firestore", "rtdb"]


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


def connection_options(command: Any) -> Any:
    """``--project`` and ``--database-url``, read from the environment by default."""
    command = click.option(
        "--database-url",
        envvar="FIREBASE_DATABASE_URL",
        default=None,
        help="Realtime Database URL (default https://<project>-default-rtdb.firebaseio.com).",
    )(command)
    command = click.option(
        "--project",
        envvar=["GCLOUD_PROJECT", "GOOGLE_CLOUD_PROJECT"],
        default="demo-firebase-sync",
        show_default=True,
        help="Project id.",
    )(command)
    return command


def make_connection(project: str, database_url: str | None) -> Connection:
    return Connection(project, database_url or f"https://{project}-default-rtdb.firebaseio.com")


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
