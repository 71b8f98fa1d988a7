"""Options and words shared by every command, importing nothing heavy (``emulators:exec``
starts fast): the project (``-P``, ``.firebaserc``) and plurals.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

DEFAULT_PROJECT = "demo-firebase-sync"

__all__ = [
    "DEFAULT_PROJECT",
    "firebaserc_project",
    "plural",
    "project_option",
    "resolve_project",
]


def project_option(command: Any) -> Any:
    """``-P/--project``: the option, then $GCLOUD_PROJECT, then .firebaserc, then the demo."""
    return click.option(
        "-P",
        "--project",
        envvar=["GCLOUD_PROJECT", "GOOGLE_CLOUD_PROJECT"],
        default=None,
        help=f"Project id (default: .firebaserc's default project, else {DEFAULT_PROJECT}).",
    )(command)


def firebaserc_project(start: Path | None = None) -> str | None:
    """The default project of the nearest ``.firebaserc`` (this directory or a parent)."""
    directory = (start or Path.cwd()).resolve()
    for folder in (directory, *directory.parents):
        path = folder / ".firebaserc"
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"{path} is not valid JSON: {exc}") from exc
        projects = data.get("projects") if isinstance(data, dict) else None
        default = projects.get("default") if isinstance(projects, dict) else None
        if isinstance(default, str) and default:
            return default
        return None
    return None


def resolve_project(project: str | None) -> str:
    """The project a command acts on: as given, else .firebaserc's default, else the demo."""
    if project:
        if "/" in project or project.strip() != project:
            raise click.BadParameter(
                f"{project!r} is not a project id", param_hint="'-P/--project'"
            )
        return project
    return firebaserc_project() or DEFAULT_PROJECT


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``1 record``, ``5 records``."""
    return f"{count} {noun if count == 1 else plural_form or noun + 's'}"
