"""The ``/.ws`` protocol frame by frame, with a raw WebSocket client (aiohttp).

What the SDK tests cannot show: the exact handshake, frames, error answers, closes, the bound
on a client that stops reading, and the order of pushes and answers.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from emulator.database import DatabaseEmulator
from emulator.database.tree import Tree, Write
from emulator.database.wsproto import MAX_FRAME_CHARS

NS = "demo-firebase-sync-default-rtdb"


@pytest.fixture
async def emulator() -> AsyncIterator[tuple[DatabaseEmulator, str]]:
    service = DatabaseEmulator(keepalive_interval=0.1, max_pending_ws_bytes=2 * 1024 * 1024)
    port = await service.start("127.0.0.1", 0)
    try:
        yield service, f"127.0.0.1:{port}"
    finally:
        await service.stop()


class Client:
    """A raw protocol client: sends requests, reassembles frames, collects pushes."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_request = 0

    async def message(self) -> dict[str, Any]:
        async with asyncio.timeout(5):
            first = await self.ws.receive_str()
            if len(first) <= 6 and first.isdigit():
                first = "".join([await self.ws.receive_str() for _ in range(int(first))])
        parsed: dict[str, Any] = json.loads(first)
        return parsed

    async def send(self, action: str, body: Any) -> int:
        self.next_request += 1
        await self.ws.send_str(
            json.dumps({"t": "d", "d": {"r": self.next_request, "a": action, "b": body}})
        )
        return self.next_request

    async def request(self, action: str, body: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Send a request; return its answer body and the pushes that came before it."""
        number = await self.send(action, body)
        pushes: list[dict[str, Any]] = []
        while True:
            message = await self.message()
            data = message["d"]
            if data.get("r") == number:
                return data["b"], pushes
            pushes.append(data)

    async def push(self) -> dict[str, Any]:
        message = await self.message()
        assert "a" in message["d"], message
        body: dict[str, Any] = message["d"]
        return body


async def connect(
    session: aiohttp.ClientSession, host: str, query: str = f"v=5&ns={NS}", **kwargs: Any
) -> Client:
    ws = await session.ws_connect(f"http://{host}/.ws?{query}", **kwargs)
    client = Client(ws)
    hello = await client.message()
    assert hello["t"] == "c" and hello["d"]["t"] == "h"
    return client


async def rest(
    session: aiohttp.ClientSession,
    host: str,
    method: str,
    path: str,
    body: Any = None,
    ns: str = NS,
) -> Any:
    async with session.request(
        method,
        f"http://{host}/{path}.json?ns={ns}",
        data=None if body is None else json.dumps(body),
    ) as response:
        assert response.status < 300, await response.text()
        return await response.json(content_type=None)


async def test_handshake(emulator: tuple[DatabaseEmulator, str]) -> None:
    _, host = emulator
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"http://{host}/.ws?v=5&ns={NS}")
        hello = json.loads(await ws.receive_str())
        assert hello["t"] == "c" and hello["d"]["t"] == "h"
        body = hello["d"]["d"]
        assert body["v"] == "5" and body["h"] == host and len(body["s"]) >= 16
        assert abs(body["ts"] - time.time() * 1000) < 5000
        await ws.close()


async def test_keepalive_ping_and_requests(emulator: tuple[DatabaseEmulator, str]) -> None:
    _, host = emulator
    async with aiohttp.ClientSession() as session:
        client = await connect(session, host)
        await client.ws.send_str("0")  # the client's keep-alive: no answer, no harm
        await client.ws.send_str(json.dumps({"t": "c", "d": {"t": "p", "d": {}}}))
        assert await client.message() == {"t": "c", "d": {"t": "o", "d": {}}}
        for action, body in (
            ("s", {"c": {"sdk.js.12-0-0": 1}}),
            ("gauth", {"cred": "owner"}),
            ("unauth", {}),
            ("appcheck", {"token": "x"}),
            ("unappeck", {}),
        ):
            answer, _ = await client.request(action, body)
            assert answer["s"] == "ok", (action, answer)
        # An unsigned mock token (as @firebase/rules-unit-testing makes) is accepted.
        claims = {"sub": "alice", "user_id": "alice", "exp": 2_000_000_000}
        payload = json.dumps(claims).encode()
        token = (
            "eyJhbGciOiJub25lIn0." + base64.urlsafe_b64encode(payload).decode().rstrip("=") + "."
        )
        answer, _ = await client.request("auth", {"cred": token})
        auth = {"uid": "alice", "token": claims}
        assert answer == {"s": "ok", "d": {"auth": auth, "expires": 2_000_000_000}}
        answer, _ = await client.request("auth", {"cred": "not-a-jwt"})
        assert answer["s"] == "invalid_token"


async def test_namespace_from_query_or_host(emulator: tuple[DatabaseEmulator, str]) -> None:
    _, host = emulator
    port = host.split(":")[1]
    async with aiohttp.ClientSession() as session:
        by_query = await connect(session, host, "v=5&ns=other-ns")
        answer, _ = await by_query.request("p", {"p": "/x", "d": 1})
        assert answer["s"] == "ok"
        by_host = await connect(session, host, "v=5", headers={"Host": f"hostns.localhost:{port}"})
        answer, _ = await by_host.request("p", {"p": "/x", "d": 2})
        assert answer["s"] == "ok"
        assert await rest(session, host, "GET", "x", ns="other-ns") == 1
        assert await rest(session, host, "GET", "x", ns="hostns") == 2
        assert await rest(session, host, "GET", "x") is None
        async with session.get(f"http://{host}/.ws?ns=bad..ns") as response:
            assert response.status == 400


async def test_frames_both_ways(emulator: tuple[DatabaseEmulator, str]) -> None:
    _, host = emulator
    big = {f"k{i}": "é" * 1000 for i in range(100)}  # 100,000+ characters
    async with aiohttp.ClientSession() as session:
        client = await connect(session, host)
        text = json.dumps({"t": "d", "d": {"r": 1, "a": "p", "b": {"p": "/big", "d": big}}})
        frames = [text[i : i + MAX_FRAME_CHARS] for i in range(0, len(text), MAX_FRAME_CHARS)]
        await client.ws.send_str(str(len(frames)))
        for frame in frames:
            await client.ws.send_str(frame)
        assert (await client.message())["d"] == {"r": 1, "b": {"s": "ok", "d": ""}}
        await client.send("g", {"p": "/big"})
        count = await client.ws.receive_str()
        assert count.isdigit() and int(count) > 1
        pieces = [await client.ws.receive_str() for _ in range(int(count))]
        assert all(len(piece) <= MAX_FRAME_CHARS for piece in pieces)
        assert json.loads("".join(pieces))["d"]["b"]["d"] == big


async def test_bad_requests_are_answered_and_change_nothing(
    emulator: tuple[DatabaseEmulator, str],
) -> None:
    service, host = emulator
    async with aiohttp.ClientSession() as session:
        client = await connect(session, host)
        assert (await client.request("p", {"p": "/a", "d": {"b": 1}}))[0]["s"] == "ok"
        for action, body in (
            ("p", {"p": "/a/b.c", "d": 1}),
            ("p", {"p": "/a", "d": {"bad.key": 1}}),
            ("p", {"p": "/a", "d": {".sv": "nonsense"}}),
            ("p", {"p": "/a"}),
            ("p", {"p": 7, "d": 1}),
            ("m", {"p": "/a", "d": 5}),
            ("m", {"p": "/a", "d": {"x": 1, "x/y": 2}}),
            ("q", {"p": "/a", "q": {"i": ".key", "sp": 3}, "t": 1}),
            ("q", {"p": "/a", "q": {"l": -1, "vf": "l"}, "t": 1}),
            ("q", {"p": "/a", "q": {"zz": 1}, "t": 1}),
            ("g", {"p": "/a", "q": "nope"}),
            ("o", {"p": "/a", "d": {"$x": 1}}),
            ("zz", {}),
            ("p", "not an object"),
        ):
            answer, _ = await client.request(action, body)
            assert answer["s"] == "invalid_args" and isinstance(answer["d"], str), (action, body)
        answer, _ = await client.request("p", {"p": "/a", "d": 2, "h": "stale-hash"})
        assert answer["s"] == "datastale"
        assert await rest(session, host, "GET", "a") == {"b": 1}
        # the connection is still usable
        assert (await client.request("g", {"p": "/a"}))[0] == {"s": "ok", "d": {"b": 1}}
    assert service.ws.statuses["datastale"] == 1


@pytest.mark.parametrize(
    ("frame", "code"),
    [("not json", 1002), ("[1,2]", 1002), ('{"t":"x","d":{}}', 1002), ("999999", 1009)],
)
async def test_protocol_violations_close(
    emulator: tuple[DatabaseEmulator, str], frame: str, code: int
) -> None:
    _, host = emulator
    async with aiohttp.ClientSession() as session:
        client = await connect(session, host)
        await client.ws.send_str(frame)
        closing = await asyncio.wait_for(client.ws.receive(), 5)
        assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == code
        # the server carries on
        other = await connect(session, host)
        assert (await other.request("g", {"p": "/"}))[0]["s"] == "ok"


async def test_binary_frame_closes(emulator: tuple[DatabaseEmulator, str]) -> None:
    _, host = emulator
    async with aiohttp.ClientSession() as session:
        client = await connect(session, host)
        await client.ws.send_bytes(b"\x00\x01")
        closing = await asyncio.wait_for(client.ws.receive(), 5)
        assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1003


async def test_pushes_follow_writes_from_both_sides(emulator: tuple[DatabaseEmulator, str]) -> None:
    _, host = emulator
    async with aiohttp.ClientSession() as session:
        listener = await connect(session, host)
        answer, pushes = await listener.request("q", {"p": "/room", "h": ""})
        assert answer == {"s": "ok", "d": {}}
        assert pushes == [{"a": "d", "b": {"p": "room", "d": None}}]
        await rest(session, host, "PUT", "room/a", {"x": 1, ".priority": 2})
        assert await listener.push() == {
            "a": "d",
            "b": {"p": "room/a", "d": {"x": 1, ".priority": 2}},
        }
        await rest(session, host, "PATCH", "room", {"b": {".sv": "timestamp"}, "a/y": True})
        merge = await listener.push()
        assert merge["a"] == "m" and merge["b"]["p"] == "room"
        assert merge["b"]["d"]["a/y"] is True and isinstance(merge["b"]["d"]["b"], int)
        await rest(session, host, "PUT", "", {"room": {"c": 3}, "other": 1})
        assert await listener.push() == {"a": "d", "b": {"p": "room", "d": {"c": 3}}}
        await rest(session, host, "PUT", "other", 2)  # sibling: nothing
        writer = await connect(session, host)
        answer, _ = await writer.request("m", {"p": "/room", "d": {"c": None, "d": 4}})
        assert answer["s"] == "ok"
        assert await listener.push() == {"a": "m", "b": {"p": "room", "d": {"c": None, "d": 4}}}
        assert await rest(session, host, "GET", "room") == {"d": 4}
        # the writer's own listen gets the push before the answer to its write
        await writer.request("q", {"p": "/room/d", "h": ""})
        answer, pushes = await writer.request("p", {"p": "/room/d", "d": 5})
        assert answer["s"] == "ok" and pushes == [{"a": "d", "b": {"p": "room/d", "d": 5}}]


async def test_tagged_query_window(emulator: tuple[DatabaseEmulator, str]) -> None:
    _, host = emulator
    async with aiohttp.ClientSession() as session:
        await rest(session, host, "PUT", "s", {"a": {"v": 1}, "b": {"v": 2}, "c": {"v": 3}})
        client = await connect(session, host)
        query = {"i": "v", "l": 2, "vf": "l", "sp": 1, "sn": "a", "sin": False}
        answer, pushes = await client.request("q", {"p": "/s", "q": query, "t": 7, "h": ""})
        assert answer["s"] == "ok"
        assert pushes == [{"a": "d", "b": {"p": "s", "d": {"b": {"v": 2}, "c": {"v": 3}}, "t": 7}}]
        await rest(session, host, "PUT", "s/d", {"v": 0})  # before the window start: nothing
        await rest(session, host, "PUT", "s/e", {"v": 2.5})  # enters, pushes c out
        assert await client.push() == {
            "a": "m",
            "b": {"p": "s", "d": {"e": {"v": 2.5}, "c": None}, "t": 7},
        }
        await rest(session, host, "PUT", "s/b/w", 1)  # changes inside the window
        assert await client.push() == {
            "a": "m",
            "b": {"p": "s", "d": {"b": {"v": 2, "w": 1}}, "t": 7},
        }
        await rest(session, host, "PUT", "s", "leaf")
        assert await client.push() == {"a": "d", "b": {"p": "s", "d": "leaf", "t": 7}}
        answer, _ = await client.request("n", {"p": "/s", "q": query, "t": 7})
        assert answer["s"] == "ok"
        await rest(session, host, "PUT", "s", {"a": {"v": 5}})
        answer, pushes = await client.request("g", {"p": "/s", "q": query})
        assert pushes == [] and answer == {"s": "ok", "d": {"a": {"v": 5}}}


async def test_on_disconnect_runs_on_close_and_abort(
    emulator: tuple[DatabaseEmulator, str],
) -> None:
    _, host = emulator
    async with aiohttp.ClientSession() as session:
        for how in ("close", "abort"):
            client = await connect(session, host)
            for action, body in (
                ("o", {"p": f"/od/{how}/status", "d": "offline"}),
                ("om", {"p": f"/od/{how}", "d": {"at": {".sv": "timestamp"}, "n/m": 1}}),
                ("o", {"p": f"/od/{how}/cancelled", "d": "x"}),
                ("oc", {"p": f"/od/{how}/cancelled"}),
            ):
                assert (await client.request(action, body))[0]["s"] == "ok"
            if how == "close":
                await client.ws.close()
            else:
                connection = client.ws._response.connection
                assert connection is not None and connection.transport is not None
                connection.transport.abort()
            for _ in range(100):
                value = await rest(session, host, "GET", f"od/{how}")
                if value:
                    break
                await asyncio.sleep(0.05)
            assert value["status"] == "offline" and value["n"] == {"m": 1}
            assert isinstance(value["at"], int) and "cancelled" not in value


async def test_client_that_stops_reading_is_cut(emulator: tuple[DatabaseEmulator, str]) -> None:
    service, host = emulator
    async with aiohttp.ClientSession() as session:
        stuck = await connect(session, host)
        await stuck.request("q", {"p": "/flood", "h": ""})
        # From now on the client reads nothing; aiohttp stops reading its socket once its
        # own buffer is full, so the server's queue grows past its 2 MB bound.
        value = "x" * 200_000
        for i in range(200):
            await rest(session, host, "PUT", f"flood/{i % 10}", value)
            if service.ws.overflows:
                break
        for _ in range(100):
            if service.ws.overflows and not service.ws.connections:
                break
            await asyncio.sleep(0.05)
        assert service.ws.overflows == 1 and not service.ws.connections
        assert service.ws.listen_count() == 0
        healthy = await connect(session, host)
        assert (await healthy.request("g", {"p": "/flood/0"}))[0] == {"s": "ok", "d": value}


async def test_shutdown_closes_cleanly(emulator: tuple[DatabaseEmulator, str]) -> None:
    service, host = emulator
    async with aiohttp.ClientSession() as session:
        client = await connect(session, host)
        await client.request("o", {"p": "/bye", "d": True})
        await service.stop()
        closing = await asyncio.wait_for(client.ws.receive(), 5)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert service.state.tree(NS).get(("bye",)) is True
        await service.start("127.0.0.1", int(host.split(":")[1]))


async def test_pushes_keep_write_order_across_threads(
    emulator: tuple[DatabaseEmulator, str],
) -> None:
    """Writes from another thread and from the loop interleave; pushes follow the lock's order."""
    service, host = emulator
    applied: list[Any] = []
    service.state.add_write_hook(lambda ns, tree, write: applied.append(write.data))
    async with aiohttp.ClientSession() as session:
        client = await connect(session, host)
        await client.request("q", {"p": "/order", "h": ""})
        applied.clear()

        def setter(value: str) -> Callable[[Tree], Write]:
            return lambda tree: tree.set(("order",), value)

        def from_thread() -> None:
            for i in range(300):
                service.state.write(NS, ("order",), setter(f"t{i}"))

        thread = asyncio.create_task(asyncio.to_thread(from_thread))
        for i in range(300):
            service.state.write(NS, ("order",), setter(f"l{i}"))
            await asyncio.sleep(0)
        await thread
        received = [(await client.push())["b"]["d"] for _ in range(600)]
    assert received == applied and len(set(received)) == 600


def mock_token(uid: str) -> str:
    """An unsigned JWT as the SDKs' ``mockUserToken`` makes."""
    payload = base64.urlsafe_b64encode(json.dumps({"sub": uid}).encode()).decode().rstrip("=")
    return "eyJhbGciOiJub25lIn0." + payload + "."


async def test_security_rules_apply_to_the_connection_identity(
    emulator: tuple[DatabaseEmulator, str],
) -> None:
    service, host = emulator
    rules = {
        "rules": {
            "users": {
                "$uid": {
                    ".read": "auth != null && auth.uid === $uid",
                    ".write": "auth != null && auth.uid === $uid",
                    ".validate": "newData.hasChildren(['name'])",
                }
            }
        }
    }
    service.state.set_rules(NS, json.dumps(rules))
    async with aiohttp.ClientSession() as session:
        client = await connect(session, host)
        denied = {"s": "permission_denied", "d": "Permission denied"}
        alice = {"p": "/users/alice", "d": {"name": "Alice"}}
        assert (await client.request("p", alice))[0] == denied  # nobody yet
        assert (await client.request("auth", {"cred": mock_token("alice")}))[0]["s"] == "ok"
        assert (await client.request("p", alice))[0]["s"] == "ok"
        assert (await client.request("p", {"p": "/users/alice", "d": {"age": 1}}))[0] == denied
        assert (await client.request("m", {"p": "/users", "d": {"bob/name": "B"}}))[0] == denied
        assert (await client.request("o", {"p": "/users/bob", "d": {"name": "x"}}))[0] == denied
        assert (await client.request("g", {"p": "/users/alice"}))[0]["s"] == "ok"
        answer, pushes = await client.request("q", {"p": "/users/bob", "h": ""})
        assert answer == denied and pushes == []
        assert (await client.request("unauth", {}))[0]["s"] == "ok"
        assert (await client.request("g", {"p": "/users/alice"}))[0] == denied
        # the admin SDKs' token bypasses the rules; its authvar / noauth act as someone else
        assert (await client.request("gauth", {"cred": "owner"}))[0]["s"] == "ok"
        assert (await client.request("g", {"p": "/users/alice"}))[0]["s"] == "ok"
        assert (await client.request("p", {"p": "/users/bob", "d": 1}))[0]["s"] == "ok"
        acting = {"cred": "owner", "authvar": {"uid": "bob"}}
        assert (await client.request("gauth", acting))[0]["s"] == "ok"
        assert (await client.request("g", {"p": "/users/alice"}))[0] == denied
        assert (await client.request("p", {"p": "/users/bob", "d": {"name": "Bob"}}))[0][
            "s"
        ] == "ok"
        assert (await client.request("gauth", {"cred": "owner", "noauth": True}))[0]["s"] == "ok"
        assert (await client.request("g", {"p": "/users/bob"}))[0] == denied
    assert service.state.tree(NS).get(("users",)) == {
        "alice": {"name": "Alice"},
        "bob": {"name": "Bob"},
    }
