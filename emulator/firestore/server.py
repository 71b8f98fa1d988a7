"""``FirestoreEmulator``: the service the suite starts (gRPC + HTTP on one port)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import grpc

from emulator.aiohttp_web import web

from .export import export_store, import_store
from .frontdoor import FrontDoor
from .listen import ListenEngine
from .rest import build_app
from .rest_v1 import RestApi
from .security.guard import Guard
from .servicer import FirestoreServicer
from .store import Store
from .transactions import Transactions

T = TypeVar("T")
_MAX_MESSAGE = 32 * 1024 * 1024  # above the 10 MiB API limit, so we can name the limit


class FirestoreEmulator:
    """The embedded Cloud Firestore emulator (``emulator.service.EmulatorService``)."""

    name = "firestore"

    def __init__(self, *, project: str = "demo-firebase-sync", rules_text: str | None = None
                 ) -> None:
        """``rules_text``: Firestore rules for every project (open access when ``None``);
        raises ``ServiceError(INVALID_ARGUMENT)`` when it does not compile."""
        self.project = project
        self.store = Store()
        self.engine = ListenEngine(self.store)
        self.txns = Transactions()
        self.guard = Guard(rules_text)
        self.servicer = FirestoreServicer(self.store, self.engine, self.txns, self.guard)
        self._grpc: grpc.aio.Server | None = None
        self._http: web.AppRunner | None = None
        self._door: FrontDoor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._socket_dir: str | None = None
        self.port: int | None = None

    async def start(self, host: str, port: int) -> int:
        """Serve on ``host:port`` (0 = a free port); return the bound port.

        Raises OSError when the port is taken.
        """
        self._loop = asyncio.get_running_loop()
        self._grpc = grpc.aio.server(options=[
            ("grpc.max_receive_message_length", _MAX_MESSAGE),
            ("grpc.max_send_message_length", -1),
            ("grpc.so_reuseport", 0),
        ])
        self._grpc.add_generic_rpc_handlers((self.servicer.handler(),))
        grpc_target: int | str
        if hasattr(socket, "AF_UNIX"):
            self._socket_dir = tempfile.mkdtemp(prefix="firestore-emulator-")
            grpc_target = os.path.join(self._socket_dir, "grpc.sock")
            self._grpc.add_insecure_port(f"unix:{grpc_target}")
        else:
            grpc_target = self._grpc.add_insecure_port("127.0.0.1:0")
        await self._grpc.start()
        app = build_app(self.store, self.engine, self.reset, self.guard)
        RestApi(self.servicer).install(app)
        self._http = web.AppRunner(app, access_log=None)
        await self._http.setup()
        site = web.TCPSite(self._http, "127.0.0.1", 0)
        await site.start()
        http_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._door = FrontDoor(grpc_target, http_port)
        try:
            self.port = await self._door.start(host, port)
        except OSError:
            await self.stop()
            raise
        return self.port

    async def stop(self) -> None:
        """End every Listen stream with CANCELLED (so clients close cleanly), then close."""
        self.engine.end_all("CANCELLED", "the emulator is shutting down")
        for _ in range(100):
            if not self.engine.stream_count:
                break
            await asyncio.sleep(0.01)
        if self._door is not None:
            await self._door.close()
            self._door = None
        if self._grpc is not None:
            await self._grpc.stop(0.2)
            self._grpc = None
        if self._http is not None:
            await self._http.cleanup()
            self._http = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    def abort_listen_streams(self, code: str = "UNAVAILABLE") -> int:
        """Test hook: end every open Listen stream with ``code`` (clients resume)."""
        return self._on_loop(lambda: self.engine.end_all(code, "stream aborted by test hook"))

    def reset(self) -> None:
        """Forget all data in every project and database."""
        self._on_loop(self.store.reset)

    def export_data(self, directory: Path) -> dict[str, object]:
        return export_store(self.store, directory)

    def import_data(self, directory: Path, metadata: dict[str, object]) -> None:
        self._on_loop(lambda: import_store(self.store, directory, metadata, self.project))

    def _on_loop(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the serving loop: listeners' queues are not thread-safe."""
        loop = self._loop
        if loop is None or not loop.is_running() or _on_thread_of(loop):
            return fn()

        async def call() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), loop).result()


def _on_thread_of(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
