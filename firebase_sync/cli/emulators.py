"""``firebase-sync emulators:start|exec``: the embedded emulators, as firebase-tools runs them."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from emulator import protocache
from emulator.config import DEFAULT_PROJECT, SERVICES, ConfigError, load_config
from emulator.suite import DISPLAY_NAMES, EmulatorSuite, RunningSuite, SuiteError

F = TypeVar("F", bound=Callable[..., Any])


def _emulator_options(command: F) -> F:
    options = [
        click.option("--only", help="Comma-separated emulators to start: database,firestore."),
        click.option("--project", default=None, help=f"Project id (default {DEFAULT_PROJECT})."),
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Path to firebase.json (default: ./firebase.json).",
        ),
        click.option(
            "--import",
            "import_dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Import emulator data from this export directory at start.",
        ),
        click.option(
            "--export-on-exit",
            type=click.Path(file_okay=False, path_type=Path),
            help="Export emulator data to this directory when the emulators stop.",
        ),
        click.option("--host", default=None, help="Address to bind (default 127.0.0.1)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _build_suite(
    only: str | None,
    project: str | None,
    config_path: Path | None,
    import_dir: Path | None,
    export_on_exit: Path | None,
    host: str | None,
) -> EmulatorSuite:
    # This process serves the emulators and never loads the Firestore client: its message
    # classes may come from the descriptor cache (a third of a second off every start).
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    protocache.directory = Path(cache_home) / "firebase-sync"
    try:
        config = load_config(config_path)
        names = [name.strip() for name in only.split(",") if name.strip()] if only else None
        if names:
            unknown = [name for name in names if name not in SERVICES]
            if unknown:
                raise SuiteError(
                    f"no emulator named {', '.join(unknown)}; choose from {', '.join(SERVICES)}"
                )
        project = project or os.environ.get("GCLOUD_PROJECT") or DEFAULT_PROJECT
        return EmulatorSuite(
            config,
            only=names,
            project=project,
            host=host,
            import_dir=import_dir,
            export_on_exit=export_on_exit,
        )
    except (ConfigError, SuiteError) as exc:
        raise click.ClickException(str(exc)) from exc


def _print_endpoints(running: RunningSuite) -> None:
    click.echo(f"firebase-sync emulators running for project {running.project}:")
    for name, endpoint in running.endpoints.items():
        click.echo(f"  {DISPLAY_NAMES[name]:<14} {endpoint.client_host}")
    for variable, value in sorted(running.environment().items()):
        click.echo(f"  export {variable}={value}")


async def _start_or_fail(suite: EmulatorSuite) -> RunningSuite:
    try:
        return await suite.start()
    except (SuiteError, FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


@click.command("emulators:start")
@_emulator_options
def emulators_start(**options: Any) -> None:
    """Start the emulators and run until SIGINT or SIGTERM."""
    suite = _build_suite(**options)

    async def run() -> None:
        running = await _start_or_fail(suite)
        _print_endpoints(running)
        click.echo("All emulators ready; press Ctrl-C to stop.")
        try:
            await _stop_event().wait()
        finally:
            click.echo("Stopping emulators...")
            await suite.stop()

    asyncio.run(run())


@click.command("emulators:exec")
@_emulator_options
@click.argument("command")
def emulators_exec(command: str, **options: Any) -> None:
    """Start the emulators, run COMMAND against them, stop, and exit with its status."""
    suite = _build_suite(**options)

    async def run() -> int:
        running = await _start_or_fail(suite)
        try:
            env = {**os.environ, **running.environment()}
            process = await asyncio.create_subprocess_shell(command, env=env)
            stop = _stop_event()
            waiter = asyncio.ensure_future(process.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not waiter.done():
                process.terminate()
            stopper.cancel()
            return await waiter
        finally:
            await suite.stop()

    status = asyncio.run(run())
    # A child killed by a signal reports -N; shells report 128+N.
    sys.exit(status if status >= 0 else 128 - status)
