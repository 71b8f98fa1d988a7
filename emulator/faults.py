"""A TCP proxy that injects network faults between clients and an emulator (for tests).

Put it in front of an emulator port and point the SDK at the proxy. It can drop every
connection (reset), stall them (black hole: bytes are held, sockets stay open), add delay,
cut a connection after N bytes (mid-message), cut the next request or the next reply in the
middle (:meth:`FaultProxy.cut_next`), and refuse new connections.

:class:`FaultyEmulators` runs both emulators, each behind its own proxy and restartable on
its port with its data, on a private loop thread: the rig of the kit's fault tests and of
``benchmarks/recovery.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

T = TypeVar("T")
_CHUNK = 64 * 1024


@dataclass
class FaultStats:
    """What the proxy has seen and done."""

    connections: int = 0
    drops: int = 0
    refused: int = 0
    cuts: int = 0
    bytes_forwarded: int = 0


class FaultProxy:
    """Forward ``listen_host:port`` to ``target_host:target_port``, with faults on demand."""

    def __init__(self, target_host: str, target_port: int, listen_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.listen_host = listen_host
        self.port = 0
        self.delay = 0.0
        self.refuse = False
        self.stats = FaultStats()
        self._open = asyncio.Event()
        self._open.set()
        self._cut_after: int | None = None
        self._cut_next: set[str] = set()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> str:
        """``host:port`` for clients."""
        return f"{self.listen_host}:{self.port}"

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._accept, self.listen_host, port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self.drop()
            await self._server.wait_closed()
            self._server = None

    async def drop(self) -> None:
        """Reset every open connection at once."""
        writers = list(self._writers)
        self.stats.drops += len(writers) // 2
        for writer in writers:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                # SO_LINGER 0: close with RST, as a broken network does.
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            writer.transport.abort()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    def blackhole(self, stalled: bool) -> None:
        """Hold (``True``) or release (``False``) every byte in both directions."""
        if stalled:
            self._open.clear()
        else:
            self._open.set()

    def cut_next(self, direction: Literal["request", "response"]) -> None:
        """Cut the connection that next carries bytes in ``direction`` (towards the server:
        ``"request"``; towards the client: ``"response"``), after forwarding half of them.
        One shot: later bytes flow normally."""
        self._cut_next.add(direction)

    def cut_after(self, nbytes: int | None) -> None:
        """Cut each connection once it has carried ``nbytes`` towards the client."""
        self._cut_after = nbytes

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refuse:
            self.stats.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            self.stats.refused += 1
            writer.transport.abort()
            return
        self.stats.connections += 1
        self._writers.update((writer, up_writer))
        downstream = asyncio.ensure_future(self._pipe(up_reader, writer, towards_client=True))
        upstream = asyncio.ensure_future(self._pipe(reader, up_writer, towards_client=False))
        for task in (downstream, upstream):
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)
        await asyncio.gather(downstream, upstream, return_exceptions=True)
        for each in (writer, up_writer):
            self._writers.discard(each)
            each.transport.abort()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, towards_client: bool
    ) -> None:
        carried = 0
        try:
            while data := await reader.read(_CHUNK):
                await self._open.wait()
                if self.delay:
                    await asyncio.sleep(self.delay)
                direction = "response" if towards_client else "request"
                if direction in self._cut_next:
                    self._cut_next.discard(direction)
                    writer.write(data[: len(data) // 2])
                    self.stats.cuts += 1
                    await self._abort_pair(writer)
                    return
                if towards_client and self._cut_after is not None:
                    room = self._cut_after - carried
                    if room <= len(data):
                        writer.write(data[: max(room, 0)])
                        self.stats.cuts += 1
                        writer.transport.abort()
                        return
                carried += len(data)
                self.stats.bytes_forwarded += len(data)
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except (OSError, asyncio.IncompleteReadError):
            writer.transport.abort()

    async def _abort_pair(self, writer: asyncio.StreamWriter) -> None:
        """Reset this connection on both sides, as a broken network does."""
        with contextlib.suppress(OSError, ConnectionError):
            await writer.drain()
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        writer.transport.abort()


class ThreadedFaultProxy:
    """A ``FaultProxy`` on its own loop thread, for tests driving synchronous SDKs."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.proxy: FaultProxy = self.call(self._make(target_host, target_port))
        self.call(self.proxy.start())

    @staticmethod
    async def _make(host: str, port: int) -> FaultProxy:
        return FaultProxy(host, port)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def drop(self) -> None:
        self.call(self.proxy.drop())

    def stop(self) -> None:
        try:
            self.call(self.proxy.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
            self.loop.close()


Service = Literal["database", "firestore"]


class FaultyEmulators:
    """Both emulators behind fault proxies on a private loop thread (for tests, benchmarks).

    Clients talk to :meth:`host` (the proxy); :meth:`direct_host` bypasses it. Every control
    method is safe to call from any thread or loop.
    """

    def __init__(self, project: str = "demo-faults", *, keepalive_interval: float = 0.5) -> None:
        from .database.server import DatabaseEmulator
        from .firestore.server import FirestoreEmulator

        self.project = project
        self.namespace = f"{project}-default-rtdb"
        self._factories: dict[str, Any] = {
            "database": lambda: DatabaseEmulator(
                project=project, keepalive_interval=keepalive_interval
            ),
            "firestore": lambda: FirestoreEmulator(project=project),
        }
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._scratch = tempfile.TemporaryDirectory(prefix="faulty-emulators-")
        self.services: dict[str, Any] = {}
        self.ports: dict[str, int] = {}
        self.proxies: dict[str, FaultProxy] = {}
        for name in ("database", "firestore"):
            self.services[name] = self._factories[name]()
            self.ports[name] = self.call(self.services[name].start("127.0.0.1", 0))
            self.proxies[name] = self.call(self._proxy(self.ports[name]))

    @staticmethod
    async def _proxy(port: int) -> FaultProxy:
        proxy = FaultProxy("127.0.0.1", port)
        await proxy.start()
        return proxy

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``coro`` on the emulators' loop and wait for it (from a synchronous caller)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def acall(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the emulators' loop and await it (from another loop)."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def host(self, name: Service) -> str:
        return self.proxies[name].address

    def direct_host(self, name: Service) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    def hold(self, name: Service, held: bool) -> None:
        """Black-hole (``True``) or release every byte through ``name``'s proxy."""
        self.loop.call_soon_threadsafe(self.proxies[name].blackhole, held)

    def cut_next(self, name: Service, direction: Literal["request", "response"]) -> None:
        self.loop.call_soon_threadsafe(self.proxies[name].cut_next, direction)

    async def outage(self, name: Service, down: bool) -> None:
        """Start (every connection reset, new ones refused) or end an outage of ``name``."""
        proxy = self.proxies[name]

        async def switch() -> None:
            proxy.refuse = down
            if down:
                await proxy.drop()

        await self.acall(switch())

    async def restart(self, name: Service) -> None:
        """Stop ``name`` and start a fresh instance on the same port with its data."""
        await self.acall(self._restart(name))

    async def _restart(self, name: str) -> None:
        old = self.services[name]
        directory = Path(self._scratch.name) / name
        directory.mkdir(exist_ok=True)
        await old.stop()
        # Exported after the stop, so nothing the old instance acknowledged is lost.
        entry = old.export_data(directory)
        fresh = self._factories[name]()
        fresh.import_data(directory, entry)
        for _ in range(100):  # the port may linger for a moment after close
            try:
                await fresh.start("127.0.0.1", self.ports[name])
                break
            except OSError:
                await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"could not restart {name} on port {self.ports[name]}")
        self.services[name] = fresh

    def close(self) -> None:
        try:
            for proxy in self.proxies.values():
                self.call(proxy.stop())
            for service in self.services.values():
                self.call(service.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()
            self._scratch.cleanup()
