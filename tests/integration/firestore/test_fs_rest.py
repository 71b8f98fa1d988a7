"""The REST API v1 at the curl level, against our emulator alone (side by side with the
official one: test_fs_rest_parity.py).

What REST answers is checked against what the gRPC side (the Python client) sees of the same
data, so both wires are held to one behaviour.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from fs_helpers import Snapshots
from google.cloud import firestore
from google.protobuf.timestamp_pb2 import Timestamp
from rest_cases import EXPECTED_STATUS, Answer, Case, call, cases, run_session

from firebase_sync.testing import EmulatorHosts


def _rest(
    emulators: EmulatorHosts,
    method: str,
    path: str,
    body: Any = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """One request to ``/v1/projects/{project}/databases/(default)/documents{path}``."""
    url = (
        f"http://{emulators.firestore_host}/v1/projects/{emulators.project}"
        f"/databases/(default)/documents{path}"
    )
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, text, got = response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        status, text, got = exc.code, exc.read(), exc.headers
    return status, json.loads(text) if text else None, {k.lower(): v for k, v in got.items()}


def test_session_statuses_and_bodies_agree_with_grpc(emulators: EmulatorHosts) -> None:
    project = f"rest-{uuid.uuid4().hex[:8]}"
    session = {case.what: answer for case, answer in run_session(emulators.firestore_host, project)}
    assert {what: a.status for what, a in session.items()} == EXPECTED_STATUS
    first = cases(project)[0].body
    assert first is not None
    sent = first["fields"]
    created = session["create with documentId"].body
    assert created["fields"] == sent, "every value type round-trips through JSON"

    client = firestore.Client(project=project)
    try:
        names = [d["name"].rsplit("/", 1)[1] for d in session["list documents"].body["documents"]]
        # The listing was taken while c/z existed; the session ends with a, b, e, t and w.
        assert names == ["a", "b", "e", "z"]
        assert sorted(d.id for d in client.collection("c").stream()) == ["a", "b", "e", "t", "w"]

        by_rest = [
            r["document"]["name"].rsplit("/", 1)[1]
            for r in session["runQuery with filter and order"].body
        ]
        assert by_rest == ["b", "e"]
        assert session["runQuery with no result"].body[0].keys() >= {"readTime"}

        b = client.document("c/b").get()
        assert b.get("n") == 11, "the REST transaction committed"
        t = client.document("c/t").get().to_dict() or {}
        assert t["n"] == 2 and t["tags"] == ["a"] and t["k"] == "v"
        assert not client.document("c/atomic").get().exists

        fields = session["runAggregationQuery"].body[0]["result"]["aggregateFields"]
        assert fields["count"] == {"integerValue": "3"}  # a, b, e at that point
        errors = session["get a missing document"].body["error"]
        assert errors["code"] == 404 and errors["status"] == "NOT_FOUND" and errors["message"]
        statuses = session["batchWrite"].body["status"]
        assert statuses[0] == {} and statuses[1]["code"] == 5  # google.rpc.Code NOT_FOUND
        assert session["listCollectionIds at the root"].body == {"collectionIds": ["c"]}
    finally:
        client.close()  # type: ignore[no-untyped-call]


def test_grpc_and_rest_see_each_others_writes(
    emulators: EmulatorHosts, firestore_client: firestore.Client
) -> None:
    watch = Snapshots()
    unsubscribe = firestore_client.collection("mixed").on_snapshot(watch)
    try:
        watch.wait_for(1)
        status, doc, _ = _rest(
            emulators, "PATCH", "/mixed/r", {"fields": {"via": {"stringValue": "rest"}}}
        )
        assert status == 200
        docs = watch.wait_for(2)[-1][0]
        assert [(d.id, d.to_dict()) for d in docs] == [("r", {"via": "rest"})]
        snap = firestore_client.document("mixed/r").get()
        stamp = Timestamp()
        stamp.FromJsonString(doc["updateTime"])
        assert stamp == snap.update_time.timestamp_pb()
    finally:
        unsubscribe.unsubscribe()  # type: ignore[no-untyped-call]
    firestore_client.document("mixed/g").set({"via": "grpc", "n": 1.5})
    status, doc, _ = _rest(emulators, "GET", "/mixed/g")
    assert status == 200
    assert doc["fields"] == {"via": {"stringValue": "grpc"}, "n": {"doubleValue": 1.5}}
    count = firestore_client.collection("mixed").count()  # type: ignore[no-untyped-call]
    assert count.get()[0][0].value == 2
    status, _, _ = _rest(emulators, "DELETE", "/mixed/g")
    assert status == 200 and not firestore_client.document("mixed/g").get().exists


def test_lite_sdk_style_requests(
    emulators: EmulatorHosts, firestore_client: firestore.Client
) -> None:
    """``firebase/firestore/lite`` posts JSON as text/plain without the resource name."""
    firestore_client.document("lite/a").set({"n": 1})
    status, body, _ = _rest(
        emulators,
        "POST",
        ":runQuery",
        raw=b'{"structuredQuery":{"from":[{"collectionId":"lite"}]}}',
        headers={"Content-Type": "text/plain"},
    )
    assert status == 200
    assert [r["document"]["fields"] for r in body] == [{"n": {"integerValue": "1"}}]


@pytest.mark.parametrize(
    ("method", "path", "raw", "status"),
    [
        ("POST", ":commit", b"[1, 2]", 400),
        ("POST", ":commit", b'{"writes": [{"update": {"name": 5}}]}', 400),
        ("POST", ":commit", b'{"writes": [{"verify": 7}]}', 400),
        ("POST", ":commit", b"\xff\xfe", 400),
        # The official emulator: bad base64 hangs the call, "maybe" reads as a boolean, a
        # commit below the root is a 400 and GET of the root answers no JSON (see README).
        pytest.param("GET", "/c/a?transaction=!!!", None, 400, marks=pytest.mark.extension),
        pytest.param(
            "DELETE", "/c/a?currentDocument.exists=maybe", None, 400, marks=pytest.mark.extension
        ),
        (
            "POST",
            ":runQuery",
            b'{"structuredQuery": {"from": [{"collectionId": "c"}], "limit": -1}}',
            400,
        ),
        ("POST", "/c:runQuery", b"{}", 400),  # a collection is no query parent
        # commit only at the database root
        pytest.param("POST", "/c/a:commit", b"{}", 404, marks=pytest.mark.extension),
        pytest.param("GET", "", None, 404, marks=pytest.mark.extension),
    ],
    ids=[
        "array-body",
        "bad-type",
        "bad-verify",
        "not-utf8",
        "bad-base64",
        "bad-bool",
        "negative-limit",
        "collection-parent",
        "commit-below-root",
        "root-get",
    ],
)
def test_malformed_requests_get_a_json_error_and_the_server_survives(
    emulators: EmulatorHosts, method: str, path: str, raw: bytes | None, status: int
) -> None:
    got, body, headers = _rest(emulators, method, path, raw=raw)
    assert got == status, body
    assert headers["content-type"].startswith("application/json")
    assert set(body["error"]) == {"code", "message", "status"} and body["error"]["code"] == got
    assert _rest(emulators, "GET", "/c/none")[0] == 404  # still serving


def test_cors_preflight_and_response_headers(emulators: EmulatorHosts) -> None:
    origin = "http://localhost:3000"
    status, _, headers = _rest(
        emulators,
        "OPTIONS",
        ":commit",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-goog-api-client",
        },
    )
    assert status == 200
    assert headers["access-control-allow-origin"] == origin
    assert headers["access-control-allow-headers"] == "content-type,x-goog-api-client"
    assert "POST" in headers["access-control-allow-methods"].split(",")
    status, _, headers = _rest(emulators, "GET", "/c/none", headers={"Origin": origin})
    assert status == 404 and headers["access-control-allow-origin"] == origin
    _, _, plain = _rest(emulators, "GET", "/c/none")
    assert "access-control-allow-origin" not in plain  # only browsers get CORS headers


def test_auto_id_and_ids_needing_escapes(
    emulators: EmulatorHosts, firestore_client: firestore.Client
) -> None:
    status, doc, _ = _rest(emulators, "POST", "/auto", {"fields": {}})
    assert status == 200
    auto_id = doc["name"].rsplit("/", 1)[1]
    assert len(auto_id) == 20 and auto_id.isalnum()
    status, doc, _ = _rest(emulators, "PATCH", "/odd/a%20b%3Ac", {"fields": {}})
    assert status == 200 and doc["name"].endswith("/odd/a b:c")
    assert firestore_client.document("odd/a b:c").get().exists


def test_answer_shape_is_one_json_array_for_streaming_methods(emulators: EmulatorHosts) -> None:
    answer: Answer = call(
        emulators.firestore_host,
        emulators.project,
        Case("batchGet", "POST", ":batchGet", {"documents": []}),
        {},
    )
    assert answer.status == 200 and answer.body == []


def test_security_rules_see_the_authorization_header(emulators: EmulatorHosts) -> None:
    project = f"rest-rules-{uuid.uuid4().hex[:8]}"
    rules = (
        "rules_version = '2'; service cloud.firestore { match /databases/{db}/documents {"
        " match /{coll}/{id} { allow read; allow write: if request.auth.uid == 'alice'; } } }"
    )
    upload = urllib.request.Request(
        f"http://{emulators.firestore_host}/emulator/v1/projects/{project}:securityRules",
        data=json.dumps(
            {"rules": {"files": [{"name": "firestore.rules", "content": rules}]}}
        ).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(upload, timeout=10) as response:
        assert response.status == 200
    hosts = EmulatorHosts(project, emulators.database_host, emulators.firestore_host)
    alice = _unsigned_jwt({"sub": "alice", "user_id": "alice"})
    bob = _unsigned_jwt({"sub": "bob", "user_id": "bob"})
    body = {"fields": {"n": {"integerValue": "1"}}}
    denied = _rest(hosts, "PATCH", "/c/a", body)
    assert denied[0] == 403 and denied[1]["error"]["status"] == "PERMISSION_DENIED"
    assert _rest(hosts, "PATCH", "/c/a", body, headers={"Authorization": f"Bearer {bob}"})[0] == 403
    assert (
        _rest(hosts, "PATCH", "/c/a", body, headers={"Authorization": f"Bearer {alice}"})[0] == 200
    )
    assert _rest(hosts, "PATCH", "/c/b", body, headers={"Authorization": "Bearer owner"})[0] == 200
    assert _rest(hosts, "GET", "/c/a")[0] == 200  # reads are open
    bad = _rest(hosts, "GET", "/c/a", headers={"Authorization": "Bearer not-a-jwt"})
    assert bad[0] == 400 and bad[1]["error"]["status"] == "INVALID_ARGUMENT"


def _unsigned_jwt(claims: dict[str, str]) -> str:
    """A token as the emulators accept it (never verified): header.payload.empty-signature."""
    import base64

    def part(obj: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


# Production's 10 MiB request limit; the official emulator refuses over 4 MiB (429).
@pytest.mark.extension
def test_large_bodies_up_to_the_api_limit(
    emulators: EmulatorHosts, firestore_client: firestore.Client
) -> None:
    root = f"projects/{emulators.project}/databases/(default)/documents"

    def commit(docs: int, size: int) -> tuple[int, Any, dict[str, str]]:
        writes = [
            {"update": {"name": f"{root}/big/d{i}", "fields": {"s": {"stringValue": "x" * size}}}}
            for i in range(docs)
        ]
        return _rest(emulators, "POST", ":commit", {"writes": writes})

    status, body, _ = commit(4, 900_000)  # 3.6 MB: past aiohttp's default 1 MiB body cap
    assert status == 200 and len(body["writeResults"]) == 4
    assert len(firestore_client.document("big/d3").get().get("s")) == 900_000
    status, body, _ = commit(13, 900_000)  # 11.7 MB: past the API's 10 MiB
    assert status == 400 and body["error"]["status"] == "INVALID_ARGUMENT"
    assert "10 MiB" in body["error"]["message"]
