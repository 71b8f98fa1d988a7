"""Hypothesis strategies for the differential fuzzer: scenarios of Firestore operations as
protobuf JSON (``json_format`` mapping), identical for both emulators.

A scenario is a set of seed documents (every value type, nested maps and arrays, documents in
subcollections for collection-group queries) followed by operations: writes with masks,
transforms and preconditions; queries with every operator, composite filters, orders, cursors,
offsets, limits, projections and collection groups; aggregations; and malformed requests.
Generation stays clear of the differences the README lists as production-correct (limits,
references across databases, ``__.*__`` names, server timestamps, locking transactions).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

FIELDS = ("a", "b", "c", "m.x", "arr")
COLLECTIONS = ("items", "other")
IDS = ("d0", "d1", "d2", "d3", "d4", "d5")
FIELD_OPS = (
    "LESS_THAN",
    "LESS_THAN_OR_EQUAL",
    "GREATER_THAN",
    "GREATER_THAN_OR_EQUAL",
    "EQUAL",
    "NOT_EQUAL",
    "ARRAY_CONTAINS",
    "IN",
    "ARRAY_CONTAINS_ANY",
    "NOT_IN",
)
UNARY_OPS = ("IS_NAN", "IS_NULL", "IS_NOT_NAN", "IS_NOT_NULL")


@dataclass(frozen=True)
class Op:
    """One RPC: its method name and request as protobuf JSON with ``{root}`` / ``{db}``
    placeholders; ``precondition`` asks for the target's update_time to be filled in."""

    rpc: str
    request: dict[str, Any]
    precondition: str | None = None  # "current", "stale", "newer"
    target: str | None = None


# ---------------------------------------------------------------- values


def _ints() -> st.SearchStrategy[int]:
    return st.one_of(st.integers(-3, 3), st.integers(-(2**63), 2**63 - 1))


def _doubles() -> st.SearchStrategy[float]:
    return st.one_of(
        st.sampled_from([0.0, -0.0, 1.0, 2.5, -1.5, math.inf, -math.inf, math.nan, 2.0**53]),
        st.floats(allow_nan=False, allow_infinity=False, width=64),
    )


def _json_double(x: float) -> Any:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def _timestamps() -> st.SearchStrategy[str]:
    # microsecond precision: what both emulators keep
    return st.builds(
        lambda s, us: f"{_iso(s)}.{us:06d}Z",
        st.integers(0, 4_102_444_799),
        st.integers(0, 999_999),
    )


def _iso(seconds: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def scalar_values() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.just({"nullValue": None}),
        st.booleans().map(lambda b: {"booleanValue": b}),
        _ints().map(lambda i: {"integerValue": str(i)}),
        _doubles().map(lambda d: {"doubleValue": _json_double(d)}),
        _timestamps().map(lambda t: {"timestampValue": t}),
        st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=6).map(
            lambda s: {"stringValue": s}
        ),
        st.binary(max_size=6).map(lambda b: {"bytesValue": base64.b64encode(b).decode()}),
        st.sampled_from(IDS).map(lambda i: {"referenceValue": "{root}/items/" + i}),
        st.tuples(st.floats(-90, 90), st.floats(-180, 180)).map(
            lambda g: {"geoPointValue": {"latitude": g[0], "longitude": g[1]}}
        ),
    )


def values(depth: int = 2) -> st.SearchStrategy[dict[str, Any]]:
    if depth <= 0:
        return scalar_values()
    inner = values(depth - 1)
    return st.one_of(
        scalar_values(),
        scalar_values(),
        st.lists(inner, max_size=3).map(lambda v: {"arrayValue": {"values": v}}),
        st.dictionaries(st.sampled_from(("x", "y", "k")), inner, max_size=2).map(
            lambda f: {"mapValue": {"fields": f}}
        ),
    )


@st.composite
def document_fields(draw: st.DrawFn) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in ("a", "b", "c"):
        if draw(st.integers(0, 3)):
            fields[name] = draw(values(1))
    if draw(st.booleans()):
        fields["m"] = {"mapValue": {"fields": {"x": draw(scalar_values())}}}
    if draw(st.booleans()):
        fields["arr"] = {"arrayValue": {"values": draw(st.lists(scalar_values(), max_size=3))}}
    return fields


@st.composite
def seed_documents(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    """Document path (relative to the root) -> fields."""
    names = draw(st.lists(st.sampled_from(IDS), min_size=2, max_size=6, unique=True))
    docs = {f"items/{n}": draw(document_fields()) for n in names}
    for n in draw(st.lists(st.sampled_from(IDS[:3]), max_size=2, unique=True)):
        docs[f"other/{n}/items/s{n}"] = draw(document_fields())  # for collection groups
    return docs


# ---------------------------------------------------------------- writes


def _field_path(path: str) -> str:
    return path


@st.composite
def transforms(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for path in draw(st.lists(st.sampled_from(("a", "b", "n")), max_size=2, unique=True)):
        kind = draw(
            st.sampled_from(
                ("increment", "maximum", "minimum", "appendMissingElements", "removeAllFromArray")
            )
        )
        if kind in ("increment", "maximum", "minimum"):
            operand = draw(
                st.one_of(
                    _ints().map(lambda i: {"integerValue": str(i)}),
                    _doubles().map(lambda d: {"doubleValue": _json_double(d)}),
                )
            )
            out.append({"fieldPath": path, kind: operand})
        else:
            out.append(
                {"fieldPath": path, kind: {"values": draw(st.lists(scalar_values(), max_size=3))}}
            )
    return out


@st.composite
def write_ops(draw: st.DrawFn) -> Op:
    target = f"items/{draw(st.sampled_from(IDS))}"
    name = "{root}/" + target
    kind = draw(st.sampled_from(("set", "set", "update", "delete")))
    write: dict[str, Any]
    if kind == "delete":
        write = {"delete": name}
    else:
        write = {"update": {"name": name, "fields": draw(document_fields())}}
        if kind == "update":
            paths = draw(
                st.lists(st.sampled_from(FIELDS + ("zz",)), min_size=1, max_size=3, unique=True)
            )
            write["updateMask"] = {"fieldPaths": paths}
        found = draw(transforms())
        if found:
            write["updateTransforms"] = found
    precondition = None
    which = draw(
        st.sampled_from(("none", "none", "exists", "missing", "current", "stale", "newer"))
    )
    if which == "exists":
        write["currentDocument"] = {"exists": True}
    elif which == "missing":
        write["currentDocument"] = {"exists": False}
    elif which != "none":
        precondition = which
    return Op("Commit", {"database": "{db}", "writes": [write]}, precondition, target)


# ---------------------------------------------------------------- queries


@st.composite
def field_filters(draw: st.DrawFn) -> dict[str, Any]:
    path = draw(st.sampled_from(FIELDS))
    if draw(st.integers(0, 4)) == 0:
        return {
            "unaryFilter": {"op": draw(st.sampled_from(UNARY_OPS)), "field": {"fieldPath": path}}
        }
    op = draw(st.sampled_from(FIELD_OPS))
    if op in ("IN", "NOT_IN", "ARRAY_CONTAINS_ANY"):
        value = {"arrayValue": {"values": draw(st.lists(scalar_values(), min_size=1, max_size=3))}}
    else:
        value = draw(scalar_values())
    return {"fieldFilter": {"field": {"fieldPath": path}, "op": op, "value": value}}


def filters(depth: int = 2) -> st.SearchStrategy[dict[str, Any]]:
    if depth <= 0:
        return field_filters()
    return st.one_of(
        field_filters(),
        field_filters(),
        st.builds(
            lambda op, subs: {"compositeFilter": {"op": op, "filters": subs}},
            st.sampled_from(("AND", "OR")),
            st.lists(filters(depth - 1), min_size=1, max_size=3),
        ),
    )


@st.composite
def structured_queries(draw: st.DrawFn) -> dict[str, Any]:
    group = draw(st.integers(0, 4)) == 0
    q: dict[str, Any] = {"from": [{"collectionId": "items", "allDescendants": group}]}
    if draw(st.booleans()):
        q["where"] = draw(filters())
    orders = draw(st.lists(st.sampled_from(FIELDS + ("__name__",)), max_size=2, unique=True))
    if orders:
        q["orderBy"] = [
            {
                "field": {"fieldPath": p},
                "direction": draw(st.sampled_from(("ASCENDING", "DESCENDING"))),
            }
            for p in orders
        ]
        for bound in ("startAt", "endAt"):
            if draw(st.integers(0, 3)) == 0:
                cursor_values = []
                for p in orders[: draw(st.integers(1, len(orders)))]:
                    if p == "__name__":
                        ref = "{root}/items/" + draw(st.sampled_from(IDS))
                        cursor_values.append({"referenceValue": ref})
                    else:
                        cursor_values.append(draw(scalar_values()))
                q[bound] = {"values": cursor_values, "before": draw(st.booleans())}
    if draw(st.integers(0, 3)) == 0:
        q["offset"] = draw(st.integers(0, 3))
    if draw(st.booleans()):
        q["limit"] = draw(st.integers(0, 4))
    if draw(st.integers(0, 3)) == 0:
        q["select"] = {
            "fields": [
                {"fieldPath": p}
                for p in draw(
                    st.lists(st.sampled_from(FIELDS + ("__name__",)), max_size=2, unique=True)
                )
            ]
        }
    return q


@st.composite
def query_ops(draw: st.DrawFn) -> Op:
    return Op("RunQuery", {"parent": "{root}", "structuredQuery": draw(structured_queries())})


@st.composite
def aggregation_ops(draw: st.DrawFn) -> Op:
    q = draw(structured_queries())
    q.pop("select", None)
    aggs = []
    for i in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(("count", "sum", "avg")))
        agg: dict[str, Any] = {"alias": f"f{i}"}
        if kind == "count":
            agg["count"] = {"upTo": str(draw(st.integers(1, 5)))} if draw(st.booleans()) else {}
        else:
            agg[kind] = {"field": {"fieldPath": draw(st.sampled_from(("a", "b", "m.x")))}}
        aggs.append(agg)
    return Op(
        "RunAggregationQuery",
        {
            "parent": "{root}",
            "structuredAggregationQuery": {"structuredQuery": q, "aggregations": aggs},
        },
    )


# ---------------------------------------------------------------- malformed requests

_BAD_QUERY_PARTS: tuple[dict[str, Any], ...] = (
    {"limit": -1},
    {"offset": -1},
    {"from": []},
    {"from": [{"collectionId": "a/b"}]},
    {"where": {"fieldFilter": {"field": {"fieldPath": "a"}, "op": "EQUAL"}}},
    {
        "where": {
            "fieldFilter": {"field": {"fieldPath": "a"}, "op": "IN", "value": {"integerValue": "1"}}
        }
    },
    {
        "where": {
            "fieldFilter": {"field": {"fieldPath": "a"}, "op": "IN", "value": {"arrayValue": {}}}
        }
    },
    {
        "where": {
            "fieldFilter": {
                "field": {"fieldPath": ""},
                "op": "EQUAL",
                "value": {"integerValue": "1"},
            }
        }
    },
    {
        "where": {
            "fieldFilter": {
                "field": {"fieldPath": "a..b"},
                "op": "EQUAL",
                "value": {"integerValue": "1"},
            }
        }
    },
    {"where": {"unaryFilter": {"field": {"fieldPath": "a"}}}},
    {"where": {"compositeFilter": {"op": "AND", "filters": []}}},
    {"orderBy": [{"field": {"fieldPath": "a"}}, {"field": {"fieldPath": "a"}}]},
    {
        "orderBy": [{"field": {"fieldPath": "a"}}],
        "startAt": {
            "values": [{"integerValue": "1"}, {"integerValue": "2"}, {"integerValue": "3"}]
        },
    },
    {"startAt": {"values": [{"integerValue": "1"}]}},
)


@st.composite
def malformed_ops(draw: st.DrawFn) -> Op:
    kind = draw(st.sampled_from(("query", "query", "aggregation", "write", "parent")))
    if kind == "query":
        q = draw(structured_queries())
        q.update(draw(st.sampled_from(_BAD_QUERY_PARTS)))
        return Op("RunQuery", {"parent": "{root}", "structuredQuery": q})
    if kind == "aggregation":
        q = {"from": [{"collectionId": "items"}]}
        aggs = draw(
            st.sampled_from(
                (
                    [],
                    [{"alias": "x", "count": {}}, {"alias": "x", "count": {}}],
                    [{"alias": "x", "count": {"upTo": "0"}}],
                    [{"alias": "x"}],
                    [{"alias": "x", "sum": {"field": {"fieldPath": ""}}}],
                    [{"alias": f"a{i}", "count": {}} for i in range(6)],
                )
            )
        )
        return Op(
            "RunAggregationQuery",
            {
                "parent": "{root}",
                "structuredAggregationQuery": {"structuredQuery": q, "aggregations": aggs},
            },
        )
    if kind == "write":
        write = draw(
            st.sampled_from(
                (
                    {"update": {"name": "{root}/items", "fields": {}}},
                    {"update": {"name": "{root}/items/d0/x", "fields": {}}},
                    {"update": {"name": "{root}/items/d0", "fields": {"a": {}}}},
                    {
                        "update": {"name": "{root}/items/d0", "fields": {}},
                        "updateMask": {"fieldPaths": ["a..b"]},
                    },
                    {
                        "update": {"name": "{root}/items/d0", "fields": {}},
                        "updateTransforms": [{"fieldPath": "n"}],
                    },
                    {"delete": "{root}/items"},
                    {},
                )
            )
        )
        return Op("Commit", {"database": "{db}", "writes": [write]})
    parent = draw(
        st.sampled_from(("{root}/items", "{root}/items/d0/x/y/z", "projects/p", "{root}/items/d0"))
    )
    return Op(
        "RunQuery", {"parent": parent, "structuredQuery": {"from": [{"collectionId": "items"}]}}
    )


def operations() -> st.SearchStrategy[Op]:
    return st.one_of(write_ops(), query_ops(), query_ops(), aggregation_ops(), malformed_ops())


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, dict[str, Any]], list[Op]]:
    return draw(seed_documents()), draw(st.lists(operations(), min_size=1, max_size=8))
