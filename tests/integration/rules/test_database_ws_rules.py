"""Realtime Database rules over the WebSocket protocol, frame by frame (aiohttp client).

Who the connection is (``auth`` / ``gauth`` / ``authvar`` / ``noauth`` / ``unauth``), and the
``permission_denied`` answers to listens, gets, writes (with and without a hash) and
onDisconnect registrations, plus the ``c`` push that revokes a listen when the identity
changes. The SDK side of the same is in ``test_rules_unit_testing_node.py``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from rules_client import user_token

from emulator.database.hashing import node_hash
from firebase_sync.testing import EmulatorHosts

ALICE = user_token("alice", role="editor")
BOB = user_token("bob")

RULES = {
    "rules": {
        "public": {".read": True},
        "users": {
            "$uid": {
                ".read": "auth != null && auth.uid == $uid",
                ".write": "auth != null && auth.uid == $uid",
                "age": {".validate": "newData.isNumber() && newData.val() >= 0"},
            }
        },
        "presence": {"$uid": {".write": "auth != null && auth.uid == $uid"}},
        "items": {
            ".read": "query.orderByChild == 'owner' && query.equalTo == auth.uid",
            ".indexOn": ["owner"],
        },
        "editors": {".write": "auth.token.role == 'editor'"},
    }
}
SEED = {
    "public": {"n": 1},
    "users": {"alice": {"age": 30}, "bob": {"age": 40}},
    "items": {"i1": {"owner": "alice"}, "i2": {"owner": "bob"}},
}


class Client:
    """A raw protocol client: numbered requests, answers and the pushes before them."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.number = 0
        self.pushes: list[dict[str, Any]] = []

    async def message(self) -> dict[str, Any]:
        async with asyncio.timeout(5):
            text = await self.ws.receive_str()
            if len(text) <= 6 and text.isdigit():
                text = "".join([await self.ws.receive_str() for _ in range(int(text))])
        parsed: dict[str, Any] = json.loads(text)
        return parsed

    async def request(self, action: str, body: Any) -> dict[str, Any]:
        """The answer body (``{"s": status, "d": data}``); pushes are kept in ``pushes``."""
        self.number += 1
        frame = {"t": "d", "d": {"r": self.number, "a": action, "b": body}}
        await self.ws.send_str(json.dumps(frame))
        while True:
            data = (await self.message())["d"]
            if data.get("r") == self.number:
                answer: dict[str, Any] = data["b"]
                return answer
            self.pushes.append(data)

    async def status(self, action: str, body: Any) -> str:
        return str((await self.request(action, body))["s"])


class Namespace:
    """A fresh namespace with ``RULES`` and ``SEED``, and connections to it."""

    def __init__(self, session: aiohttp.ClientSession, host: str) -> None:
        self.session = session
        self.host = host
        self.ns = f"wsrules-{uuid.uuid4().hex[:10]}"

    async def rest(self, method: str, path: str, body: Any = None) -> Any:
        url = f"http://{self.host}/{path}?ns={self.ns}"
        data = None if body is None else json.dumps(body)
        headers = {"Authorization": "Bearer owner"}
        async with self.session.request(method, url, data=data, headers=headers) as response:
            assert response.status == 200, await response.text()
            return await response.json(content_type=None)

    async def connect(self, action: str | None = None, **auth: Any) -> Client:
        ws = await self.session.ws_connect(f"http://{self.host}/.ws?v=5&ns={self.ns}")
        client = Client(ws)
        hello = await client.message()
        assert hello["d"]["t"] == "h"
        if action is not None:
            answer = await client.request(action, auth)
            assert answer["s"] == "ok", answer
        return client


@pytest.fixture
async def db(emulators: EmulatorHosts) -> AsyncIterator[Namespace]:
    async with aiohttp.ClientSession() as session:
        space = Namespace(session, emulators.database_host)
        await space.rest("PUT", ".settings/rules.json", RULES)
        await space.rest("PUT", ".json", SEED)
        yield space


async def test_listens_and_gets_follow_read_rules(db: Namespace) -> None:
    nobody = await db.connect()
    assert await nobody.status("q", {"p": "/public", "h": ""}) == "ok"
    assert nobody.pushes[-1]["b"] == {"p": "public", "d": {"n": 1}}
    denied = await nobody.request("q", {"p": "/users/alice", "h": ""})
    assert denied == {"s": "permission_denied", "d": "Permission denied"}
    assert all(p["b"]["p"] != "users/alice" for p in nobody.pushes), "no data before a refusal"
    assert await nobody.status("g", {"p": "/users/alice"}) == "permission_denied"

    alice = await db.connect("auth", cred=ALICE)
    assert await alice.status("q", {"p": "/users/alice", "h": ""}) == "ok"
    assert alice.pushes[-1]["b"]["d"] == {"age": 30}
    assert await alice.status("q", {"p": "/users/bob", "h": ""}) == "permission_denied"
    assert await alice.request("g", {"p": "/users/alice/age"}) == {"s": "ok", "d": 30}
    assert await alice.status("g", {"p": "/users/bob/.priority"}) == "permission_denied"
    assert await alice.status("q", {"p": "/users", "h": ""}) == "permission_denied"


async def test_query_rules_see_the_listen_query(db: Namespace) -> None:
    alice = await db.connect("auth", cred=ALICE)
    mine = {"i": "owner", "sp": "alice", "ep": "alice"}
    answer = await alice.request("q", {"p": "/items", "q": mine, "t": 1, "h": ""})
    assert answer["s"] == "ok", answer
    assert alice.pushes[-1]["b"] == {"p": "items", "d": {"i1": {"owner": "alice"}}, "t": 1}
    other = {"i": "owner", "sp": "bob", "ep": "bob"}
    assert await alice.status("q", {"p": "/items", "q": other, "t": 2, "h": ""}) == (
        "permission_denied"
    )
    assert await alice.status("q", {"p": "/items", "h": ""}) == "permission_denied"
    assert await alice.status("g", {"p": "/items", "q": mine}) == "ok"
    assert await alice.status("g", {"p": "/items"}) == "permission_denied"


async def test_writes_follow_write_and_validate_rules(db: Namespace) -> None:
    alice = await db.connect("auth", cred=ALICE)
    assert await alice.status("p", {"p": "/users/alice/age", "d": 31}) == "ok"
    assert await alice.request("p", {"p": "/users/bob/age", "d": 1}) == {
        "s": "permission_denied",
        "d": "Permission denied",
    }
    assert await alice.status("p", {"p": "/users/alice/age", "d": -1}) == "permission_denied"
    # A merge is all or nothing: one refused key refuses it.
    merge = {"users/alice/age": 32, "users/bob/age": 2}
    assert await alice.status("m", {"p": "/", "d": merge}) == "permission_denied"
    assert await alice.status("m", {"p": "/users/alice", "d": {"age": 33, "x": 1}}) == "ok"
    assert await alice.status("p", {"p": "/editors/e", "d": True}) == "ok"
    bob = await db.connect("auth", cred=BOB)
    assert await bob.status("p", {"p": "/editors/e", "d": False}) == "permission_denied"
    nobody = await db.connect()
    assert await nobody.status("p", {"p": "/public/n", "d": 2}) == "permission_denied"
    assert await db.rest("GET", "users.json") == {"alice": {"age": 33, "x": 1}, "bob": {"age": 40}}
    assert await db.rest("GET", "editors.json") == {"e": True}
    assert await db.rest("GET", "public.json") == {"n": 1}


async def test_hash_compare_comes_after_the_rules(db: Namespace) -> None:
    current = node_hash(40)
    bob_current = {"p": "/users/bob/age", "d": 41, "h": current}
    alice = await db.connect("auth", cred=ALICE)
    # Refused by the rules whatever the hash: the answer says nothing about bob's data.
    assert await alice.status("p", bob_current) == "permission_denied"
    assert await alice.status("p", {**bob_current, "h": "stale"}) == "permission_denied"
    bob = await db.connect("auth", cred=BOB)
    assert await bob.status("p", {**bob_current, "h": "stale"}) == "datastale"
    assert await bob.status("p", {**bob_current, "d": -5}) == "permission_denied"
    assert await bob.status("p", bob_current) == "ok"
    assert await db.rest("GET", "users/bob/age.json") == 41


async def test_on_disconnect_is_checked_when_registered(db: Namespace) -> None:
    alice = await db.connect("auth", cred=ALICE)
    online = {"p": "/presence/alice", "d": {"online": False}}
    assert await alice.status("o", online) == "ok"
    assert await alice.status("o", {"p": "/presence/bob", "d": 1}) == "permission_denied"
    assert await alice.status("om", {"p": "/users/alice", "d": {"age": -1}}) == (
        "permission_denied"
    )
    assert await alice.status("om", {"p": "/users/alice", "d": {"gone": True}}) == "ok"
    assert await alice.status("oc", {"p": "/users/bob"}) == "permission_denied"
    assert await alice.status("oc", {"p": "/presence/alice"}) == "ok"
    assert await alice.status("o", {"p": "/presence/alice/last", "d": {".sv": "timestamp"}}) == (
        "ok"
    )
    # Checked at registration only: signing out does not stop what was registered.
    assert await alice.status("unauth", {}) == "ok"
    await alice.ws.close()
    for _ in range(50):
        presence = await db.rest("GET", "presence.json")
        if presence is not None:
            break
        await asyncio.sleep(0.05)
    assert set(presence) == {"alice"} and isinstance(presence["alice"]["last"], int)
    assert await db.rest("GET", "users/alice.json") == {"age": 30, "gone": True}


async def test_admin_credentials_and_overrides(db: Namespace) -> None:
    admin = await db.connect("gauth", cred="owner")
    assert await admin.request("g", {"p": "/users"}) == {"s": "ok", "d": SEED["users"]}
    assert await admin.status("p", {"p": "/users/bob/age", "d": -3}) == "ok"
    as_alice = await db.connect("gauth", cred="owner", authvar={"uid": "alice"})
    assert await as_alice.status("g", {"p": "/users/alice"}) == "ok"
    assert await as_alice.status("g", {"p": "/users/bob"}) == "permission_denied"
    assert await as_alice.status("p", {"p": "/users/alice/age", "d": 5}) == "ok"
    as_nobody = await db.connect("gauth", cred="owner", noauth=True)
    assert await as_nobody.status("g", {"p": "/users/alice"}) == "permission_denied"
    assert await as_nobody.status("g", {"p": "/public"}) == "ok"
    bad = await db.connect()
    answer = await bad.request("gauth", {"cred": "owner", "authvar": 7})
    assert answer["s"] == "invalid_args"
    assert (await bad.request("auth", {"cred": "not-a-token"}))["s"] == "invalid_token"
    assert await bad.status("g", {"p": "/users/alice"}) == "permission_denied"


async def test_changing_identity_revokes_what_it_may_not_read(db: Namespace) -> None:
    client = await db.connect("auth", cred=ALICE)
    mine = {"i": "owner", "sp": "alice", "ep": "alice"}
    assert await client.status("q", {"p": "/users/alice", "h": ""}) == "ok"
    assert await client.status("q", {"p": "/items", "q": mine, "t": 7, "h": ""}) == "ok"
    assert await client.status("q", {"p": "/public", "h": ""}) == "ok"
    client.pushes.clear()
    assert await client.status("auth", {"cred": BOB}) == "ok"
    revoked = [p for p in client.pushes if p["a"] == "c"]
    assert revoked == [
        {"a": "c", "b": {"p": "users/alice"}},
        {"a": "c", "b": {"p": "items", "q": [mine]}},
    ]
    # Revoked listens get nothing more; the public one still does.
    client.pushes.clear()
    admin = await db.connect("gauth", cred="owner")
    assert await admin.status("m", {"p": "/", "d": {"users/alice/age": 1, "public/n": 2}}) == "ok"
    assert await client.status("s", {"c": {}}) == "ok"  # a round trip: pushes came first
    assert [p["b"]["p"] for p in client.pushes] == ["public"]
    assert await client.status("unauth", {}) == "ok"
    assert not [p for p in client.pushes if p["a"] == "c"], "public stays readable"
