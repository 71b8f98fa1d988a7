"""Properties of random write sequences on a tree."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from firebase_sync_emulator.database.paths import Path, is_prefix, is_valid_key
from firebase_sync_emulator.database.tree import Tree
from firebase_sync_emulator.database.values import Node, Normaliser, children, render
from firebase_sync_emulator.errors import ServiceError

keys = st.sampled_from(["a", "b", "0", "1", "10"])
paths = st.lists(keys, max_size=3).map(tuple)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(["", "x"]),
    lambda inner: (
        st.dictionaries(keys | st.just("bad.key"), inner, max_size=3) | st.lists(inner, max_size=3)
    ),
    max_leaves=8,
)
writes = st.tuples(st.sampled_from(["set", "update"]), paths, values)


def leaves(node: Node | None, path: Path = ()) -> dict[Path, Any]:
    if not isinstance(node, dict):
        return {} if node is None else {path: node}
    found: dict[Path, Any] = {}
    for key, child in children(node):
        found.update(leaves(child, (*path, key)))
    return found


def check_invariants(node: Node | None) -> None:
    if isinstance(node, dict):
        real = [key for key in node if key[0] != "."]
        assert real, "stored objects are never empty"
        for key in real:
            assert is_valid_key(key)
            assert node[key] is not None
            check_invariants(node[key])


@settings(max_examples=100, deadline=None)
@given(st.lists(writes, max_size=8))
def test_writes_keep_invariants_and_touch_only_their_paths(ops: list[Any]) -> None:
    tree = Tree(lambda: 0)
    for kind, path, value in ops:
        before = leaves(tree.node(()))
        try:
            if kind == "set":
                tree.set(path, value)
                targets = [path]
            else:
                if not isinstance(value, dict):
                    value = {"a": value}
                tree.update(path, value)
                targets = [(*path, *k.split("/")) for k in value]
        except ServiceError:
            assert leaves(tree.node(())) == before  # refused: nothing changed
            continue
        check_invariants(tree.node(()))
        after = leaves(tree.node(()))
        for leaf, old in before.items():
            if not any(is_prefix(t, leaf) or is_prefix(leaf, t) for t in targets):
                assert after.get(leaf) == old
        if kind == "set":
            assert tree.get(path) == render(Normaliser(0).normalise(value, len(path), None))
