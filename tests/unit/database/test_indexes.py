"""Indexed child queries answer exactly as ranking every child, through writes."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.database import indexes
from emulator.database.query import parse_query
from emulator.database.tree import Tree

keys = st.sampled_from(["a", "b", "1", "01", "-3", "2", "10", "z", "é", "ab"])
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, 2.0]),
    st.sampled_from(["", "a", "b", "ab"]),
)
values = st.one_of(leaves, st.dictionaries(st.sampled_from(["x", "y"]), leaves, max_size=2))
writes = st.lists(
    st.tuples(
        st.sampled_from(["set", "update", "priority"]),
        st.lists(keys, min_size=0, max_size=2),
        values,
    ),
    max_size=12,
)
bounds = st.one_of(st.none(), leaves.filter(lambda v: v is not None))
queries = st.fixed_dictionaries(
    {
        "orderBy": st.sampled_from(['"$key"', '"$value"', '"$priority"', '"x"', '"x/y"']),
        "start": bounds,
        "end": bounds,
        "limit": st.one_of(
            st.none(),
            st.tuples(st.sampled_from(["limitToFirst", "limitToLast"]), st.integers(0, 5)),
        ),
    }
)


def params(spec: dict[str, Any]) -> dict[str, str] | None:
    import json

    out = {"orderBy": spec["orderBy"]}
    for name in ("start", "end"):
        v = spec[name]
        if v is None:
            continue
        if spec["orderBy"] == '"$key"':
            v = str(v)
        if spec["orderBy"] == '"$priority"' and isinstance(v, bool):
            continue
        out[name + "At"] = json.dumps(v)
    if spec["limit"] is not None:
        out[spec["limit"][0]] = str(spec["limit"][1])
    return out


def apply(tree: Tree, op: str, path: list[str], value: Any) -> None:
    full = ("n", *path)
    if op == "set":
        tree.set(full, value)
    elif op == "update" and isinstance(value, dict) and value:
        tree.update(full, value)
    elif op == "priority" and path and not isinstance(value, bool | dict):
        tree.set_priority(full, value)


@settings(max_examples=300, deadline=None)
@given(before=writes, after=writes, specs=st.lists(queries, min_size=1, max_size=3))
def test_index_walk_equals_ranking(before: Any, after: Any, specs: Any) -> None:
    old = indexes.MIN_INDEXED_CHILDREN
    indexes.MIN_INDEXED_CHILDREN = 0
    try:
        tree = Tree(lambda: 0)
        for w in before:
            apply(tree, *w)
        compiled = [parse_query(p) for s in specs if (p := params(s)) is not None]
        for round_ in range(2):
            for q in compiled:
                assert q is not None
                assert tree.select(("n",), q) == q.select(tree.node(("n",)))
            for w in after if round_ == 0 else []:
                apply(tree, *w)
    finally:
        indexes.MIN_INDEXED_CHILDREN = old
