"""``DatabaseEmulator``: the Realtime Database emulator as an ``EmulatorService``.

Export layout (as firebase-tools writes it): ``<dir>/database_export/<namespace>.json`` per
namespace holding data, in ``format=export`` form (priorities included). Each file is written
atomically (temporary file, fsync, rename), and files of namespaces that no longer hold data are
removed only after the new ones are in place, so a crash mid-export never loses the previous one.
"""

from __future__ import annotations

from pathlib import Path

from emulator.aiohttp_web import web
from emulator.database.paths import check_namespace
from emulator.database.rest import MAX_WRITE_BYTES, RestApi
from emulator.database.state import DatabaseState
from emulator.database.values import Json, Normaliser, parse_json
from emulator.database.ws import WebSocketApi
from emulator.export import fsync_directory, write_file_atomically

EXPORT_DIR = "database_export"
EXPORT_VERSION = "firebase-sync-database-1"


class DatabaseEmulator:
    """An in-memory Realtime Database speaking REST + SSE and the WebSocket protocol on one port."""

    name = "database"

    def __init__(
        self,
        *,
        project: str = "demo-firebase-sync",
        keepalive_interval: float = 30.0,
        rules_text: str | None = None,
        max_pending_events: int = 1000,
        max_pending_ws_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.project = project
        self.state = DatabaseState(rules_text)
        self.api = RestApi(
            self.state,
            project=project,
            keepalive_interval=keepalive_interval,
            max_pending_events=max_pending_events,
        )
        self.ws = WebSocketApi(
            self.state,
            project=project,
            heartbeat=max(keepalive_interval, 15.0),
            max_pending_bytes=max_pending_ws_bytes,
        )
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> int:
        """Serve on ``host:port`` (0 = any free port) and return the bound port.

        Raises ``OSError`` when the port is taken, ``RuntimeError`` when already started.
        """
        if self._runner is not None:
            raise RuntimeError("the database emulator is already running")
        self.api.closing = False
        self.ws.closing = False
        app = web.Application(client_max_size=MAX_WRITE_BYTES + 64 * 1024)
        # Every method and path goes to the one handler, which answers all errors as JSON. The
        # router matches the percent-decoded path, so "." would miss a %0A: match any character.
        # The WebSocket protocol (every SDK but the Python admin one) on the same port.
        app.router.add_get("/.ws", self.ws.handle)
        app.router.add_route("*", r"/{tail:[\s\S]*}", self.api.handle)
        app.on_shutdown.append(self.api.close_streams)
        app.on_shutdown.append(self.ws.close_all)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound: int = runner.addresses[0][1]
        return bound

    async def stop(self) -> None:
        """End every stream (clients see a clean end of stream), then close the port."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def reset(self) -> None:
        """Delete the data of every namespace (rules are configuration and stay)."""
        self.state.reset()

    def export_data(self, directory: Path) -> dict[str, object]:
        """Write each namespace holding data to ``directory/database_export/<ns>.json``."""
        target = Path(directory) / EXPORT_DIR
        target.mkdir(parents=True, exist_ok=True)
        written: set[str] = set()
        for ns in self.state.names():
            text = self.state.export_json(ns)
            if text is not None:
                write_file_atomically(target / f"{ns}.json", text)
                written.add(ns)
        for stale in target.glob("*.json"):
            if stale.stem not in written:
                stale.unlink()
        fsync_directory(target)
        return {"version": EXPORT_VERSION, "path": EXPORT_DIR}

    def import_data(self, directory: Path, metadata: dict[str, object]) -> None:
        """Load every ``<ns>.json`` written by ``export_data`` (or by firebase-tools).

        All files are read and parsed before any namespace changes. Raises ``ServiceError`` on
        invalid data or names, ``OSError`` on unreadable files.
        """
        path = metadata.get("path", EXPORT_DIR)
        source = Path(directory) / (path if isinstance(path, str) else EXPORT_DIR)
        loaded: list[tuple[str, Json]] = []
        for file in sorted(source.glob("*.json")):
            data = parse_json(file.read_bytes())
            Normaliser(0).normalise(data, 0, None)  # validate every file before loading any
            loaded.append((check_namespace(file.stem), data))
        for ns, data in loaded:
            self.state.load(ns, data)
