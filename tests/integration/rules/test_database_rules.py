"""Realtime Database rules through REST and SSE: each construct allowed and denied."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from rules_client import user_token

from firebase_sync.testing import EmulatorHosts

ALICE = user_token("alice", email="alice@example.com", admin=True, level=3)
BOB = user_token("bob", email="bob@other.org")
OWNER = "owner"


class Rtdb:
    """Raw REST calls on one fresh namespace, as a chosen caller."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.ns = f"rules-{uuid.uuid4().hex[:10]}"

    def call(self, method: str, path: str, body: Any = None, token: str | None = None,
             *, via_param: bool = False, query: str = "") -> tuple[int, Any]:
        url = f"http://{self.host}/{path.strip('/')}.json?ns={self.ns}{query}"
        headers = {}
        if token is not None and via_param:
            url += f"&auth={token}"
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None and method in ("GET", "DELETE") else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, json.loads(exc.read() or b"null")

    def rules(self, rules: dict[str, Any] | str) -> tuple[int, Any]:
        text = rules if isinstance(rules, str) else json.dumps({"rules": rules})
        request = urllib.request.Request(
            f"http://{self.host}/.settings/rules.json?ns={self.ns}", data=text.encode(),
            method="PUT", headers={"Authorization": "Bearer owner"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, json.loads(exc.read())


@pytest.fixture
def rtdb(emulators: EmulatorHosts) -> Rtdb:
    return Rtdb(emulators.database_host)


def run(rtdb: Rtdb, rules: dict[str, Any], seed: dict[str, Any],
        cases: list[tuple[str, str, str, Any, str | None, int]]) -> None:
    assert rtdb.rules(rules)[0] == 200
    assert rtdb.call("PUT", "/", seed, OWNER)[0] == 200
    failures = []
    for name, method, path, body, token, expected in cases:
        status, answer = rtdb.call(method, path, body, token)
        if status != expected:
            failures.append(f"{name}: expected {expected}, got {status} {answer}")
        if expected == 401 and status == 401 and answer != {"error": "Permission denied"}:
            failures.append(f"{name}: error body {answer}")
    assert not failures, "\n".join(failures)


def test_read_and_write_cascade(rtdb: Rtdb) -> None:
    rules = {
        ".read": False,
        "public": {".read": True, "locked": {".read": False}},
        "users": {
            "$uid": {
                ".read": "auth != null && auth.uid == $uid",
                ".write": "auth != null && auth.uid === $uid",
            }
        },
        "admins": {".write": "auth.token.admin === true"},
    }
    seed = {"public": {"a": 1, "locked": {"b": 2}}, "users": {"alice": {"n": 1},
                                                               "bob": {"n": 2}}}
    run(rtdb, rules, seed, [
        ("root read refused", "GET", "/", None, ALICE, 401),
        ("public read", "GET", "/public", None, None, 200),
        ("a grant cascades past a deeper false", "GET", "/public/locked", None, None, 200),
        ("own user", "GET", "/users/alice", None, ALICE, 200),
        ("own user's child", "GET", "/users/alice/n", None, ALICE, 200),
        ("other user", "GET", "/users/bob", None, ALICE, 401),
        ("nobody", "GET", "/users/alice", None, None, 401),
        ("children do not grant the parent", "GET", "/users", None, ALICE, 401),
        ("own write", "PUT", "/users/alice/n", 5, ALICE, 200),
        ("other's write", "PUT", "/users/bob/n", 5, ALICE, 401),
        ("claims", "PUT", "/admins/x", 1, ALICE, 200),
        ("missing claim", "PUT", "/admins/x", 1, BOB, 401),
        ("owner bypasses", "PUT", "/anything", 1, OWNER, 200),
        ("delete own", "DELETE", "/users/alice/n", None, ALICE, 200),
        ("push into own", "POST", "/users/alice/log", {"m": 1}, ALICE, 200),
        ("push into other's", "POST", "/users/bob/log", {"m": 1}, ALICE, 401),
    ])


def test_validate_new_data_and_variables(rtdb: Rtdb) -> None:
    rules = {
        ".read": True,
        "posts": {
            "$post": {
                ".write": "auth != null",
                ".validate": "newData.hasChildren(['title', 'owner'])",
                "title": {".validate": "newData.isString() && newData.val().length <= 10"},
                "owner": {".validate": "newData.val() === auth.uid"},
                "score": {".validate": "newData.isNumber() && newData.val() >= 0"},
                "flag": {".validate": "newData.isBoolean()"},
                "at": {".validate": "newData.val() <= now"},
                "$other": {".validate": False},
            }
        },
        "names": {
            "$name": {
                ".write": "$name.beginsWith('a') && !$name.contains('x') && "
                          "$name.toUpperCase() == $name.toUpperCase()",
                ".validate": "newData.val().matches(/^[a-z]+$/)",
            }
        },
        "emails": {".write": "auth.token.email.endsWith('@example.com')"},
        "ref": {
            ".write": "root.child('config/open').val() === true && "
                      "data.parent().child('config').exists()",
        },
        "config": {".write": False},
    }
    seed = {"posts": {"p1": {"title": "hi", "owner": "alice"}}, "config": {"open": True}}
    run(rtdb, rules, seed, [
        ("valid post", "PUT", "/posts/p2", {"title": "t", "owner": "alice"}, ALICE, 200),
        ("missing owner", "PUT", "/posts/p3", {"title": "t"}, ALICE, 401),
        ("title too long", "PUT", "/posts/p4", {"title": "x" * 11, "owner": "alice"}, ALICE,
         401),
        ("owner not self", "PUT", "/posts/p5", {"title": "t", "owner": "bob"}, ALICE, 401),
        ("extra field", "PUT", "/posts/p6", {"title": "t", "owner": "alice", "zz": 1}, ALICE,
         401),
        ("negative score", "PUT", "/posts/p7", {"title": "t", "owner": "alice", "score": -1},
         ALICE, 401),
        ("good score and flag", "PUT", "/posts/p8",
         {"title": "t", "owner": "alice", "score": 3, "flag": True}, ALICE, 200),
        ("flag not boolean", "PUT", "/posts/p9",
         {"title": "t", "owner": "alice", "flag": "yes"}, ALICE, 401),
        ("server timestamp is now", "PUT", "/posts/pa",
         {"title": "t", "owner": "alice", "at": {".sv": "timestamp"}}, ALICE, 200),
        ("future time", "PUT", "/posts/pb",
         {"title": "t", "owner": "alice", "at": 9_999_999_999_999}, ALICE, 401),
        ("partial update keeps the parent valid", "PATCH", "/posts/p1", {"title": "new"},
         ALICE, 200),
        ("partial write validates the ancestor", "PUT", "/posts/pc/title", "t", ALICE, 401),
        ("deleting a field the parent needs", "DELETE", "/posts/p1/owner", None, ALICE, 401),
        ("deleting the whole post", "DELETE", "/posts/p1", None, ALICE, 200),
        ("multi-path update, one path bad", "PATCH", "/posts",
         {"q1": {"title": "t", "owner": "alice"}, "q2": {"title": "t"}}, ALICE, 401),
        ("string methods", "PUT", "/names/abc", "abc", ALICE, 200),
        ("beginsWith fails", "PUT", "/names/bcd", "bcd", ALICE, 401),
        ("contains fails", "PUT", "/names/axe", "axe", ALICE, 401),
        ("regex fails", "PUT", "/names/ab", "AB1", ALICE, 401),
        ("endsWith on a claim", "PUT", "/emails/e", 1, ALICE, 200),
        ("endsWith fails", "PUT", "/emails/e", 1, BOB, 401),
        ("root and parent", "PUT", "/ref", 1, ALICE, 200),
        ("write refused everywhere", "PUT", "/config/open", False, ALICE, 401),
    ])


def test_query_rules(rtdb: Rtdb) -> None:
    rules = {
        "items": {
            ".read": "query.orderByChild === 'owner' && query.equalTo === auth.uid",
            ".indexOn": ["owner"],
        },
        "feed": {".read": "query.limitToFirst <= 10"},
    }
    assert rtdb.rules(rules)[0] == 200
    rtdb.call("PUT", "/", {"items": {"a": {"owner": "alice"}}, "feed": {"x": 1}}, OWNER)
    own = '&orderBy="owner"&equalTo="alice"'
    assert rtdb.call("GET", "/items", token=ALICE, query=own)[0] == 200
    assert rtdb.call("GET", "/items", token=BOB, query=own)[0] == 401
    assert rtdb.call("GET", "/items", token=ALICE)[0] == 401
    assert rtdb.call("GET", "/feed", query='&orderBy="$key"&limitToFirst=5')[0] == 200
    assert rtdb.call("GET", "/feed", query='&orderBy="$key"&limitToFirst=50')[0] == 401
    assert rtdb.call("GET", "/feed")[0] == 401


def test_tokens_by_header_or_parameter(rtdb: Rtdb) -> None:
    assert rtdb.rules({"$uid": {".read": "auth.uid === $uid", ".write": False}})[0] == 200
    assert rtdb.call("GET", "/alice", token=ALICE, via_param=True)[0] == 200
    assert rtdb.call("GET", "/alice", token=BOB, via_param=True)[0] == 401
    assert rtdb.call("GET", "/alice", token="owner", via_param=True)[0] == 200
    status, body = rtdb.call("GET", "/alice", token="not-a-token")
    assert status == 401 and "error" in body


def test_stream_refused_by_rules_is_cancelled(rtdb: Rtdb) -> None:
    assert rtdb.rules({".read": "auth != null"})[0] == 200
    request = urllib.request.Request(
        f"http://{rtdb.host}/x.json?ns={rtdb.ns}", headers={"Accept": "text/event-stream"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.read() == b"event: cancel\ndata: null\n\n"
    request = urllib.request.Request(
        f"http://{rtdb.host}/x.json?ns={rtdb.ns}",
        headers={"Accept": "text/event-stream", "Authorization": f"Bearer {ALICE}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.readline() == b"event: put\n"


BAD_RULES = [
    ('{"rules": {".read": "auth != "}}', 1),
    ('{\n  "rules": {\n    "a": {\n      ".write": "auth.uid === "\n    }\n  }\n}', 4),
    ('{"rules": {".rread": true}}', 1),
    ('{"rules": {".read": 5}}', 1),
    ('{"rules": {"$a": {}, "$b": {}}}', 1),
    ('{"rules": ', 1),
]


@pytest.mark.parametrize(("text", "line"), BAD_RULES)
def test_bad_rules_name_the_line_and_keep_the_old(rtdb: Rtdb, text: str, line: int) -> None:
    assert rtdb.rules({".read": True, ".write": False})[0] == 200
    status, body = rtdb.rules(text)
    assert status == 400
    assert f"Line {line}" in body["error"], body
    assert rtdb.call("GET", "/")[0] == 200
    assert rtdb.call("PUT", "/x", 1)[0] == 401
