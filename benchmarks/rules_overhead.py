"""What security rules cost per request: rules on versus off, ours and the official emulator.

Run: .venv/bin/python benchmarks/rules_overhead.py [--samples 200] [--docs 200]

Firestore: each emulator (ours in a child process; the official one from its JAR when installed)
holds two projects with the same data: one without rules (everything allowed, as both emulators
do when no rules are given) and one with ``RULES`` below (functions, ``get()`` of the caller's
profile, type and size checks, ``keys().hasOnly``, a list rule on ``resource.data``). The caller
is the same signed-in user (an unsigned JWT) everywhere. One sample is one raw gRPC ``Commit``
creating a post, or one ``RunQuery`` ``where(owner == uid).limit(20)`` over ``--docs`` posts; the
four targets take turns in a fresh random order each sample, so machine noise falls on all alike.

Realtime Database (ours): REST ``PUT`` and WebSocket ``p`` writes into ``users/<uid>/posts`` on
a namespace with the default open rules and one with ``DATABASE_RULES``, same user, alternating.

Printed: p50 / p99 per target and the on / off ratio of the p50s (and ours / official).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import json
import os
import random
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import aiohttp
import grpc
from google.cloud.firestore_v1.types import firestore as fs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emulator_process, percentile  # noqa: E402
from query_index import JAR, official_emulator  # noqa: E402

SERVICE = "/google.firestore.v1.Firestore/"
UID = "alice"

RULES = """rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    function signedIn() { return request.auth != null; }
    function profile() {
      return get(/databases/$(database)/documents/users/$(request.auth.uid)).data;
    }
    function validPost(post) {
      return post.keys().hasOnly(['owner', 'title', 'body', 'published', 'n'])
        && post.title is string && post.title.size() > 0 && post.title.size() <= 100
        && post.body is string && post.body.size() <= 5000
        && post.published is bool && post.n is int;
    }
    match /users/{uid} {
      allow read: if signedIn() && request.auth.uid == uid;
      allow write: if false;
    }
    match /posts/{post} {
      allow get: if resource.data.published
        || signedIn() && resource.data.owner == request.auth.uid;
      allow list: if signedIn() && resource.data.owner == request.auth.uid;
      allow create: if signedIn() && request.resource.data.owner == request.auth.uid
        && profile().role in ['editor', 'admin'] && validPost(request.resource.data);
      allow update: if signedIn() && resource.data.owner == request.auth.uid
        && request.resource.data.diff(resource.data).affectedKeys().hasOnly(['title', 'body'])
        && validPost(request.resource.data);
      allow delete: if signedIn() && profile().role == 'admin';
    }
  }
}
"""

DATABASE_RULES = {
    "rules": {
        "users": {
            "$uid": {
                ".read": "auth != null && auth.uid == $uid",
                ".write": "auth != null && auth.uid == $uid",
                "posts": {
                    "$post": {
                        ".validate": "newData.hasChildren(['title', 'body', 'at'])",
                        "title": {".validate": "newData.isString() && newData.val().length <= 100"},
                        "body": {".validate": "newData.isString()"},
                        "at": {".validate": "newData.isNumber() && newData.val() <= now"},
                        "$other": {".validate": False},
                    }
                },
            }
        }
    }
}


def user_token(uid: str) -> str:
    """An unsigned JWT (``alg: none``), as ``@firebase/rules-unit-testing`` sends."""

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {
        "sub": uid,
        "user_id": uid,
        "iat": 0,
        "exp": 4_000_000_000,
        "firebase": {"sign_in_provider": "custom", "identities": {}},
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


TOKEN = user_token(UID)


def http_json(method: str, url: str, body: object, token: str = "owner") -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


class FirestoreTarget:
    """One project on one emulator, called over one gRPC channel as the signed-in user."""

    def __init__(self, label: str, host: str, project: str, rules: bool) -> None:
        self.label = label
        self.host = host
        self.project = project
        self.root = f"projects/{project}/databases/(default)/documents"
        self.channel = grpc.insecure_channel(host)
        self.commit = self.channel.unary_unary(
            SERVICE + "Commit", request_serializer=None, response_deserializer=None
        )
        self.run_query = self.channel.unary_stream(
            SERVICE + "RunQuery",
            request_serializer=None,
            response_deserializer=fs.RunQueryResponse.pb().FromString,
        )
        self.user = (("authorization", f"Bearer {TOKEN}"),)
        self.admin = (("authorization", "Bearer owner"),)
        self.writes: list[float] = []
        self.queries: list[float] = []
        if rules:
            http_json(
                "PUT",
                f"http://{host}/emulator/v1/projects/{project}:securityRules",
                {"rules": {"files": [{"content": RULES}]}},
            )

    def seed(self, docs: int) -> None:
        req = fs.CommitRequest.pb()(database=f"projects/{self.project}/databases/(default)")
        profile = req.writes.add()
        profile.update.name = f"{self.root}/users/{UID}"
        profile.update.fields["role"].string_value = "editor"
        for i in range(docs):
            self._post(req.writes.add(), f"s{i:05}", i, UID if i % 2 == 0 else "bob")
        self.commit(req.SerializeToString(), metadata=self.admin, timeout=60)

    def _post(self, write: object, doc_id: str, n: int, owner: str) -> None:
        update = write.update  # type: ignore[attr-defined]
        update.name = f"{self.root}/posts/{doc_id}"
        update.fields["owner"].string_value = owner
        update.fields["title"].string_value = f"post {n}"
        update.fields["body"].string_value = "lorem ipsum " * 20
        update.fields["published"].boolean_value = n % 3 == 0
        update.fields["n"].integer_value = n
        write.current_document.exists = False  # type: ignore[attr-defined]

    def timed_write(self, n: int) -> None:
        req = fs.CommitRequest.pb()(database=f"projects/{self.project}/databases/(default)")
        self._post(req.writes.add(), f"w{n:06}", n, UID)
        raw = req.SerializeToString()
        t0 = time.perf_counter()
        self.commit(raw, metadata=self.user, timeout=30)
        self.writes.append(time.perf_counter() - t0)

    def timed_query(self) -> None:
        req = fs.RunQueryRequest.pb()(parent=self.root)
        sq = req.structured_query
        sq.from_.add().collection_id = "posts"
        ff = sq.where.field_filter
        ff.field.field_path = "owner"
        ff.op = 5  # EQUAL
        ff.value.string_value = UID
        sq.limit.value = 20
        raw = req.SerializeToString()
        t0 = time.perf_counter()
        found = sum(
            1 for m in self.run_query(raw, metadata=self.user, timeout=30) if m.HasField("document")
        )
        self.queries.append(time.perf_counter() - t0)
        assert found == 20, (self.label, found)


def firestore(samples: int, docs: int) -> None:
    print(f"Firestore: {samples} writes and {samples} queries per target, {docs} posts seeded")
    with ExitStack() as stack:
        ours = stack.enter_context(emulator_process(("firestore",))).firestore_host
        hosts = [("ours", ours)]
        if os.path.exists(JAR):
            hosts.append(("official", stack.enter_context(official_emulator())[0]))
        else:
            print("  official emulator: not installed, skipped")
        targets = []
        for name, host in hosts:
            for rules in (False, True):
                label = f"{name} rules {'on' if rules else 'off'}"
                suffix = "on" if rules else "off"
                target = FirestoreTarget(label, host, f"demo-rules-bench-{suffix}", rules)
                target.seed(docs)
                target.timed_write(10**6 - 1)  # warm: channel, caches, the rules compiled
                target.timed_query()
                target.writes.clear()
                target.queries.clear()
                targets.append(target)
        rng = random.Random(1)
        for i in range(samples):
            # A fresh order each sample: a rotation would always put the same target right
            # after the official emulator's requests (and its JIT / GC work).
            order = rng.sample(targets, len(targets))
            for target in order:
                target.timed_write(i)
            for target in order:
                target.timed_query()
        for what in ("writes", "queries"):
            print(f"  {what}:")
            p50: dict[str, float] = {}
            for target in targets:
                values = getattr(target, what)
                p50[target.label] = percentile(values, 0.5)
                print(
                    f"    {target.label:<20} p50 {p50[target.label] * 1000:7.2f} ms  "
                    f"p99 {percentile(values, 0.99) * 1000:7.2f} ms"
                )
            for name, _ in hosts:
                ratio = p50[f"{name} rules on"] / p50[f"{name} rules off"]
                print(f"    {name}: rules on / off = {ratio:.2f}x (p50)")
            if len(hosts) == 2:
                ratio = p50["ours rules on"] / p50["official rules on"]
                print(f"    rules on: ours / official = {ratio:.2f}x (p50)")
        for target in targets:
            target.channel.close()


@contextmanager
def rtdb_namespaces(host: str) -> Iterator[tuple[str, str]]:
    stamp = int(time.time())
    open_ns, rules_ns = f"bench-open-{stamp}", f"bench-rules-{stamp}"
    http_json("PUT", f"http://{host}/.settings/rules.json?ns={rules_ns}", DATABASE_RULES)
    yield open_ns, rules_ns


def post(i: int) -> dict[str, object]:
    return {"title": f"post {i}", "body": "lorem ipsum " * 20, "at": {".sv": "timestamp"}}


def rtdb_rest(host: str, namespaces: tuple[str, str], samples: int) -> None:
    conns = {ns: http.client.HTTPConnection(host, timeout=30) for ns in namespaces}
    times: dict[str, list[float]] = {ns: [] for ns in namespaces}
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    def put(ns: str, i: int) -> float:
        conn = conns[ns]
        body = json.dumps(post(i))
        t0 = time.perf_counter()
        conn.request("PUT", f"/users/{UID}/posts/p{i}.json?ns={ns}&print=silent", body, headers)
        response = conn.getresponse()
        response.read()
        elapsed = time.perf_counter() - t0
        assert response.status in (200, 204), response.status
        return elapsed

    for ns in namespaces:
        put(ns, -1)
    for i in range(samples):
        for ns in namespaces if i % 2 == 0 else namespaces[::-1]:
            times[ns].append(put(ns, i))
    report("REST PUT", namespaces, times)


async def rtdb_ws(host: str, namespaces: tuple[str, str], samples: int) -> None:
    times: dict[str, list[float]] = {ns: [] for ns in namespaces}
    async with aiohttp.ClientSession() as session:
        sockets = {}
        for ns in namespaces:
            ws = await session.ws_connect(f"http://{host}/.ws?v=5&ns={ns}")
            await ws.receive_str()  # the handshake
            sockets[ns] = ws
        numbers = {ns: 0 for ns in namespaces}

        async def request(ns: str, action: str, body: object) -> float:
            numbers[ns] += 1
            frame = json.dumps({"t": "d", "d": {"r": numbers[ns], "a": action, "b": body}})
            t0 = time.perf_counter()
            await sockets[ns].send_str(frame)
            while True:
                answer = json.loads(await sockets[ns].receive_str())
                if answer["d"].get("r") == numbers[ns]:
                    break
            elapsed = time.perf_counter() - t0
            assert answer["d"]["b"]["s"] == "ok", answer
            return elapsed

        for ns in namespaces:
            await request(ns, "auth", {"cred": TOKEN})
            await request(ns, "p", {"p": f"/users/{UID}/posts/warm", "d": post(-1)})
        for i in range(samples):
            for ns in namespaces if i % 2 == 0 else namespaces[::-1]:
                body = {"p": f"/users/{UID}/posts/p{i}", "d": post(i)}
                times[ns].append(await request(ns, "p", body))
        for ws in sockets.values():
            await ws.close()
    report("WebSocket p", namespaces, times)


def report(what: str, namespaces: tuple[str, str], times: dict[str, list[float]]) -> None:
    labels = dict(zip(namespaces, ("open rules", "DATABASE_RULES"), strict=True))
    print(f"  {what}:")
    for ns in namespaces:
        print(
            f"    {labels[ns]:<15} p50 {percentile(times[ns], 0.5) * 1000:7.2f} ms  "
            f"p99 {percentile(times[ns], 0.99) * 1000:7.2f} ms"
        )
    p50: Callable[[str], float] = lambda ns: percentile(times[ns], 0.5)  # noqa: E731
    print(f"    rules on / off = {p50(namespaces[1]) / p50(namespaces[0]):.2f}x (p50)")


def database(samples: int) -> None:
    print(f"Realtime Database (ours): {samples} writes per namespace and transport")
    with (
        emulator_process(("database",)) as process,
        rtdb_namespaces(process.database_host) as namespaces,
    ):
        rtdb_rest(process.database_host, namespaces, samples)
        asyncio.run(rtdb_ws(process.database_host, namespaces, samples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--docs", type=int, default=200)
    args = parser.parse_args()
    firestore(args.samples, args.docs)
    database(args.samples)


if __name__ == "__main__":
    main()
