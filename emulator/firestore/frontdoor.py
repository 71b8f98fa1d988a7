"""One public port for gRPC and HTTP/1.1.

grpcio cannot answer HTTP/1.1, so the public listener peeks at each connection: one that
starts with the HTTP/2 client preface is piped to the internal grpc.aio server, anything else
to the internal aiohttp port. grpc listens on a Unix socket where there is one (each message
crosses it as its own send, which costs far less there than over loopback TCP) and on
127.0.0.1 otherwise; aiohttp on 127.0.0.1. The pipe is
protocol-based (no stream readers or drain coroutines) because a Listen snapshot of many
documents is many small frames and per-chunk overhead dominates.

grpc writes every streamed message with its own send, so a big snapshot arrives as ~150-byte
chunks, one event-loop callback and one send each. When chunks come back to back, a pipe end
stops reading for ``REST_S`` so the next read takes the whole burst at once; an isolated
message (a single write or change notification) is forwarded without delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#: chunks closer together than this count as a burst ...
BURST_S = 0.0005
#: ... and make the pipe rest this long before its next read.
REST_S = 0.004


class _Pipe(asyncio.Protocol):
    """One direction-agnostic end of a pipe; forwards bytes to its peer's transport."""

    def __init__(self, door: FrontDoor) -> None:
        self.door = door
        self.transport: asyncio.Transport | None = None
        self.peer: _Pipe | None = None
        self.pending = bytearray()  # client bytes that arrive before routing is decided
        self.routing = False
        self.backpressure = False  # the peer's write buffer is full: keep reading paused
        self.resting = False
        self.last_read = 0.0

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        _nodelay(transport)
        self.door._pipes.add(self)

    def data_received(self, data: bytes) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)
            loop = asyncio.get_running_loop()
            now = loop.time()
            if now - self.last_read < BURST_S and not self.resting:
                self.resting = True
                assert self.transport is not None
                self.transport.pause_reading()
                loop.call_later(REST_S, self._wake)
            self.last_read = now
            return
        self.pending += data
        if not self.routing and (len(self.pending) >= len(PREFACE)
                                 or not PREFACE.startswith(bytes(self.pending))):
            self.routing = True
            upstream = (self.door.grpc_target if self.pending.startswith(PREFACE)
                        else self.door.http_port)
            task = asyncio.get_running_loop().create_task(self._connect(upstream))
            self.door._tasks.add(task)
            task.add_done_callback(self.door._tasks.discard)

    def eof_received(self) -> bool:
        if self.peer is not None and self.peer.transport is not None:
            with contextlib.suppress(OSError, RuntimeError):
                if self.peer.transport.can_write_eof():
                    self.peer.transport.write_eof()
                    return True
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.door._pipes.discard(self)
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()

    def pause_writing(self) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.backpressure = True
            peer.transport.pause_reading()

    def resume_writing(self) -> None:
        peer = self.peer
        if peer is not None:
            peer.backpressure = False
            peer._resume()

    def _wake(self) -> None:
        self.resting = False
        self._resume()

    def _resume(self) -> None:
        if self.resting or self.backpressure:
            return
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    # -- routing
    async def _connect(self, target: int | str) -> None:
        """Connect to ``target`` (a 127.0.0.1 port or a Unix socket path) and start piping."""
        loop = asyncio.get_running_loop()
        try:
            if isinstance(target, str):
                _, upstream = await loop.create_unix_connection(lambda: _Pipe(self.door),
                                                                target)
            else:
                _, upstream = await loop.create_connection(lambda: _Pipe(self.door),
                                                           "127.0.0.1", target)
        except OSError:
            if self.transport is not None:
                self.transport.close()
            return
        if self.transport is None or self.transport.is_closing():
            if upstream.transport is not None:
                upstream.transport.close()
            return
        upstream.peer, self.peer = self, upstream
        assert upstream.transport is not None
        upstream.transport.write(bytes(self.pending))
        self.pending.clear()


class FrontDoor:
    """An asyncio listener that routes each connection by its first bytes."""

    def __init__(self, grpc_target: int | str, http_port: int) -> None:
        """``grpc_target``: the grpc server's 127.0.0.1 port or Unix socket path."""
        self.grpc_target = grpc_target
        self.http_port = http_port
        self._server: asyncio.Server | None = None
        self._pipes: set[_Pipe] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> int:
        """Bind ``host:port`` (0 = any free port); raises OSError if taken."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Pipe(self), host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for pipe in list(self._pipes):
            if pipe.transport is not None:
                pipe.transport.close()
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        await asyncio.sleep(0)  # let connection_lost callbacks run


def _nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
