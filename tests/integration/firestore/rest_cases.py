"""One scripted session of Firestore REST API v1 calls, and the normalisation that lets two
emulators' answers be compared (timestamps, transaction ids, page tokens and error messages
differ by nature; status codes, error statuses and documents must not).

Used by test_fs_rest.py (against ours) and test_fs_rest_parity.py (ours and the official one).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
#: admin-only calls (batchWrite, listCollectionIds) need this on the official emulator.
OWNER = {"Authorization": "Bearer owner"}


@dataclass
class Case:
    """One request; ``$name`` in ``path`` or ``body`` is replaced by a value saved earlier."""

    what: str
    method: str
    path: str  # after /v1/projects/{project}/databases/(default)/documents
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    save: tuple[str, str] | None = None  # (name, top-level key of the JSON answer)
    raw_body: str | None = None  # sent as is instead of JSON
    status_only: bool = False  # bodies differ by design (plain-text 404 vs JSON)


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


def _doc(project: str, path: str) -> str:
    return f"projects/{project}/databases/(default)/documents/{path}"


def cases(project: str) -> list[Case]:
    """The session: CRUD, list, queries, aggregations, transactions, writes and errors."""

    def d(path: str) -> str:
        return _doc(project, path)

    def q(**sq: Any) -> dict[str, Any]:
        return {"structuredQuery": {"from": [{"collectionId": "c"}], **sq}}

    n_gt_1 = {
        "fieldFilter": {
            "field": {"fieldPath": "n"},
            "op": "GREATER_THAN",
            "value": {"integerValue": "1"},
        }
    }
    return [
        Case(
            "create with documentId",
            "POST",
            "/c?documentId=a",
            {
                "fields": {
                    "n": {"integerValue": "1"},
                    "s": {"stringValue": "x"},
                    "arr": {
                        "arrayValue": {"values": [{"integerValue": "1"}, {"doubleValue": 2.5}]}
                    },
                    "m": {"mapValue": {"fields": {"k": {"booleanValue": True}}}},
                    "nil": {"nullValue": None},
                    "b": {"bytesValue": "AAH/"},
                    "g": {"geoPointValue": {"latitude": 1.5, "longitude": -2}},
                    "t": {"timestampValue": "2024-01-02T03:04:05.678Z"},
                    "r": {"referenceValue": d("c/b")},
                }
            },
        ),
        Case("create an existing document", "POST", "/c?documentId=a", {"fields": {}}),
        Case("create b", "POST", "/c?documentId=b", {"fields": {"n": {"integerValue": "2"}}}),
        Case(
            "create with mask",
            "POST",
            "/c?documentId=e&mask.fieldPaths=n",
            {"fields": {"n": {"integerValue": "5"}, "o": {"integerValue": "6"}}},
        ),
        Case("create with a slash in documentId", "POST", "/c?documentId=x%2Fy", {"fields": {}}),
        Case("create with a reserved documentId", "POST", "/c?documentId=__x__", {"fields": {}}),
        Case(
            "create with a malformed value",
            "POST",
            "/c?documentId=v",
            {"fields": {"v": {"integerValue": "nope"}}},
        ),
        Case("get", "GET", "/c/a"),
        Case("get with an encoded slash", "GET", "/c%2Fa"),
        Case("get with mask", "GET", "/c/a?mask.fieldPaths=n&mask.fieldPaths=m.k"),
        Case("get a missing document", "GET", "/c/missing"),
        Case(
            "patch with updateMask",
            "PATCH",
            "/c/a?updateMask.fieldPaths=s&updateMask.fieldPaths=new&updateMask.fieldPaths=nil",
            {"fields": {"s": {"stringValue": "y"}, "new": {"integerValue": "1"}}},
        ),
        Case(
            "patch with exists=false on an existing document",
            "PATCH",
            "/c/a?currentDocument.exists=false",
            {"fields": {}},
        ),
        Case(
            "patch with exists=true on a missing document",
            "PATCH",
            "/c/nope?currentDocument.exists=true",
            {"fields": {}},
        ),
        Case(
            "patch without mask creates", "PATCH", "/c/z", {"fields": {"n": {"integerValue": "3"}}}
        ),
        Case(
            "patch with updateMask and mask",
            "PATCH",
            "/c/b?updateMask.fieldPaths=n&mask.fieldPaths=n",
            {"fields": {"n": {"integerValue": "10"}, "ignored": {"integerValue": "1"}}},
        ),
        Case("list documents", "GET", "/c"),
        Case("list documents with mask", "GET", "/c?mask.fieldPaths=n"),
        Case("list a subcollection of nothing", "GET", "/c/a/sub"),
        Case("delete", "DELETE", "/c/z"),
        Case(
            "delete a missing document with exists=true",
            "DELETE",
            "/c/z?currentDocument.exists=true",
        ),
        Case("delete a missing document", "DELETE", "/c/z"),
        Case(
            "runQuery with filter and order",
            "POST",
            ":runQuery",
            q(where=n_gt_1, orderBy=[{"field": {"fieldPath": "n"}, "direction": "DESCENDING"}]),
        ),
        Case(
            "runQuery with select, offset and limit",
            "POST",
            ":runQuery",
            q(
                select={"fields": [{"fieldPath": "n"}]},
                offset=1,
                limit=2,
                orderBy=[{"field": {"fieldPath": "__name__"}}],
            ),
        ),
        Case(
            "runQuery with no result",
            "POST",
            ":runQuery",
            {"structuredQuery": {"from": [{"collectionId": "none"}]}},
        ),
        Case(
            "runQuery under a document",
            "POST",
            "/c/a:runQuery",
            {"structuredQuery": {"from": [{"collectionId": "sub"}]}},
        ),
        Case("runQuery with malformed JSON", "POST", ":runQuery", raw_body="{nope"),
        Case("runQuery with an unknown field", "POST", ":runQuery", {"nope": 1}),
        Case(
            "runAggregationQuery",
            "POST",
            ":runAggregationQuery",
            {
                "structuredAggregationQuery": {
                    "structuredQuery": {"from": [{"collectionId": "c"}]},
                    "aggregations": [
                        {"alias": "count", "count": {}},
                        {"alias": "total", "sum": {"field": {"fieldPath": "n"}}},
                        {"alias": "mean", "avg": {"field": {"fieldPath": "n"}}},
                    ],
                }
            },
        ),
        Case("batchGet", "POST", ":batchGet", {"documents": [d("c/a"), d("c/missing")]}),
        Case(
            "batchGet with mask",
            "POST",
            ":batchGet",
            {"documents": [d("c/b")], "mask": {"fieldPaths": ["n"]}},
        ),
        Case("beginTransaction", "POST", ":beginTransaction", {}, save=("txn", "transaction")),
        Case(
            "batchGet in the transaction",
            "POST",
            ":batchGet",
            {"documents": [d("c/b")], "transaction": "$txn"},
        ),
        Case(
            "commit the transaction",
            "POST",
            ":commit",
            {
                "transaction": "$txn",
                "writes": [
                    {
                        "update": {"name": d("c/b"), "fields": {"n": {"integerValue": "11"}}},
                        "updateMask": {"fieldPaths": ["n"]},
                    }
                ],
            },
        ),
        Case(
            "beginTransaction read-only",
            "POST",
            ":beginTransaction",
            {"options": {"readOnly": {}}},
            save=("txn2", "transaction"),
        ),
        Case("rollback", "POST", ":rollback", {"transaction": "$txn2"}),
        Case(
            "commit with transforms",
            "POST",
            ":commit",
            {
                "writes": [
                    {
                        "update": {"name": d("c/t"), "fields": {"k": {"stringValue": "v"}}},
                        "updateTransforms": [
                            {"fieldPath": "at", "setToServerValue": "REQUEST_TIME"},
                            {"fieldPath": "n", "increment": {"integerValue": "2"}},
                            {
                                "fieldPath": "tags",
                                "appendMissingElements": {"values": [{"stringValue": "a"}]},
                            },
                        ],
                    }
                ]
            },
        ),
        Case(
            "commit a verify of an existing document",
            "POST",
            ":commit",
            {"writes": [{"verify": d("c/a"), "currentDocument": {"exists": True}}]},
        ),
        Case(
            "commit a verify of a missing document",
            "POST",
            ":commit",
            {"writes": [{"verify": d("c/missing"), "currentDocument": {"exists": True}}]},
        ),
        Case(
            "commit a verify without precondition",
            "POST",
            ":commit",
            {"writes": [{"verify": d("c/a")}]},
        ),
        Case(
            "commit with a stale updateTime",
            "POST",
            ":commit",
            {
                "writes": [
                    {
                        "update": {"name": d("c/a"), "fields": {}},
                        "currentDocument": {"updateTime": "2001-01-01T00:00:00Z"},
                    }
                ]
            },
        ),
        Case(
            "commit a create of an existing document",
            "POST",
            ":commit",
            {
                "writes": [
                    {
                        "update": {"name": d("c/a"), "fields": {}},
                        "currentDocument": {"exists": False},
                    }
                ]
            },
        ),
        Case(
            "commit to a collection name",
            "POST",
            ":commit",
            {"writes": [{"update": {"name": d("c"), "fields": {}}}]},
        ),
        Case(
            "commit is atomic",
            "POST",
            ":commit",
            {
                "writes": [
                    {"update": {"name": d("c/atomic"), "fields": {}}},
                    {"delete": d("c/missing"), "currentDocument": {"exists": True}},
                ]
            },
        ),
        Case("the failed commit wrote nothing", "GET", "/c/atomic"),
        Case(
            "batchWrite",
            "POST",
            ":batchWrite",
            {
                "writes": [
                    {"update": {"name": d("c/w"), "fields": {"n": {"integerValue": "7"}}}},
                    {"delete": d("c/missing"), "currentDocument": {"exists": True}},
                ]
            },
            headers=OWNER,
        ),
        Case("listCollectionIds at the root", "POST", ":listCollectionIds", {}, headers=OWNER),
        Case(
            "listCollectionIds under a document",
            "POST",
            "/c/a:listCollectionIds",
            {},
            headers=OWNER,
        ),
        Case("an unknown method", "POST", ":frobnicate", {}, status_only=True),
        Case("a wrong HTTP method", "PUT", "/c/a", {}, status_only=True),
    ]


#: the status each case must get (both emulators agree on every one).
EXPECTED_STATUS = {
    "create with documentId": 200,
    "create an existing document": 409,
    "create b": 200,
    "create with mask": 200,
    "create with a slash in documentId": 400,
    "create with a reserved documentId": 400,
    "create with a malformed value": 400,
    "get": 200,
    "get with an encoded slash": 200,
    "get with mask": 200,
    "get a missing document": 404,
    "patch with updateMask": 200,
    "patch with exists=false on an existing document": 409,
    "patch with exists=true on a missing document": 404,
    "patch without mask creates": 200,
    "patch with updateMask and mask": 200,
    "list documents": 200,
    "list documents with mask": 200,
    "list a subcollection of nothing": 200,
    "delete": 200,
    "delete a missing document with exists=true": 404,
    "delete a missing document": 200,
    "runQuery with filter and order": 200,
    "runQuery with select, offset and limit": 200,
    "runQuery with no result": 200,
    "runQuery under a document": 200,
    "runQuery with malformed JSON": 400,
    "runQuery with an unknown field": 400,
    "runAggregationQuery": 200,
    "batchGet": 200,
    "batchGet with mask": 200,
    "beginTransaction": 200,
    "batchGet in the transaction": 200,
    "commit the transaction": 200,
    "beginTransaction read-only": 200,
    "rollback": 200,
    "commit with transforms": 200,
    "commit a verify of an existing document": 200,
    "commit a verify of a missing document": 404,
    "commit a verify without precondition": 400,
    "commit with a stale updateTime": 400,
    "commit a create of an existing document": 409,
    "commit to a collection name": 400,
    "commit is atomic": 404,
    "the failed commit wrote nothing": 404,
    "batchWrite": 200,
    "listCollectionIds at the root": 200,
    "listCollectionIds under a document": 200,
    "an unknown method": 404,
    "a wrong HTTP method": 404,
}


def call(
    host: str, project: str, case: Case, saved: dict[str, str], origin: str | None = None
) -> Answer:
    """Send one case to the emulator at ``host``; never raises for an HTTP error status."""
    path = case.path
    body_text = case.raw_body
    if body_text is None and case.body is not None:
        body_text = json.dumps(case.body)
    for name, value in saved.items():
        path = path.replace(f"${name}", value)
        if body_text is not None:
            body_text = body_text.replace(f'"${name}"', json.dumps(value))
    url = f"http://{host}/v1/projects/{project}/databases/(default)/documents{path}"
    headers = {"Content-Type": "application/json", **case.headers}
    if origin:
        headers["Origin"] = origin
    data = None if body_text is None else body_text.encode()
    request = urllib.request.Request(url, data=data, method=case.method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (local)
            status, raw, got = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, raw, got = exc.code, exc.read(), dict(exc.headers)
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    if case.save is not None and isinstance(body, dict) and case.save[1] in body:
        saved[case.save[0]] = body[case.save[1]]
    return Answer(status, body, {k.lower(): v for k, v in got.items()})


def normalise(value: Any, key: str = "") -> Any:
    """Comparable form: times, transaction ids and page tokens become placeholders; error
    messages are dropped (only code and status must agree)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "message":
                continue
            out[k] = normalise(v, k)
        return out
    if isinstance(value, list):
        return [normalise(v, key) for v in value]
    if key in ("transaction", "nextPageToken"):
        return f"<{key}>"
    if isinstance(value, str) and TIME.match(value):
        return "<time>"
    return value


def run_session(host: str, project: str) -> list[tuple[Case, Answer]]:
    saved: dict[str, str] = {}
    return [(case, call(host, project, case, saved)) for case in cases(project)]
