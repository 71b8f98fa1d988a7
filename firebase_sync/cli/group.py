"""The root ``firebase-sync`` command group.

Commands live in their own modules and are imported only when invoked (or listed by
``--help``), so ``firebase-sync emulators:exec`` never pays for the Google client libraries.
Whatever goes wrong ends as one line on standard error and a non-zero status, never a
traceback; Ctrl-C exits 130.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

#: command name -> "module:attribute" of the click command.
COMMANDS = {
    "emulators:start": "firebase_sync.cli.emulators:emulators_start",
    "emulators:exec": "firebase_sync.cli.emulators:emulators_exec",
    "emulators:export": "firebase_sync.cli.emulators:emulators_export",
    "get": "firebase_sync.cli.data:get_command",
    "set": "firebase_sync.cli.data:set_command",
    "update": "firebase_sync.cli.data:update_command",
    "delete": "firebase_sync.cli.data:delete_command",
    "query": "firebase_sync.cli.data:query_command",
    "database:get": "firebase_sync.cli.firebase_tools:database_get",
    "database:set": "firebase_sync.cli.firebase_tools:database_set",
    "database:push": "firebase_sync.cli.firebase_tools:database_push",
    "database:update": "firebase_sync.cli.firebase_tools:database_update",
    "database:remove": "firebase_sync.cli.firebase_tools:database_remove",
    "firestore:delete": "firebase_sync.cli.firebase_tools:firestore_delete",
    "watch": "firebase_sync.cli.watch:watch_command",
    "demo": "firebase_sync.cli.demo:demo_command",
    "export": "firebase_sync.cli.transfer:export_command",
    "import": "firebase_sync.cli.transfer:import_command",
    "pending": "firebase_sync.cli.pending:pending_group",
}


def describe(exc: BaseException) -> str:
    """One line saying what went wrong, for any exception."""
    from firebase_sync.errors import FirebaseSyncError

    if isinstance(exc, FirebaseSyncError):
        text = f"{type(exc).__name__}: {exc}"
    elif isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        text = f"{exc.strerror}{where}"
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return " ".join(text.split())


class _UsageLine(click.ClickException):
    """A usage mistake told in one line; exits 2 like click's usage errors."""

    exit_code = 2


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use, and whose errors are one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            # one line, pointing at the help, instead of click's usage block
            where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            one_line = " ".join(f"{exc.format_message()} (see: {where} --help)".split())
            raise _UsageLine(one_line) from exc
        except click.ClickException as exc:
            one_line = " ".join(exc.message.split())
            if one_line == exc.message:
                raise
            raise click.ClickException(one_line) from exc
        except (click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            ctx.exit(130)
        except Exception as exc:
            raise click.ClickException(describe(exc)) from exc


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="firebase-sync")
def main() -> None:
    """Firebase data as live, typed, local state; and a Java-free Firebase emulator."""
