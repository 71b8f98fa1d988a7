"""``DatabaseEmulator`` as a service: ports, SSE framing, shutdown, reset, export and import.

Each test runs its own emulator in the test's event loop and talks to it with aiohttp.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from firebase_sync_emulator.database import DatabaseEmulator
from firebase_sync_emulator.errors import ServiceError

NS = "demo-firebase-sync-default-rtdb"
SSE = {"Accept": "text/event-stream", "Authorization": "Bearer owner"}


@pytest.fixture
async def emulator() -> AsyncIterator[tuple[DatabaseEmulator, str]]:
    service = DatabaseEmulator(keepalive_interval=0.1)
    port = await service.start("127.0.0.1", 0)
    try:
        yield service, f"http://127.0.0.1:{port}"
    finally:
        await service.stop()


async def read_frames(response: aiohttp.ClientResponse, count: int) -> list[bytes]:
    frames: list[bytes] = []
    buffer = b""
    while len(frames) < count:
        chunk = await asyncio.wait_for(response.content.readany(), 5)
        assert chunk, f"stream ended after {frames}"
        buffer += chunk
        while b"\n\n" in buffer and len(frames) < count:
            frame, buffer = buffer.split(b"\n\n", 1)
            frames.append(frame + b"\n\n")
    return frames


async def test_port_zero_and_port_in_use(emulator: tuple[DatabaseEmulator, str]) -> None:
    service, base = emulator
    port = int(base.rsplit(":", 1)[1])
    assert port > 0
    other = DatabaseEmulator()
    with pytest.raises(OSError):
        await other.start("127.0.0.1", port)
    with pytest.raises(RuntimeError):
        await service.start("127.0.0.1", 0)
    await other.stop()  # never started: harmless


async def test_sse_framing(emulator: tuple[DatabaseEmulator, str]) -> None:
    _, base = emulator
    async with aiohttp.ClientSession() as http:
        await http.put(f"{base}/r.json?ns=t", json={"a": "Zoë ✓"})
        async with http.get(f"{base}/r.json?ns=t", headers=SSE) as stream:
            assert stream.status == 200
            assert stream.headers["Content-Type"] == "text/event-stream; charset=utf-8"
            # close-delimited body: firebase-admin's close() then ends its thread cleanly
            assert "Transfer-Encoding" not in stream.headers
            assert "Content-Length" not in stream.headers
            first = (await read_frames(stream, 1))[0]
            assert first == b'event: put\ndata: {"path":"/","data":{"a":"Zo\\u00eb \\u2713"}}\n\n'
            await http.patch(f"{base}/r.json?ns=t&print=silent", json={"b/c": 1})
            frames = await read_frames(stream, 3)
            assert frames[0] == b'event: patch\ndata: {"path":"/","data":{"b/c":1}}\n\n'
            assert frames[1:] == [b"event: keep-alive\ndata: null\n\n"] * 2
            assert all(not line.startswith(b":") for f in frames for line in f.split(b"\n"))
            assert all(b"\r" not in f for f in frames)


async def test_filtered_stream_sends_the_window(emulator: tuple[DatabaseEmulator, str]) -> None:
    _, base = emulator
    async with aiohttp.ClientSession() as http:
        await http.put(f"{base}/s.json", json={"a": 1, "b": 2, "c": 3})
        query = 'orderBy="$value"&limitToLast=2'
        async with http.get(f"{base}/s.json?{query}", headers=SSE) as stream:
            await http.put(f"{base}/s/a.json", json=0)
            await http.put(f"{base}/s/d.json", json=9)
            frames = [f for f in await read_frames(stream, 3) if b"keep-alive" not in f]
            assert frames[:2] == [
                b'event: put\ndata: {"path":"/","data":{"b":2,"c":3}}\n\n',
                b'event: put\ndata: {"path":"/","data":{"c":3,"d":9}}\n\n',
            ]


async def test_stop_ends_every_stream_quickly(emulator: tuple[DatabaseEmulator, str]) -> None:
    service, base = emulator
    async with aiohttp.ClientSession() as http:
        streams = [await http.get(f"{base}/x{i}.json", headers=SSE) for i in range(3)]
        for stream in streams:
            await read_frames(stream, 1)
        start = time.perf_counter()
        await service.stop()
        assert time.perf_counter() - start < 1.5
        for stream in streams:
            rest = await asyncio.wait_for(stream.content.read(), 2)
            assert b"event: put" not in rest  # ended cleanly, nothing after
            assert stream.content.at_eof()
            stream.release()
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(f"{base}/x.json")


async def test_slow_listener_gets_cancel_then_the_stream_ends() -> None:
    service = DatabaseEmulator(keepalive_interval=5, max_pending_events=5)
    port = await service.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession(read_bufsize=2**16) as http:
            stream = await http.get(f"http://127.0.0.1:{port}/big.json", headers=SSE)
            await read_frames(stream, 1)
            blob = "x" * 200_000
            for i in range(100):  # ~20 MB the client does not read: socket buffers fill up
                value = f"{i}{blob}"
                service.state.write(NS, ("big",), lambda t: t.set(("big",), value))  # noqa: B023
                await asyncio.sleep(0)
            listener = next(iter(service.api.streams), None)
            assert listener is None or listener.overflowed
            rest = await asyncio.wait_for(stream.content.read(), 10)
            assert rest.endswith(b"event: cancel\ndata: null\n\n")
            assert service.api.streams == set()
            stream.release()
    finally:
        await service.stop()


async def test_streaming_a_priority_is_refused(emulator: tuple[DatabaseEmulator, str]) -> None:
    _, base = emulator
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/a/.priority.json", headers=SSE) as response:
            assert response.status == 400


async def test_reset(emulator: tuple[DatabaseEmulator, str]) -> None:
    service, base = emulator
    async with aiohttp.ClientSession() as http:
        await http.put(f"{base}/a.json?ns=one", json=1)
        await http.put(f"{base}/a.json?ns=two", json=2)
        service.reset()
        for ns in ("one", "two"):
            async with http.get(f"{base}/.json?ns={ns}") as response:
                assert await response.json() is None


async def test_export_import_round_trip(
    emulator: tuple[DatabaseEmulator, str], tmp_path: Path
) -> None:
    service, base = emulator
    data = {"a": {".value": 1, ".priority": 2}, "list": {"0": "x", "1": "y"}, "s": "Zoë"}
    async with aiohttp.ClientSession() as http:
        await http.put(f"{base}/.json?ns=demo-one", json=data)
        await http.put(f"{base}/.json?ns=demo-two", json={"b": True})
        await http.get(f"{base}/.json?ns=demo-empty")
    (tmp_path / "database_export").mkdir()
    (tmp_path / "database_export" / "demo-stale.json").write_text('{"old": 1}')
    metadata = service.export_data(tmp_path)
    assert metadata["path"] == "database_export" and isinstance(metadata["version"], str)
    files = sorted(p.name for p in (tmp_path / "database_export").iterdir())
    assert files == ["demo-one.json", "demo-two.json"]  # no stale, empty or temporary files
    assert json.loads((tmp_path / "database_export" / "demo-one.json").read_text()) == data

    fresh = DatabaseEmulator()
    fresh.import_data(tmp_path, metadata)
    assert fresh.state.export_json("demo-one") == service.state.export_json("demo-one")
    assert fresh.state.export_json("demo-two") == service.state.export_json("demo-two")


def test_import_refuses_bad_files_and_changes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "database_export"
    folder.mkdir()
    (folder / "demo-a.json").write_text('{"ok": 1}')
    (folder / "demo-b.json").write_text('{"bad.key": 1}')
    service = DatabaseEmulator()
    with pytest.raises(ServiceError):
        service.import_data(tmp_path, {"path": "database_export"})
    assert service.state.export_json("demo-a") is None
