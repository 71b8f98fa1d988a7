"""The index planner answers exactly as a scan: random documents, writes and queries."""

from __future__ import annotations

import math
from typing import Any

from google.cloud.firestore_v1._helpers import encode_value
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.errors import ServiceError
from emulator.firestore import indexes
from emulator.firestore.protos import query as _query
from emulator.firestore.query import compile_query
from emulator.firestore.store import Store
from emulator.firestore.values import Document

KEY = ("p", "(default)")
ROOT = "projects/p/databases/(default)/documents"
StructuredQuery: Any = _query.StructuredQuery.pb()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, 1.0, -0.0, math.nan, math.inf, 2.0]),
    st.sampled_from(["", "a", "b", "ab", "é"]),
)
field_values = st.one_of(scalars, st.lists(scalars, max_size=3))
FIELDS = ["a", "b", "t"]
#: documents of collection "c" at the root, and of a "c" subcollection under x/1 (group scope)
NAMES = [f"{ROOT}/c/d{i}" for i in range(12)] + [f"{ROOT}/x/1/c/e{i}" for i in range(4)]

documents = st.dictionaries(
    st.sampled_from(NAMES),
    st.one_of(st.none(), st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=3)),
    max_size=16,
)

OPS = {
    "<": 1,
    "<=": 2,
    ">": 3,
    ">=": 4,
    "==": 5,
    "!=": 6,
    "array_contains": 7,
    "in": 8,
    "array_contains_any": 9,
    "not_in": 10,
}
field_filters = st.tuples(
    st.sampled_from(FIELDS + ["__name__"]),
    st.sampled_from(sorted(OPS)),
    st.one_of(field_values, st.lists(scalars, min_size=1, max_size=3)),
)
queries = st.fixed_dictionaries(
    {
        "group": st.booleans(),
        "kindless": st.booleans(),
        "under": st.booleans(),
        "filters": st.lists(field_filters, max_size=2),
        "or": st.booleans(),
        "orders": st.lists(
            st.tuples(st.sampled_from(FIELDS + ["__name__"]), st.sampled_from([1, 2])),
            max_size=2,
            unique_by=lambda o: o[0],
        ),
        "start": st.one_of(
            st.none(), st.tuples(st.lists(scalars, min_size=1, max_size=2), st.booleans())
        ),
        "end": st.one_of(
            st.none(), st.tuples(st.lists(scalars, min_size=1, max_size=2), st.booleans())
        ),
        "offset": st.integers(0, 3),
        "limit": st.one_of(st.none(), st.integers(0, 6)),
    }
)


def _value(v: Any, path: str) -> Any:
    """``v`` as a Value; on ``__name__`` any scalar stands for a reference into the data."""
    if path == "__name__" and not isinstance(v, list):
        out = encode_value(None)._pb
        out.reference_value = NAMES[len(repr(v)) % len(NAMES)]
        return out
    return encode_value(v)._pb


def structured(spec: dict[str, Any]) -> Any:
    sq = StructuredQuery()
    sel = sq.from_.add()
    sel.collection_id = "" if spec["group"] and spec["kindless"] else "c"
    sel.all_descendants = spec["group"]
    target = sq.where.composite_filter
    target.op = 2 if spec["or"] else 1
    for path, op, value in spec["filters"]:
        ff = target.filters.add().field_filter
        ff.field.field_path = path
        ff.op = OPS[op]
        if op in ("in", "not_in", "array_contains_any") and not isinstance(value, list):
            value = [value]
        if isinstance(value, list) and path == "__name__":
            ff.value.array_value.SetInParent()
            for v in value:
                ff.value.array_value.values.add().CopyFrom(_value(v, path))
        else:
            ff.value.CopyFrom(_value(value, path))
    for path, direction in spec["orders"]:
        o = sq.order_by.add()
        o.field.field_path = path
        o.direction = direction
    for which, cursor in (("start_at", spec["start"]), ("end_at", spec["end"])):
        if cursor is not None:
            values, before = cursor
            c = getattr(sq, which)
            c.before = before
            explicit = [path for path, _ in spec["orders"]]
            for i, v in enumerate(values):
                path = explicit[i] if i < len(explicit) else "__name__"
                c.values.add().CopyFrom(_value(v, path))
    sq.offset = spec["offset"]
    if spec["limit"] is not None:
        sq.limit.value = spec["limit"]
    return sq


def commit(store: Store, docs: dict[str, dict[str, Any] | None]) -> None:
    at = store.clock.tick()
    staged: dict[str, Any | None] = {}
    for name, fields in docs.items():
        if fields is None:
            staged[name] = None
            continue
        doc = Document()
        doc.name = name
        for k, v in fields.items():
            doc.fields[k].CopyFrom(encode_value(v)._pb)
        doc.update_time.seconds, rem = divmod(at, 1_000_000)
        doc.update_time.nanos = rem * 1000
        staged[name] = doc
    store.commit(KEY, staged, at)


def names(docs: list[Any]) -> list[str]:
    return [d.name for d in docs]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=documents, second=documents, specs=st.lists(queries, min_size=1, max_size=4))
def test_indexed_plan_equals_scan(first: Any, second: Any, specs: list[dict[str, Any]]) -> None:
    store = Store()
    commit(store, first)
    db = store.database(KEY)
    compiled = []
    for spec in specs:
        parent = f"{ROOT}/x/1" if spec["under"] else ROOT
        try:
            compiled.append(compile_query(parent, structured(spec)))
        except ServiceError:
            continue
    # Query once (building the indexes), write more (maintaining them), query again.
    for round_ in range(2):
        for q in compiled:
            scope = list(db.scope(q.parent, q.collection_id, q.all_descendants))
            expected = names(q.run(scope))
            planned = indexes.plan_run(q, db, min_docs=0)
            if q.conjuncts is None:
                assert planned is None
            else:
                assert planned is not None
                assert names(planned) == expected
        if round_ == 0:
            commit(store, second)


def test_big_collection_uses_an_index_and_stays_current() -> None:
    store = Store()
    commit(store, {f"{ROOT}/c/d{i:04}": {"a": i % 7, "b": i} for i in range(1000)})
    db = store.database(KEY)
    sq = structured(
        {
            "group": False,
            "filters": [("a", "==", 3), ("b", ">=", 500)],
            "or": False,
            "orders": [("b", 2)],
            "start": None,
            "end": None,
            "offset": 1,
            "limit": 5,
        }
    )
    q = compile_query(ROOT, sq)
    scope = db.scope_at(None, q.parent, q.collection_id, q.all_descendants)
    assert scope is not None
    got = names(q.run(scope))
    assert got == [f"{ROOT}/c/d{i:04}" for i in (990, 983, 976, 969, 962)]
    assert db.indexes.count() == 1
    commit(store, {f"{ROOT}/c/d0990": None, f"{ROOT}/c/d0002": {"a": 3, "b": 2000}})
    got = names(q.run(scope))
    assert got == [f"{ROOT}/c/d{i:04}" for i in (997, 983, 976, 969, 962)]
