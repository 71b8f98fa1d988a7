"""Starting and stopping the emulators together, in the caller's loop or on a thread."""

from __future__ import annotations

import asyncio
import errno
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from emulator.config import DEFAULT_PROJECT, SERVICES, EmulatorConfig
from emulator.export import export_directory, read_export_metadata
from emulator.service import EmulatorService

T = TypeVar("T")

DISPLAY_NAMES = {"database": "Database", "firestore": "Firestore", "hub": "Emulator Hub"}


class SuiteError(RuntimeError):
    """The suite cannot start as asked (unknown or unavailable emulator, port taken)."""


class PortInUseError(SuiteError):
    """A configured port is already taken by another process."""


@dataclass(frozen=True)
class Endpoint:
    """Where one running emulator listens."""

    name: str
    host: str
    port: int

    @property
    def client_host(self) -> str:
        """``host:port`` as a client on this machine should dial it."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class RunningSuite:
    """The endpoints of a started suite and the environment clients need to find them."""

    project: str
    endpoints: dict[str, Endpoint]

    @property
    def database_host(self) -> str | None:
        endpoint = self.endpoints.get("database")
        return endpoint.client_host if endpoint else None

    @property
    def firestore_host(self) -> str | None:
        endpoint = self.endpoints.get("firestore")
        return endpoint.client_host if endpoint else None

    def environment(self) -> dict[str, str]:
        """The variables the official SDKs and CLI read to find these emulators."""
        env = {"GCLOUD_PROJECT": self.project, "GOOGLE_CLOUD_PROJECT": self.project}
        names = {
            "database": "FIREBASE_DATABASE_EMULATOR_HOST",
            "firestore": "FIRESTORE_EMULATOR_HOST",
            "hub": "FIREBASE_EMULATOR_HUB",
        }
        for name, variable in names.items():
            if name in self.endpoints:
                env[variable] = self.endpoints[name].client_host
        return env


def _create_service(name: str, project: str, config: EmulatorConfig, keepalive: float) -> Any:
    if name == "database":
        from emulator.database.server import DatabaseEmulator

        rules = config.database_rules
        rules_text = rules.read_text(encoding="utf-8") if rules and rules.is_file() else None
        return DatabaseEmulator(
            project=project, keepalive_interval=keepalive, rules_text=rules_text
        )
    if name == "firestore":
        try:
            from emulator.firestore.server import FirestoreEmulator
        except ImportError as exc:
            raise SuiteError("the Firestore emulator is not available in this build") from exc
        rules = config.firestore_rules
        rules_text = rules.read_text(encoding="utf-8") if rules and rules.is_file() else None
        return FirestoreEmulator(project=project, rules_text=rules_text)
    raise SuiteError(f"unknown emulator {name!r}; choose from {', '.join(SERVICES)}")


class EmulatorSuite:
    """The chosen emulators plus the hub, started and stopped as one.

    ``free_ports=True`` ignores configured ports and binds free ones (parallel test runs).
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        only: Sequence[str] | None = None,
        project: str = DEFAULT_PROJECT,
        host: str | None = None,
        import_dir: Path | None = None,
        export_on_exit: Path | None = None,
        free_ports: bool = False,
        with_hub: bool = True,
        database_keepalive: float = 30.0,
    ) -> None:
        self.config = config or EmulatorConfig()
        names = list(only) if only else list(self.config.enabled)
        for name in names:
            if name not in SERVICES:
                raise SuiteError(f"unknown emulator {name!r}; choose from {', '.join(SERVICES)}")
        self.project = project
        self.host = host
        self.import_dir = import_dir
        self.export_on_exit = export_on_exit
        self.free_ports = free_ports
        self.services: dict[str, EmulatorService] = {
            name: _create_service(name, project, self.config, database_keepalive) for name in names
        }
        if with_hub:
            from emulator.hub import Hub

            self.services["hub"] = Hub(self)
        self._endpoints: dict[str, Endpoint] = {}
        self._started: list[EmulatorService] = []

    @property
    def running(self) -> RunningSuite:
        return RunningSuite(self.project, dict(self._endpoints))

    async def start(self) -> RunningSuite:
        """Import data if asked, then bind every emulator; on any failure stop what started."""
        if self.import_dir is not None:
            self._import(self.import_dir)
        try:
            for name, service in self.services.items():
                host = self.config.host_for(name, self.host)
                port = 0 if self.free_ports else self.config.ports[name]
                try:
                    bound = await service.start(host, port)
                except OSError as exc:
                    if exc.errno == errno.EADDRINUSE:
                        raise PortInUseError(
                            f"could not start the {DISPLAY_NAMES[name]} emulator: "
                            f"port {port} on {host} is already in use; free it or change "
                            f"emulators.{name}.port in firebase.json"
                        ) from exc
                    raise SuiteError(
                        f"could not start the {DISPLAY_NAMES[name]} emulator on "
                        f"{host}:{port}: {exc}"
                    ) from exc
                self._started.append(service)
                self._endpoints[name] = Endpoint(name, host, bound)
        except BaseException:
            await self._stop_started()
            raise
        return self.running

    async def export(self, directory: Path, only: Sequence[str] | None = None) -> None:
        """Write every data-holding emulator's state (or those in ``only``) to ``directory``.

        The directory is swapped in whole; sources a previous export there held and this one
        does not write are kept.
        """
        exporters = {
            name: service.export_data
            for name, service in self.services.items()
            if name != "hub" and (only is None or name in only)
        }
        export_directory(directory, exporters)

    def _import(self, directory: Path) -> None:
        root, metadata = read_export_metadata(directory)
        for name, service in self.services.items():
            entry = metadata.get(name)
            if name != "hub" and isinstance(entry, dict):
                service.import_data(root, entry)

    async def stop(self) -> None:
        """Export if asked (before anything closes), then stop every emulator."""
        try:
            if self.export_on_exit is not None and self._started:
                await self.export(self.export_on_exit)
        finally:
            await self._stop_started()

    async def _stop_started(self) -> None:
        while self._started:
            await self._started.pop().stop()
        self._endpoints.clear()

    def start_in_thread(self) -> ThreadedSuite:
        """Run the suite on a private event loop in a daemon thread (tests, embedding)."""
        threaded = ThreadedSuite(self)
        threaded.start()
        return threaded


class ThreadedSuite:
    """An ``EmulatorSuite`` served from its own loop thread; ``stop()`` joins it."""

    def __init__(self, suite: EmulatorSuite) -> None:
        self.suite = suite
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="firebase-sync-emulators", daemon=True
        )
        self.running: RunningSuite | None = None

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``coro`` on the emulators' loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> RunningSuite:
        self._thread.start()
        try:
            self.running = self.call(self.suite.start())
        except BaseException:
            self._shutdown_loop()
            raise
        return self.running

    def stop(self) -> None:
        try:
            self.call(self.suite.stop())
        finally:
            self._shutdown_loop()

    def _shutdown_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()
