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
    "firebaserc_aliases",
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
        help="Project id or .firebaserc alias (default: .firebaserc's default project, "
        f"else {DEFAULT_PROJECT}).",
    )(command)


def firebaserc_aliases(start: Path | None = None) -> dict[str, str]:
    """The ``projects`` aliases of the nearest ``.firebaserc`` (this directory or a parent)."""
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
        if not isinstance(projects, dict):
            return {}
        return {k: v for k, v in projects.items() if isinstance(v, str) and v}
    return {}


def firebaserc_project(start: Path | None = None) -> str | None:
    """The default project of the nearest ``.firebaserc``, if it names one."""
    return firebaserc_aliases(start).get("default")


def resolve_project(project: str | None) -> str:
    """The project a command acts on: as given (an alias of ``.firebaserc`` resolved, as
    firebase-tools does), else ``.firebaserc``'s default, else the demo project."""
    if project:
        if "/" in project or project.strip() != project:
            raise click.BadParameter(
                f"{project!r} is not a project id", param_hint="'-P/--project'"
            )
        return firebaserc_aliases().get(project, project)
    return firebaserc_project() or DEFAULT_PROJECT


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``1 record``, ``5 records``."""
    return f"{count} {noun if count == 1 else plural_form or noun + 's'}"
