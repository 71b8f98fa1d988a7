"""Hostile Firestore gRPC requests: random bytes, and well-formed protos with invalid content.

Every structured request carries at least one labelled defect, each with the status codes
Firestore answers it with; valid writes only ever ride along with a defective one in the same
(atomic) ``Commit``, so nothing may change. As in the RTDB fuzzing, hypothesis draws the
structure (RPC, defect kinds) and a seeded ``random.Random`` fills in the details.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from google.cloud.firestore_v1.types import document, query, write
from google.cloud.firestore_v1.types import firestore as fs
from google.protobuf import wrappers_pb2
from grpc import StatusCode
from hypothesis import strategies as st

SERVICE = "/google.firestore.v1.Firestore/"
UNARY = (
    "Commit",
    "BeginTransaction",
    "Rollback",
    "ListDocuments",
    "ListCollectionIds",
    "BatchWrite",
    "PartitionQuery",
    "GetDocument",
    "CreateDocument",
    "UpdateDocument",
    "DeleteDocument",
)
STREAMING = ("RunQuery", "BatchGetDocuments", "RunAggregationQuery")
#: codes that mean the server broke, never a fair answer to a client mistake
CRASH_CODES = {
    StatusCode.UNKNOWN,
    StatusCode.INTERNAL,
    StatusCode.UNAVAILABLE,
    StatusCode.DEADLINE_EXCEEDED,
    StatusCode.DATA_LOSS,
}
INVALID = StatusCode.INVALID_ARGUMENT

Value = document.Value.pb()
Write = write.Write.pb()
SEEDED = ("fuzz/a", "fuzz/b", "fuzz/a/sub/c")


@dataclass(repr=False)
class GrpcFuzz:
    """One call: the RPC, the raw request bytes and the codes its defects allow."""

    rpc: str
    payload: bytes
    defects: dict[str, set[StatusCode]]
    #: random bytes: any answer but a crash is fine
    anything: bool = False

    @property
    def expected(self) -> set[StatusCode]:
        return set().union(*self.defects.values()) if self.defects else {StatusCode.OK}

    def __repr__(self) -> str:
        return f"GrpcFuzz({self.rpc}, {self.payload[:200]!r}, defects={sorted(self.defects)})"


class Names:
    """Resource names of one project's default database."""

    def __init__(self, project: str) -> None:
        self.database = f"projects/{project}/databases/(default)"
        self.documents = self.database + "/documents"

    def doc(self, path: str) -> str:
        return f"{self.documents}/{path}"

    def bad_doc(self, rng: random.Random) -> str:
        """A name no write or read may accept as a document of this database."""
        return rng.choice(
            [
                self.documents + "/fuzz",  # a collection
                self.documents + "/fuzz/",
                self.documents + "/fuzz//a",
                self.documents + "/fuzz/a/sub",
                self.documents,
                self.database,
                "fuzz/a",
                "",
                "projects/other/databases/(default)/documents/fuzz/a",  # not the request's database
                self.database.replace("(default)", "nope") + "/documents/fuzz/a",
                "projects//databases/(default)/documents/fuzz/a",
                self.documents + "/fuzz/" + "x" * 7000,
            ]
        )


# ------------------------------------------------------------------------------- values


def valid_value(rng: random.Random, depth: int = 2) -> Any:
    kind = rng.randrange(9 if depth else 6)
    if kind == 0:
        return Value(null_value=0)
    if kind == 1:
        return Value(boolean_value=rng.random() < 0.5)
    if kind == 2:
        return Value(integer_value=rng.choice([0, -1, 2**63 - 1, -(2**63), rng.randint(-99, 99)]))
    if kind == 3:
        return Value(double_value=rng.choice([0.5, -0.0, float("nan"), float("inf"), 1e308]))
    if kind == 4:
        return Value(string_value=rng.choice(["", "x", "ünï ✓", "a" * 100]))
    if kind == 5:
        return Value(bytes_value=rng.randbytes(rng.randint(0, 8)))
    if kind in (6, 7):
        return Value(
            map_value={
                "fields": {
                    k: valid_value(rng, depth - 1)
                    for k in rng.sample(["a", "b", "ü", "`", "x.y", "n"], rng.randint(0, 3))
                }
            }
        )
    return Value(array_value={"values": [valid_value(rng, 0) for _ in range(rng.randint(0, 3))]})


def bad_value(rng: random.Random, names: Names) -> tuple[str, Any]:
    """(label, Value) that no write may store."""
    kind = rng.randrange(8)
    if kind == 0:
        inner = Value(array_value={"values": [valid_value(rng, 0)]})
        return "array in array", Value(array_value={"values": [valid_value(rng, 0), inner]})
    if kind == 1:
        value = valid_value(rng, 0)
        for _ in range(rng.randint(21, 28)):  # protobuf itself stops at ~100 levels
            value = Value(map_value={"fields": {"m": value}})
        return "map too deep", value
    if kind == 2:
        bad = [
            "fuzz/a",
            "",
            names.documents + "/fuzz",
            "projects/p",
            names.documents + "/fuzz//a",
            "projects//databases/(default)/documents/fuzz/a",  # empty project
            "projects/other/databases/(default)/documents/fuzz/a",  # another project
            names.database.replace("(default)", "nope") + "/documents/fuzz/a",  # another db
        ]
        return "bad reference", Value(reference_value=rng.choice(bad))
    if kind == 3:
        if rng.randrange(2):
            inner = Value(array_value={"values": [Value(array_value={})]})
            return "array in array", Value(map_value={"fields": {"a": inner}})
        lat, lng = rng.choice(
            [(-90.5, 0.0), (90.0001, 0.0), (0.0, 181.0), (0.0, -180.01), (float("nan"), 0.0)]
        )
        return "geo point out of range", Value(geo_point_value={"latitude": lat, "longitude": lng})
    if kind == 4:
        seconds = rng.choice([253402300800, -62135596801, 2**62])
        return "bad timestamp", Value(timestamp_value={"seconds": seconds})
    if kind == 5:
        return "timestamp nanos out of range", Value(
            timestamp_value={"seconds": 1, "nanos": rng.choice([-1, 10**9, 2**31 - 1])}
        )
    if kind == 6:
        key = rng.choice(["", "__x__", "__name__", "____"])
        return "bad map key", Value(map_value={"fields": {key: Value(integer_value=1)}})
    return "document too large", Value(string_value="x" * (1024 * 1024 + 10))


# ------------------------------------------------------------------------------- writes

_BAD_FIELD_PATHS = (
    "",
    "``",
    "a.``",
    "__name__.x",
    "a..b",
    ".a",
    "a.",
    "`a",
    "a`",
    "a.`b",
    "`a`b",
    "a.b.",
    "a" * 2000,
)

#: Valid paths that name a reserved field: refused in writes (masks, transforms), not in reads.
_RESERVED_WRITE_PATHS = ("__x__", "a.__x__", "__name__", "`__a.b__`")


def valid_write(rng: random.Random, names: Names) -> Any:
    """A write that would succeed on the seeded data (and change it)."""
    name = names.doc(rng.choice(SEEDED))
    # No deletes: one before a "create an existing document" write would let it succeed.
    kind = rng.randrange(2)
    if kind == 0:
        return Write(update={"name": name, "fields": {"n": valid_value(rng)}})
    return Write(
        update={"name": name, "fields": {"z": valid_value(rng)}},
        update_mask={"field_paths": ["z"]},
        update_transforms=[{"field_path": "n", "increment": Value(integer_value=1)}],
    )


def bad_write(rng: random.Random, names: Names, huge: bool) -> tuple[str, set[StatusCode], Any]:
    """(label, allowed codes, Write) that must be refused."""
    name = names.doc(rng.choice(SEEDED))
    if huge:
        big = Value(string_value="x" * (1024 * 1024 + 10))
        return "document too large", {INVALID}, Write(update={"name": name, "fields": {"s": big}})
    kind = rng.randrange(14)
    if kind in (6, 12):  # duplicate / overlapping transforms: unverified, see the report
        kind = 1
    if kind == 0:
        return (
            "bad document name",
            {INVALID},
            rng.choice(
                [Write(update={"name": names.bad_doc(rng)}), Write(delete=names.bad_doc(rng))]
            ),
        )
    if kind == 1:
        label, value = bad_value(rng, names)
        if label == "document too large":
            label, value = "array in array", Value(array_value={"values": [Value(array_value={})]})
        fields = {"ok": valid_value(rng), "bad": value}
        return label, {INVALID}, Write(update={"name": name, "fields": fields})
    if kind == 2:
        return (
            "bad field name",
            {INVALID},
            Write(
                update={
                    "name": name,
                    "fields": {rng.choice(["", "__x__", "__vector__"]): valid_value(rng)},
                }
            ),
        )
    if kind == 3:
        path = rng.choice([*_BAD_FIELD_PATHS, *_RESERVED_WRITE_PATHS])
        return (
            "bad mask path",
            {INVALID},
            Write(
                update={"name": name, "fields": {"a": valid_value(rng)}},
                update_mask={"field_paths": ["a", path]},
            ),
        )
    if kind == 4:
        return "empty write", {INVALID}, Write(current_document={"exists": True})
    if kind == 5:
        transform = rng.choice(
            [
                {
                    "field_path": rng.choice([*_BAD_FIELD_PATHS, *_RESERVED_WRITE_PATHS]),
                    "set_to_server_value": 1,
                },
                {"field_path": "t", "set_to_server_value": rng.choice([0, 2, 99])},
                {"field_path": "t", "increment": Value(string_value="1")},
                {"field_path": "t", "maximum": Value(array_value={})},
                {"field_path": "t", "minimum": Value(map_value={})},
                {
                    "field_path": "t",
                    "append_missing_elements": {
                        "values": [Value(array_value={"values": [Value(integer_value=1)]})]
                    },
                },
                {"field_path": "t"},
            ]
        )
        return (
            "bad transform",
            {INVALID},
            Write(
                update={"name": name, "fields": {}}, update_mask={}, update_transforms=[transform]
            ),
        )
    if kind == 6:
        transforms = [
            {"field_path": "t", "increment": Value(integer_value=1)},
            {"field_path": "t", "set_to_server_value": 1},
        ]
        return (
            "two transforms on one field",
            {INVALID},
            Write(
                update={"name": name, "fields": {}}, update_mask={}, update_transforms=transforms
            ),
        )
    if kind == 7:
        return (
            "exists:true on a missing document",
            {StatusCode.NOT_FOUND},
            Write(
                update={"name": names.doc(f"fuzz/missing{rng.randint(0, 99)}"), "fields": {}},
                current_document={"exists": True},
            ),
        )
    if kind == 8:
        return (
            "create an existing document",
            {StatusCode.ALREADY_EXISTS},
            Write(update={"name": name, "fields": {}}, current_document={"exists": False}),
        )
    if kind == 9:
        return (
            "stale update_time",
            {StatusCode.FAILED_PRECONDITION},
            Write(
                delete=name, current_document={"update_time": {"seconds": rng.randint(1, 10**6)}}
            ),
        )
    if kind == 10:
        return (
            "transform of a bad path",
            {INVALID},
            Write(
                transform={
                    "document": names.bad_doc(rng),
                    "field_transforms": [{"field_path": "t", "set_to_server_value": 1}],
                }
            ),
        )
    if kind == 11:
        return (
            "update mask path in a bad map key",
            {INVALID},
            Write(
                update={
                    "name": name,
                    "fields": {"a": Value(map_value={"fields": {"": Value(integer_value=1)}})},
                },
                update_mask={"field_paths": ["a"]},
            ),
        )
    if kind == 12:
        return (
            "mask and transform overlap",
            {INVALID},
            Write(
                update={"name": name, "fields": {"t": Value(integer_value=1)}},
                update_mask={"field_paths": ["t"]},
                update_transforms=[{"field_path": "t", "increment": Value(integer_value=1)}],
            ),
        )
    return (
        "bad document in another database",
        {INVALID},
        Write(update={"name": "projects/other/databases/(default)/documents/fuzz/a", "fields": {}}),
    )


# ------------------------------------------------------------------------------ queries

Filter = query.StructuredQuery.Filter.pb()
Op = query.StructuredQuery.FieldFilter.Operator


def _field_filter(path: str, op: int, value: Any) -> Any:
    return Filter(field_filter={"field": {"field_path": path}, "op": op, "value": value})


def bad_query(rng: random.Random) -> tuple[str, Any]:
    """(label, StructuredQuery) that RunQuery must refuse with INVALID_ARGUMENT."""
    base: dict[str, Any] = {"from_": [{"collection_id": "fuzz"}]}
    # 10 (an array inside an array operand) stays out: production's answer is unverified.
    kind = rng.choice([*range(10), 11])
    sq = query.StructuredQuery.pb()
    if kind == 0:
        base["from_"] = [{"collection_id": rng.choice(["", "a/b"])}]
        label = "bad collection id"
    elif kind == 1:
        base["where"] = _field_filter(
            rng.choice(_BAD_FIELD_PATHS), Op.EQUAL, Value(integer_value=1)
        )
        label = "bad filter path"
    elif kind == 2:
        base["where"] = _field_filter("n", 0, Value(integer_value=1))
        label = "unspecified operator"
    elif kind == 3:
        op = rng.choice([Op.IN, Op.NOT_IN, Op.ARRAY_CONTAINS_ANY])
        base["where"] = _field_filter(
            "n",
            op,
            rng.choice(
                [
                    Value(integer_value=1),
                    Value(array_value={"values": [Value(integer_value=i) for i in range(31)]}),
                ]
            ),
        )
        label = "bad IN operand"
    elif kind == 4:
        base["limit"] = wrappers_pb2.Int32Value(value=rng.choice([-1, -(2**31)]))
        label = "negative limit"
    elif kind == 5:
        base["offset"] = rng.choice([-1, -(2**31)])
        label = "negative offset"
    elif kind == 6:
        base["order_by"] = [{"field": {"field_path": "n"}, "direction": 1}]
        base["start_at"] = {"values": [Value(integer_value=1), Value(integer_value=2)] * 2}
        label = "cursor longer than order_by"
    elif kind == 7:
        base["order_by"] = [{"field": {"field_path": rng.choice(_BAD_FIELD_PATHS)}}]
        label = "bad order_by path"
    elif kind == 8:
        base["where"] = Filter(unary_filter={"field": {"field_path": "n"}, "op": 0})
        label = "unspecified unary operator"
    elif kind == 9:
        base["where"] = Filter(
            composite_filter={
                "op": 0,
                "filters": [_field_filter("n", Op.EQUAL, Value(integer_value=1))],
            }
        )
        label = "unspecified composite operator"
    elif kind == 10:
        base["where"] = _field_filter(
            "n", Op.LESS_THAN, Value(array_value={"values": [Value(array_value={})]})
        )
        label = "array in array operand"
    else:
        base["order_by"] = [{"field": {"field_path": "__name__"}}]
        base["start_at"] = {
            "values": [
                Value(
                    reference_value=rng.choice(
                        ["fuzz/a", "projects/x/databases/(default)/documents/fuzz/a", ""]
                    )
                )
            ]
        }
        label = "bad __name__ cursor"
    sq = query.StructuredQuery.pb()(**base)
    return label, sq


# ----------------------------------------------------------------------------- requests


def _random_proto_bytes(rng: random.Random) -> bytes:
    """Wire-format soup: plausible tags with random wire types, lengths and payloads."""
    out = bytearray()
    for _ in range(rng.randint(1, 8)):
        field, wire = rng.randint(1, 20), rng.choice([0, 1, 2, 2, 2, 3, 4, 5, 6, 7])
        out.append((field << 3 | wire) & 0xFF)
        if wire == 0:
            out += rng.randbytes(rng.randint(1, 11))
        elif wire == 2:
            length = rng.randint(0, 40)
            out.append(rng.choice([length, length + 5, 0x80, 0xFF]))
            out += rng.randbytes(length)
        else:
            out += rng.randbytes(rng.choice([0, 1, 4, 8]))
    return bytes(out)


def build(rng: random.Random, kind: str, rpc: str, names: Names, huge: bool) -> GrpcFuzz:
    """One request of family ``kind`` for method ``rpc`` (random families ignore the table)."""
    if kind == "bytes":
        payload = rng.choice([rng.randbytes(rng.randint(0, 64)), _random_proto_bytes(rng)])
        return GrpcFuzz(rpc, payload, {}, anything=True)
    defects: dict[str, set[StatusCode]] = {}
    if kind == "commit":
        writes = [valid_write(rng, names) for _ in range(rng.randint(0, 3))]
        for _ in range(rng.randint(1, 2)):
            label, codes, bad = bad_write(rng, names, huge)
            defects[label] = codes
            writes.insert(rng.randint(0, len(writes)), bad)
        request = fs.CommitRequest.pb()(database=names.database, writes=writes)
        if rng.randrange(8) == 0:
            request.transaction = rng.randbytes(rng.randint(1, 16))
            defects["unknown transaction"] = {INVALID, StatusCode.ABORTED}
        return GrpcFuzz("Commit", request.SerializeToString(), defects)
    if kind == "query":
        label, sq = bad_query(rng)
        parent = names.documents + rng.choice(["", "", "/fuzz/a"])
        return GrpcFuzz(
            "RunQuery",
            fs.RunQueryRequest.pb()(parent=parent, structured_query=sq).SerializeToString(),
            {label: {INVALID}},
        )
    if kind == "parent":
        bad_parent = rng.choice(
            [
                names.documents + "/fuzz",
                names.database,
                "",
                "projects/p",
                names.documents + "/fuzz/a/sub",
                names.documents + "//",
            ]
        )
        sq = query.StructuredQuery.pb()(**{"from_": [{"collection_id": "fuzz"}]})
        request: Any = rng.choice(
            [
                fs.RunQueryRequest.pb()(parent=bad_parent, structured_query=sq),
                fs.ListDocumentsRequest.pb()(parent=bad_parent, collection_id="fuzz"),
            ]
        )
        rpc_name = (
            "RunQuery"
            if "structured_query" in request.DESCRIPTOR.fields_by_name
            else ("ListDocuments")
        )
        return GrpcFuzz(rpc_name, request.SerializeToString(), {"bad parent": {INVALID}})
    # kind == "get"
    docs = [names.doc(rng.choice(SEEDED)) for _ in range(rng.randint(0, 2))]
    docs.insert(rng.randint(0, len(docs)), names.bad_doc(rng))
    request = fs.BatchGetDocumentsRequest.pb()(database=names.database, documents=docs)
    defects["bad document name"] = {INVALID}
    if rng.randrange(4) == 0:
        request.mask.field_paths.append(rng.choice(_BAD_FIELD_PATHS))
    return GrpcFuzz("BatchGetDocuments", request.SerializeToString(), defects)


FAMILIES = ("bytes", "bytes", "commit", "commit", "commit", "query", "query", "parent", "get")


@st.composite
def grpc_requests(draw: st.DrawFn, project: str) -> GrpcFuzz:
    """One hostile Firestore request (see the module docstring)."""
    rng = draw(st.randoms(use_true_random=True))
    kind = draw(st.sampled_from(FAMILIES))
    rpc = draw(st.sampled_from(UNARY + STREAMING))
    return build(rng, kind, rpc, Names(project), huge=rng.randrange(500) == 0)


def is_streaming(rpc: str) -> bool:
    return rpc in STREAMING
