"""``firebase-sync emulators:start|exec|export``: the embedded emulators, as firebase-tools
runs them.

``--import DIR`` reads the firebase-tools layout (``firebase-export-metadata.json``, with the
official Firestore emulator's files or ours), a bare Firestore export directory, and a
``firebase-sync export`` directory (loaded through the kit once the emulators listen).
``--export-on-exit [DIR]`` writes the firebase-tools layout; without DIR it exports to the
``--import`` directory.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from emulator import protocache
from emulator.config import SERVICES, ConfigError, load_config
from emulator.suite import DISPLAY_NAMES, EmulatorSuite, RunningSuite, SuiteError
from firebase_sync.cli.options import plural, project_option, resolve_project

F = TypeVar("F", bound=Callable[..., Any])
#: seconds a command gets to exit after a forwarded signal before its group is killed.
KILL_GRACE = 10.0
TRANSFER_MANIFEST = "manifest.json"
TRANSFER_FORMAT = "firebase-sync-transfer"
EXPORT_METADATA = "firebase-export-metadata.json"


def _emulator_options(command: F) -> F:
    options: list[Callable[[Any], Any]] = [
        click.option("--only", help="Comma-separated emulators to start: database,firestore."),
        project_option,
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
            help="Import emulator data from this directory at start (an emulators:export, "
            "a Firestore export, or a firebase-sync export).",
        ),
        click.option(
            "--export-on-exit",
            is_flag=False,
            flag_value="",
            default=None,
            metavar="[DIR]",
            help="Export emulator data when the emulators stop: to DIR, or without DIR to "
            "the --import directory.",
        ),
        click.option("--host", default=None, help="Address to bind (default 127.0.0.1)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _export_target(import_dir: Path | None, export_on_exit: str | None) -> Path | None:
    """firebase-tools' rule: a bare ``--export-on-exit`` exports to the ``--import`` DIR."""
    if export_on_exit is None:
        return None
    if export_on_exit:
        target = Path(export_on_exit)
    elif import_dir is not None:
        target = import_dir
    else:
        raise click.UsageError(
            '"--export-on-exit" must be used with "--import" or be given a directory'
        )
    if Path.cwd().resolve().is_relative_to(target.resolve()):
        raise click.UsageError(
            '"--export-on-exit" must not point to the current directory or its parents; '
            "choose a dedicated directory for exports"
        )
    return target


def _import_kind(import_dir: Path) -> str:
    """``suite`` (firebase-tools layout or a Firestore export) or ``transfer``."""
    if not import_dir.is_dir():
        raise click.ClickException(f'Directory "{import_dir}" does not exist.')
    manifest = import_dir / TRANSFER_MANIFEST
    if not (import_dir / EXPORT_METADATA).is_file() and manifest.is_file():
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"unreadable {manifest}: {exc}") from exc
        if isinstance(data, dict) and data.get("format") == TRANSFER_FORMAT:
            return "transfer"
    return "suite"


class _Plan:
    """What the options ask for, checked before anything starts."""

    def __init__(
        self,
        only: str | None,
        project: str | None,
        config_path: Path | None,
        import_dir: Path | None,
        export_on_exit: str | None,
        host: str | None,
    ) -> None:
        # This process serves the emulators: the emulator's Firestore message classes may come
        # from the descriptor cache (a third of a second off every start). Anything here that
        # uses the client talks to the emulator over gRPC, so the classes need not be shared.
        cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        protocache.directory = Path(cache_home) / "firebase-sync"
        export_target = _export_target(import_dir, export_on_exit)
        if import_dir is not None and not import_dir.exists() and export_target == import_dir:
            import_dir = None  # first run of `--import d --export-on-exit`: nothing to load yet
        self.transfer_import: Path | None = None
        suite_import = None
        if import_dir is not None:
            if _import_kind(import_dir) == "transfer":
                self.transfer_import = import_dir
            else:
                suite_import = import_dir
        try:
            config = load_config(config_path)
            names = [name.strip() for name in only.split(",") if name.strip()] if only else None
            if names:
                unknown = [name for name in names if name not in SERVICES]
                if unknown:
                    raise SuiteError(
                        f"no emulator named {', '.join(unknown)}; choose from {', '.join(SERVICES)}"
                    )
            self.project = resolve_project(project)
            self.suite = EmulatorSuite(
                config,
                only=names,
                project=self.project,
                host=host,
                import_dir=suite_import,
                export_on_exit=export_target,
            )
        except (ConfigError, SuiteError) as exc:
            raise click.ClickException(str(exc)) from exc

    async def start(self) -> RunningSuite:
        try:
            running = await self.suite.start()
        except (SuiteError, FileNotFoundError, ValueError, OSError) as exc:
            raise click.ClickException(str(exc)) from exc
        except Exception as exc:  # a malformed import: the emulator's own error
            raise click.ClickException(f"cannot import {self.suite.import_dir}: {exc}") from exc
        if self.transfer_import is not None:
            try:
                await _load_transfer_export(self.transfer_import, running)
            except BaseException:
                await self.suite.stop()
                raise
        return running


async def _load_transfer_export(directory: Path, running: RunningSuite) -> None:
    """Load a ``firebase-sync export`` directory into the running emulators, through the kit."""
    from firebase_sync.cli.targets import Connection
    from firebase_sync.cli.transfer import _transfers
    from firebase_sync.transfer import Source, import_directory, read_manifest

    os.environ.update(running.environment())
    entries = read_manifest(directory).entries
    served = {"firestore": running.firestore_host, "rtdb": running.database_host}
    wanted = [Source(e.kind, e.path) for e in entries if served[e.kind]]
    skipped = [f"{e.kind}:{e.path}" for e in entries if not served[e.kind]]
    if skipped:
        click.echo(f"not imported (emulator not running): {', '.join(skipped)}", err=True)
    if not wanted:
        return
    project = running.project
    connection = Connection(project, f"https://{project}-default-rtdb.firebaseio.com")
    kinds = {source.kind for source in wanted}
    async with _transfers(connection, kinds, 500) as (firestore, rtdb):
        imported = await import_directory(directory, only=wanted, firestore=firestore, rtdb=rtdb)
    count = sum(entry.count for entry in imported)
    click.echo(f"imported {plural(count, 'record')} from {directory}", err=True)


def _print_endpoints(running: RunningSuite, *, err: bool) -> None:
    click.echo(f"firebase-sync emulators running for project {running.project}:", err=err)
    for name, endpoint in running.endpoints.items():
        click.echo(f"  {DISPLAY_NAMES[name]:<14} {endpoint.client_host}", err=err)
    for variable, value in sorted(running.environment().items()):
        click.echo(f"  export {variable}={value}", err=err)


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
    plan = _Plan(**options)

    async def run() -> None:
        stop = _stop_event()  # before starting: a signal during start-up still stops cleanly
        running = await plan.start()
        _print_endpoints(running, err=False)
        click.echo("All emulators ready; press Ctrl-C to stop.")
        try:
            await stop.wait()
        finally:
            click.echo("Stopping emulators...")
            await plan.suite.stop()

    asyncio.run(run())


@click.command("emulators:exec")
@_emulator_options
@click.argument("command", required=False)
def emulators_exec(command: str | None, **options: Any) -> None:
    """Start the emulators, run COMMAND against them, stop, and exit with its status.

    COMMAND runs in its own process group (the terminal's foreground group, as a shell runs
    a job, when started from a terminal); SIGINT and SIGTERM sent to firebase-sync are
    forwarded to the group. The exit status is COMMAND's, and 130 after Ctrl-C, as
    firebase-tools exits.
    """
    if command is None and options.get("export_on_exit"):
        # `--export-on-exit "pytest"`: the option took the command as its directory
        command, options["export_on_exit"] = options["export_on_exit"], ""
    if not command:
        raise click.UsageError("Missing argument 'COMMAND'.")
    plan = _Plan(**options)

    async def run() -> int:
        loop = asyncio.get_running_loop()
        received: list[int] = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, received.append, signum)
        running = await plan.start()
        _print_endpoints(running, err=True)
        try:
            if received:  # interrupted during start-up: never run the command
                return 128 + received[0]
            env = {**os.environ, **running.environment()}
            process = await asyncio.create_subprocess_shell(command, env=env, process_group=0)
            give_back = _hand_terminal_to(process.pid)

            def forward(signum: int) -> None:
                received.append(signum)
                _signal_group(process.pid, signum)
                loop.call_later(KILL_GRACE, _signal_group, process.pid, signal.SIGKILL)

            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, forward, signum)
            try:
                status = await process.wait()
            finally:
                give_back()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            await plan.suite.stop()
        if signal.SIGINT in received or status in (-signal.SIGINT, 128 + signal.SIGINT):
            return 130
        # A command killed by a signal reports -N; shells report 128+N.
        return status if status >= 0 else 128 - status

    sys.exit(asyncio.run(run()))


def _hand_terminal_to(pgid: int) -> Callable[[], None]:
    """Make ``pgid`` the terminal's foreground group, as a shell does for a job.

    Only when we are in the foreground of a terminal: the command can then read it (an
    interactive debugger, a prompt) and Ctrl-C reaches it directly. Returns the function
    that gives the terminal back.
    """
    try:
        fd = sys.stdin.fileno()
        if not os.isatty(fd) or os.tcgetpgrp(fd) != os.getpgrp():
            return lambda: None
    except (OSError, ValueError):
        return lambda: None

    def set_foreground(group: int) -> None:
        # A background group calling tcsetpgrp gets SIGTTOU: ignore it for the call.
        previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            os.tcsetpgrp(fd, group)
        except OSError:
            pass
        finally:
            signal.signal(signal.SIGTTOU, previous)

    ours = os.getpgrp()
    set_foreground(pgid)
    _signal_group(pgid, signal.SIGCONT)  # it may have stopped reading the terminal too early
    return lambda: set_foreground(ours)


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _hub_address(config_path: Path | None) -> str:
    hub = os.environ.get("FIREBASE_EMULATOR_HUB")
    if hub:
        return hub
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    return f"{config.host_for('hub')}:{config.ports['hub']}"


@click.command("emulators:export")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option("--only", help="Comma-separated emulators to export: database,firestore.")
@click.option("-f", "--force", is_flag=True, help="Overwrite any export data in PATH.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Path to firebase.json (where the hub's port is read).",
)
def emulators_export(path: Path, only: str | None, force: bool, config_path: Path | None) -> None:
    """Export data from running emulators to PATH (the firebase-tools layout)."""
    # Imported here: http.client and email cost every emulators:start/exec a cold start.
    import urllib.error
    import urllib.request

    hub = _hub_address(config_path)
    try:
        with urllib.request.urlopen(f"http://{hub}/emulators", timeout=5) as reply:
            listed = json.load(reply)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise click.ClickException(
            f"no running emulators found: the emulator hub at {hub} does not answer ({reason}); "
            f"start them with firebase-sync emulators:start, or set FIREBASE_EMULATOR_HUB"
        ) from exc
    click.echo(f"Found running emulator hub at http://{hub}")
    targets = [name.strip() for name in only.split(",") if name.strip()] if only else None
    if targets:
        missing = [name for name in targets if name not in listed]
        if missing:
            raise click.ClickException(f"not running: {', '.join(missing)}")
    if path.exists() and any(path.iterdir()) and not force:
        message = f"The directory {path} is not empty. Existing files may be overwritten."
        if not sys.stdin.isatty():
            raise click.ClickException(f"{message} Pass -f/--force to overwrite.")
        if not click.confirm(f"{message} Do you want to continue?", default=False, err=True):
            raise click.ClickException("Command aborted.")
    click.echo(f"Exporting data to: {path.resolve()}")
    body: dict[str, Any] = {"path": str(path.resolve()), "initiatedBy": "emulators:export"}
    if targets:
        body["targets"] = targets
    request = urllib.request.Request(
        f"http://{hub}/_admin/export",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as reply:
            reply.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        try:
            detail = json.loads(detail).get("error", detail)
        except (ValueError, AttributeError):
            pass
        raise click.ClickException(f"export failed: {detail}") from exc
    except OSError as exc:
        raise click.ClickException(f"export failed: {exc}") from exc
    click.echo("Export complete")
