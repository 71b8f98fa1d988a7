"""The Firestore rules corpus, each case answered by our emulator and the official one alike."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from firestore_corpus import (
    ALICE_CLAIMS,
    DOC,
    EXPRESSIONS,
    FUNCTION_EXPRESSIONS,
    OFFICIAL_DIFFERS,
    SEED,
    USER_FUNCTIONS,
)
from rules_client import OWNER, RawFirestore, outcome, user_token

PROJECT = "demo-rules"
ALICE = user_token("alice", **ALICE_CLAIMS)
BOB = user_token("bob", email="bob@example.com")


def upload_rules(host: str, source: str, project: str = PROJECT) -> tuple[int, dict[str, Any]]:
    body = json.dumps({"rules": {"files": [{"name": "firestore.rules", "content": source}]}})
    request = urllib.request.Request(
        f"http://{host}/emulator/v1/projects/{project}:securityRules",
        data=body.encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read() or b"{}")


def reset(host: str, project: str = PROJECT) -> None:
    request = urllib.request.Request(
        f"http://{host}/emulator/v1/projects/{project}/databases/(default)/documents",
        method="DELETE",
    )
    with urllib.request.urlopen(request, timeout=60):
        pass


def ruleset(body: str, version: int = 2) -> str:
    header = f"rules_version = '{version}';\n" if version else ""
    return (
        f"{header}service cloud.firestore {{\n"
        "  match /databases/{database}/documents {\n"
        f"{body}\n"
        "  }\n"
        "}\n"
    )


@pytest.fixture
def clients(firestore_targets: list[tuple[str, str]]) -> Iterator[list[tuple[str, RawFirestore]]]:
    """One raw client per emulator, each on an emptied project with open rules."""
    made = []
    for label, host in firestore_targets:
        reset(host)
        made.append((label, RawFirestore(host, PROJECT)))
    yield made
    for _, client in made:
        upload_rules(client.host, ruleset("match /{d=**} { allow read, write; }"))
        client.close()


def check_all(
    clients: list[tuple[str, RawFirestore]],
    source: str,
    seed: dict[str, Any],
    cases: list[tuple[str, Callable[[RawFirestore], Any], str]],
) -> None:
    """Upload ``source``, seed as the admin, run each case on every emulator, compare."""
    failures = []
    for label, client in clients:
        host = client.host
        status, body = upload_rules(host, source)
        assert status == 200, f"{label} refused the rules: {body}"
        writes = [client.set_write(path, data) for path, data in seed.items()]
        for start in range(0, len(writes), 400):
            client.commit(writes[start : start + 400], OWNER)
        for name, call, expected in cases:
            if label == "official" and name in OFFICIAL_DIFFERS:
                expected = "deny" if expected == "allow" else "allow"
            got = outcome(lambda call=call, client=client: call(client))
            if got != expected:
                failures.append(f"{label}: {name}: expected {expected}, got {got}")
    assert not failures, "\n".join(failures)


def test_expressions_corpus(clients: list[tuple[str, RawFirestore]]) -> None:
    """Every expression as ``allow get: if <expr>`` on a seeded document read by alice."""
    cases = EXPRESSIONS + FUNCTION_EXPRESSIONS
    blocks = []
    seed: dict[str, Any] = dict(SEED)
    for index, (expression, _) in enumerate(cases):
        collection = f"e{index}"
        blocks.append(
            f"    match /{collection}/{{id}} {{ allow get: if "
            f"{expression.replace('$(coll)', collection)}; }}"
        )
        seed[f"{collection}/d"] = DOC
    body = USER_FUNCTIONS + "\n".join(blocks) + "\n    match /users/{u} { allow read: if false; }"
    check_all(
        clients,
        ruleset(body),
        seed,
        [
            (expression, _reader(f"e{index}/d"), "allow" if allowed else "deny")
            for index, (expression, allowed) in enumerate(cases)
        ],
    )


def _reader(path: str) -> Callable[[RawFirestore], Any]:
    """Alice's read of ``path``."""
    return lambda client: client.get(path, ALICE)


def test_create_update_delete(clients: list[tuple[str, RawFirestore]]) -> None:
    rules = ruleset("""
    match /posts/{post} {
      allow read: if true;
      allow create: if request.auth != null && request.resource.data.owner == request.auth.uid
                    && request.resource.data.keys().hasOnly(['owner', 'title', 'count'])
                    && request.resource.data.title is string
                    && request.resource.data.title.size() <= 10;
      allow update: if request.auth.uid == resource.data.owner
                    && request.resource.data.diff(resource.data).affectedKeys().hasOnly(['count']);
      allow delete: if request.auth.uid == resource.data.owner;
    }""")
    seed = {"posts/p1": {"owner": "alice", "title": "first", "count": 0}}
    cases: list[tuple[str, Callable[[RawFirestore], Any], str]] = [
        ("own create", lambda c: c.set("posts/a", {"owner": "alice", "title": "t"}, ALICE,
                                       exists=False), "allow"),
        ("create for another", lambda c: c.set("posts/b", {"owner": "bob", "title": "t"}, ALICE,
                                               exists=False), "deny"),
        ("unauthenticated create", lambda c: c.set("posts/c", {"owner": "alice", "title": "t"},
                                                   None, exists=False), "deny"),
        ("extra field", lambda c: c.set("posts/d", {"owner": "alice", "title": "t", "x": 1},
                                        ALICE, exists=False), "deny"),
        ("title too long", lambda c: c.set("posts/e", {"owner": "alice", "title": "x" * 11},
                                           ALICE, exists=False), "deny"),
        ("title not a string", lambda c: c.set("posts/f", {"owner": "alice", "title": 5},
                                               ALICE, exists=False), "deny"),
        ("update count only", lambda c: c.set("posts/p1", {"count": 1}, ALICE, mask=["count"]),
         "allow"),
        ("update title", lambda c: c.set("posts/p1", {"title": "new"}, ALICE, mask=["title"]),
         "deny"),
        ("update by other", lambda c: c.set("posts/p1", {"count": 2}, BOB, mask=["count"]),
         "deny"),
        ("upsert of a missing doc is a create", lambda c: c.set(
            "posts/g", {"owner": "alice", "title": "t"}, ALICE), "allow"),
        ("set over an existing doc is an update", lambda c: c.set(
            "posts/p1", {"owner": "alice", "title": "first", "count": 9}, ALICE), "allow"),
        ("delete by other", lambda c: c.delete("posts/p1", BOB), "deny"),
        ("delete by owner", lambda c: c.delete("posts/p1", ALICE), "allow"),
        ("owner token bypasses rules", lambda c: c.set("posts/z", {"anything": True}, OWNER),
         "allow"),
        ("read by anyone", lambda c: c.get("posts/p1", None), "allow"),
    ]
    check_all(clients, rules, seed, cases)


def test_queries_are_not_filters(clients: list[tuple[str, RawFirestore]]) -> None:
    rules = ruleset("""
    match /notes/{note} {
      allow get: if true;
      allow list: if request.auth != null && resource.data.owner == request.auth.uid;
    }
    match /limited/{doc} {
      allow list: if request.query.limit <= 10;
    }
    match /public/{doc} {
      allow list: if resource.data.visibility == 'public'
                  || resource.data.owner == request.auth.uid;
    }
    match /ranged/{doc} {
      allow list: if resource.data.n > 5 && resource.data.n <= 100;
    }
    match /getonly/{doc} { allow get: if true; }
    match /readall/{doc} { allow read: if true; }""")
    seed = {
        "notes/1": {"owner": "alice", "n": 1},
        "notes/2": {"owner": "bob", "n": 2},
        "limited/1": {"n": 1},
        "public/1": {"visibility": "public", "owner": "bob"},
        "getonly/1": {"n": 1},
        "ranged/1": {"n": 20},
        "readall/1": {"n": 1},
    }
    cases: list[tuple[str, Callable[[RawFirestore], Any], str]] = [
        ("query constrained to own notes", lambda c: c.query(
            "notes", ALICE, filters=[("owner", "==", "alice")]), "allow"),
        ("query of everyone's notes", lambda c: c.query("notes", ALICE), "deny"),
        ("query constrained to another's", lambda c: c.query(
            "notes", ALICE, filters=[("owner", "==", "bob")]), "deny"),
        ("in with only own value", lambda c: c.query(
            "notes", ALICE, filters=[("owner", "in", ["alice"])]), "allow"),
        ("in with another's value", lambda c: c.query(
            "notes", ALICE, filters=[("owner", "in", ["alice", "bob"])]), "deny"),
        ("constraint plus another filter", lambda c: c.query(
            "notes", ALICE, filters=[("owner", "==", "alice"), ("n", ">", 0)]), "allow"),
        ("unauthenticated query", lambda c: c.query(
            "notes", None, filters=[("owner", "==", "alice")]), "deny"),
        ("get one note", lambda c: c.get("notes/2", ALICE), "allow"),
        ("limit within bound", lambda c: c.query("limited", None, limit=5), "allow"),
        ("limit above bound", lambda c: c.query("limited", None, limit=20), "deny"),
        ("no limit", lambda c: c.query("limited", None), "deny"),
        ("public filter", lambda c: c.query(
            "public", ALICE, filters=[("visibility", "==", "public")]), "allow"),
        ("own filter through the or", lambda c: c.query(
            "public", ALICE, filters=[("owner", "==", "alice")]), "allow"),
        ("no filter on the or", lambda c: c.query("public", ALICE), "deny"),
        ("range inside the rule's bounds", lambda c: c.query(
            "ranged", None, filters=[("n", ">", 10), ("n", "<", 50)]), "allow"),
        ("range at the rule's inclusive bound", lambda c: c.query(
            "ranged", None, filters=[("n", ">=", 6), ("n", "<=", 100)]), "allow"),
        ("range reaching below the rule", lambda c: c.query(
            "ranged", None, filters=[("n", ">=", 5), ("n", "<", 50)]), "deny"),
        ("range open above", lambda c: c.query(
            "ranged", None, filters=[("n", ">", 10)]), "deny"),
        ("equality inside the bounds", lambda c: c.query(
            "ranged", None, filters=[("n", "==", 7)]), "allow"),
        ("get-only collection refuses queries", lambda c: c.query("getonly", ALICE), "deny"),
        ("get-only collection serves gets", lambda c: c.get("getonly/1", ALICE), "allow"),
        ("read covers list", lambda c: c.query("readall", None), "allow"),
        ("unmatched collection", lambda c: c.query("elsewhere", ALICE), "deny"),
    ]
    check_all(clients, rules, seed, cases)


def test_wildcards_and_nesting(clients: list[tuple[str, RawFirestore]]) -> None:
    rules = ruleset("""
    function signedIn() { return request.auth != null; }
    match /users/{uid} {
      allow read: if signedIn() && request.auth.uid == uid;
      function isSelf() { return request.auth.uid == uid; }
      match /posts/{post} {
        allow read: if isSelf() || resource.data.public == true;
        allow write: if isSelf();
      }
    }
    match /{path=**}/comments/{comment} {
      allow read: if true;
    }
    match /open/{rest=**} {
      allow read: if rest[0] == 'a' || rest == /a;
    }""")
    seed = {
        "users/alice": {"name": "A"},
        "users/alice/posts/1": {"public": False},
        "users/bob/posts/2": {"public": True},
        "users/bob/posts/3": {"public": False},
        "users/bob/posts/3/comments/c": {"text": "hi"},
        "open/a/deep/doc": {"x": 1},
        "open/b/deep/doc": {"x": 1},
    }
    cases: list[tuple[str, Callable[[RawFirestore], Any], str]] = [
        ("own profile", lambda c: c.get("users/alice", ALICE), "allow"),
        ("other profile", lambda c: c.get("users/bob", ALICE), "deny"),
        ("nobody's profile", lambda c: c.get("users/alice", None), "deny"),
        ("own private post", lambda c: c.get("users/alice/posts/1", ALICE), "allow"),
        ("other's public post", lambda c: c.get("users/bob/posts/2", ALICE), "allow"),
        ("other's private post", lambda c: c.get("users/bob/posts/3", ALICE), "deny"),
        ("write own post", lambda c: c.set("users/alice/posts/9", {"public": True}, ALICE),
         "allow"),
        ("write other's post", lambda c: c.set("users/bob/posts/9", {"public": True}, ALICE),
         "deny"),
        ("comment at any depth", lambda c: c.get("users/bob/posts/3/comments/c", None), "allow"),
        ("collection group of comments", lambda c: c.query(
            "comments", None, all_descendants=True), "allow"),
        ("collection group of posts", lambda c: c.query("posts", ALICE, all_descendants=True),
         "deny"),
        ("recursive wildcard as a path", lambda c: c.get("open/a/deep/doc", None), "allow"),
        ("recursive wildcard elsewhere", lambda c: c.get("open/b/deep/doc", None), "deny"),
    ]
    check_all(clients, rules, seed, cases)


def test_batches_see_their_own_writes(clients: list[tuple[str, RawFirestore]]) -> None:
    rules = ruleset("""
    match /rooms/{room} {
      allow read: if true;
      allow create: if getAfter(/databases/$(database)/documents/counters/$(room)).data.n == 1;
      allow delete: if !existsAfter(/databases/$(database)/documents/counters/$(room));
    }
    match /counters/{room} {
      allow read, write: if true;
    }""")
    seed = {
        "rooms/old": {"x": 1},
        "counters/old": {"n": 5},
        "rooms/kept": {"x": 1},
        "counters/kept": {"n": 5},
    }

    def batch(client: RawFirestore, *writes: Any) -> Any:
        return client.commit(list(writes), ALICE)

    cases: list[tuple[str, Callable[[RawFirestore], Any], str]] = [
        ("room with its counter in one batch", lambda c: batch(
            c, c.set_write("rooms/r1", {"x": 1}), c.set_write("counters/r1", {"n": 1})),
         "allow"),
        ("room without a counter", lambda c: batch(c, c.set_write("rooms/r2", {"x": 1})),
         "deny"),
        ("room with a wrong counter", lambda c: batch(
            c, c.set_write("rooms/r3", {"x": 1}), c.set_write("counters/r3", {"n": 2})), "deny"),
        ("delete with its counter", lambda c: batch(
            c, c.delete_write("rooms/old"), c.delete_write("counters/old")), "allow"),
        ("delete keeping the counter", lambda c: batch(c, c.delete_write("rooms/kept")), "deny"),
    ]
    check_all(clients, rules, seed, cases)


def test_server_timestamps_equal_request_time(clients: list[tuple[str, RawFirestore]]) -> None:
    rules = ruleset("""
    match /events/{e} {
      allow create: if request.resource.data.at == request.time;
      allow update: if request.resource.data.at > resource.data.at;
    }""")
    seed = {"events/old": {"at": dt.datetime(2001, 1, 1, tzinfo=dt.UTC)}}
    cases: list[tuple[str, Callable[[RawFirestore], Any], str]] = [
        ("server timestamp on create", lambda c: c.commit(
            [c.set_write("events/a", {}, server_time=["at"])], ALICE), "allow"),
        ("client timestamp on create", lambda c: c.set(
            "events/b", {"at": dt.datetime(2001, 1, 1, tzinfo=dt.UTC)}, ALICE), "deny"),
        ("server timestamp on update", lambda c: c.commit(
            [c.set_write("events/old", {}, server_time=["at"])], ALICE), "allow"),
    ]
    check_all(clients, rules, seed, cases)


def test_version_1_recursive_wildcards_need_a_segment(
    clients: list[tuple[str, RawFirestore]],
) -> None:
    rules = ruleset("""
    match /a/{rest=**} {
      allow read: if true;
    }""", version=1)
    seed = {"a/x": {"n": 1}, "a/x/b/y": {"n": 2}}
    cases: list[tuple[str, Callable[[RawFirestore], Any], str]] = [
        ("one level", lambda c: c.get("a/x", None), "allow"),
        ("deeper", lambda c: c.get("a/x/b/y", None), "allow"),
        ("elsewhere", lambda c: c.get("b/x", None), "deny"),
    ]
    check_all(clients, rules, seed, cases)


def test_invalid_token_is_invalid_argument(clients: list[tuple[str, RawFirestore]]) -> None:
    for label, client in clients:
        with pytest.raises(grpc.RpcError) as raised:
            client.get("anything/x", "not-a-jwt")
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, label


BAD_RULES = [
    ("service cloud.firestore { match /x { allow read: if foo(; } }", 1),
    ("rules_version = '2';\nservice cloud.firestore {\n  match /a/{b} {\n    allow read: if ;\n"
     "  }\n}\n", 4),
    ("service cloud.firestore {", 1),
    ("rules_version = '3'; service cloud.firestore {}", 1),
    ("service cloud.firestore { match /a/{b} { allow read: if 'unterminated; } }", 1),
]


def test_unknown_method_names_compile_with_a_warning(
    firestore_targets: list[tuple[str, str]],
) -> None:
    source = ruleset("match /a/{b} { allow fly, get: if true; }")
    for label, host in firestore_targets:
        status, body = upload_rules(host, source)
        assert status == 200, (label, body)
        descriptions = [issue["description"] for issue in body.get("issues", [])]
        assert "Invalid method name: fly." in descriptions, (label, body)
        client = RawFirestore(host, PROJECT)
        try:
            assert outcome(lambda c=client: c.get("a/x", None)) == "allow", label
            assert outcome(lambda c=client: c.set("a/x", {"n": 1}, None)) == "deny", label
        finally:
            client.close()


@pytest.mark.parametrize(("source", "line"), BAD_RULES)
def test_bad_rules_are_refused_with_a_position(
    firestore_targets: list[tuple[str, str]], source: str, line: int
) -> None:
    good = ruleset("match /kept/{d} { allow read: if true; }")
    for label, host in firestore_targets:
        assert upload_rules(host, good)[0] == 200
        status, body = upload_rules(host, source)
        assert status == 400, (label, body)
        assert body["error"]["status"] == "INVALID_ARGUMENT", (label, body)
        assert f"L{line}:" in body["error"]["message"], (label, body)
        client = RawFirestore(host, PROJECT)
        try:
            assert outcome(lambda c=client: c.get("kept/x", None)) == "allow", label
            assert outcome(lambda c=client: c.get("other/x", None)) == "deny", label
        finally:
            client.close()
