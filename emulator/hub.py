"""The Emulator Hub: discovery (``GET /emulators``) and export (``POST /_admin/export``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.aiohttp_web import web

if TYPE_CHECKING:
    from emulator.suite import EmulatorSuite


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class Hub:
    """The hub answers like firebase-tools' hub, for the suite it belongs to."""

    name = "hub"

    def __init__(self, suite: EmulatorSuite) -> None:
        self._suite = suite
        self._runner: web.AppRunner | None = None
        app = web.Application()
        app.router.add_get("/", self._root)
        app.router.add_get("/emulators", self._emulators)
        app.router.add_post("/_admin/export", self._export)
        self._app = app

    async def start(self, host: str, port: int) -> int:
        self._runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port).start()
        except BaseException:
            await self._runner.cleanup()
            self._runner = None
            raise
        return int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def reset(self) -> None:
        """The hub holds no data."""

    def export_data(self, directory: Path) -> dict[str, object]:
        return {}

    def import_data(self, directory: Path, metadata: dict[str, object]) -> None:
        """The hub holds no data."""

    async def _root(self, request: web.Request) -> web.Response:
        return web.json_response({"message": "Emulator Hub running!"})

    async def _emulators(self, request: web.Request) -> web.Response:
        body = {
            name: {
                "name": name,
                "host": endpoint.host,
                "port": endpoint.port,
                "listen": [{"address": endpoint.host, "port": endpoint.port}],
            }
            for name, endpoint in self._suite.running.endpoints.items()
        }
        return web.json_response(body)

    async def _export(self, request: web.Request) -> web.Response:
        try:
            payload = json.loads(await request.text() or "{}")
        except json.JSONDecodeError:
            return _error(400, "request body must be JSON")
        path = payload.get("path") if isinstance(payload, dict) else None
        if not isinstance(path, str) or not path:
            return _error(400, "export requires a 'path'")
        targets = payload.get("targets")
        if targets is not None and (
            not isinstance(targets, list) or not all(isinstance(t, str) for t in targets)
        ):
            return _error(400, "'targets' must be a list of emulator names")
        try:
            await self._suite.export(Path(path), only=targets)
        except OSError as exc:
            return _error(400, f"could not export to {path}: {exc.strerror or exc}")
        return web.json_response({})
