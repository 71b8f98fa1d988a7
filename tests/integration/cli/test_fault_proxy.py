"""The fault proxy forwards bytes faithfully and injects each fault it promises."""

from __future__ import annotations

import asyncio

import pytest

from firebase_sync_emulator.faults import FaultProxy


@pytest.fixture
async def echo_server() -> object:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    yield server
    server.close()
    await server.wait_closed()


async def _proxy(server: asyncio.Server) -> FaultProxy:
    proxy = FaultProxy("127.0.0.1", server.sockets[0].getsockname()[1])
    await proxy.start()
    return proxy


async def test_forwards_and_drops(echo_server: asyncio.Server) -> None:
    proxy = await _proxy(echo_server)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"hello")
    assert await reader.readexactly(5) == b"hello"
    await proxy.drop()
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        writer.write(b"again")
        await writer.drain()
        await asyncio.wait_for(reader.readexactly(5), 2)
    assert proxy.stats.connections == 1 and proxy.stats.drops == 1
    writer.close()
    await proxy.stop()


async def test_blackhole_holds_bytes_until_released(echo_server: asyncio.Server) -> None:
    proxy = await _proxy(echo_server)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    proxy.blackhole(True)
    writer.write(b"ping")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.readexactly(4), 0.3)
    proxy.blackhole(False)
    assert await asyncio.wait_for(reader.readexactly(4), 2) == b"ping"
    writer.close()
    await proxy.stop()


async def test_cut_mid_message_and_refuse(echo_server: asyncio.Server) -> None:
    proxy = await _proxy(echo_server)
    proxy.cut_after(3)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"abcdef")
    received = await asyncio.wait_for(reader.read(100), 2)
    assert received == b"abc"
    assert await asyncio.wait_for(reader.read(100), 2) == b""
    assert proxy.stats.cuts == 1
    writer.close()
    proxy.cut_after(None)
    proxy.refuse = True
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    assert await asyncio.wait_for(reader.read(100), 2) == b""
    assert proxy.stats.refused == 1
    writer.close()
    await proxy.stop()
