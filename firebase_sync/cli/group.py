"""The root ``firebase-sync`` command group; each module of this package adds its commands."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="firebase-sync")
def main() -> None:
    """Firebase data as live, typed, local state; and a Java-free Firebase emulator."""
