"""The root ``firebase-sync`` command group.

Commands live in their own modules and are imported only when invoked (or listed by
``--help``), so ``firebase-sync emulators:exec`` never pays for the Google client libraries.
"""

from __future__ import annotations

import importlib

import click

#: command name -> "module:attribute" of the click command.
COMMANDS = {
    "emulators:start": "firebase_sync.cli.emulators:emulators_start",
    "emulators:exec": "firebase_sync.cli.emulators:emulators_exec",
    "get": "firebase_sync.cli.data:get_command",
    "set": "firebase_sync.cli.data:set_command",
    "update": "firebase_sync.cli.data:update_command",
    "delete": "firebase_sync.cli.data:delete_command",
    "query": "firebase_sync.cli.data:query_command",
    "watch": "firebase_sync.cli.watch:watch_command",
    "demo": "firebase_sync.cli.demo:demo_command",
    "export": "firebase_sync.cli.transfer:export_command",
    "import": "firebase_sync.cli.transfer:import_command",
    "pending": "firebase_sync.cli.pending:pending_group",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

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


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="firebase-sync")
def main() -> None:
    """Firebase data as live, typed, local state; and a Java-free Firebase emulator."""
