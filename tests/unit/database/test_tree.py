"""Writes on one namespace's tree."""

from __future__ import annotations

import pytest

from firebase_sync_emulator.database.tree import EtagMismatch, Tree
from firebase_sync_emulator.database.values import etag
from firebase_sync_emulator.errors import Code, ServiceError

NOW = 1_700_000_000_000


@pytest.fixture
def tree() -> Tree:
    return Tree(lambda: NOW)


def test_set_get_delete_prunes_upward(tree: Tree) -> None:
    tree.set(("a", "b", "c"), 1)
    tree.set(("a", "x"), 2)
    assert tree.get(()) == {"a": {"b": {"c": 1}, "x": 2}}
    tree.set(("a", "b", "c"), None)
    assert tree.get(()) == {"a": {"x": 2}}
    tree.set(("a", "x"), None)
    assert tree.get(()) is None
    assert tree.empty


def test_root_may_be_a_leaf(tree: Tree) -> None:
    tree.set((), 5)
    assert tree.get(()) == 5
    tree.set(("a",), 1)  # writing below a leaf replaces it
    assert tree.get(()) == {"a": 1}
    tree.set(("a", "b"), None)  # deleting below a leaf changes nothing
    assert tree.get(()) == {"a": 1}


def test_write_reports_rendered_value(tree: Tree) -> None:
    change = tree.set(("list",), ["x", "y"])
    assert (change.kind, change.path, change.data) == ("put", ("list",), ["x", "y"])
    assert tree.set(("e",), {}).data is None


def test_update_is_multi_path_and_atomic(tree: Tree) -> None:
    tree.set((), {"a": {"b": 1, "c": 2}, "n": 1})
    change = tree.update((), {"a/b": 10, "d/e": {"f": 1}, "n": {".sv": {"increment": 2}}})
    assert change.kind == "patch"
    assert change.data == {"a/b": 10, "d/e": {"f": 1}, "n": 3}
    assert change.patch_paths == (("a", "b"), ("d", "e"), ("n",))
    assert tree.get(()) == {"a": {"b": 10, "c": 2}, "d": {"e": {"f": 1}}, "n": 3}


@pytest.mark.parametrize(
    "patch",
    [
        {"a": 1, "a/b": 2},
        {"x/y": 1, "x": 2},
        {"a": 1, "a/": 2},
        {"ok": 1, "bad.key": 2},
        {"ok": 1, "deep": {"in#valid": 1}},
        {"": 1},
        {"ok": 1, "t": {".sv": "bogus"}},
    ],
)
def test_refused_update_changes_nothing(tree: Tree, patch: dict[str, object]) -> None:
    tree.set((), {"a": {"b": 1}, "keep": True})
    before = tree.get(())
    with pytest.raises(ServiceError) as caught:
        tree.update((), patch)  # type: ignore[arg-type]
    assert caught.value.code is Code.INVALID_ARGUMENT
    assert tree.get(()) == before


def test_update_requires_an_object(tree: Tree) -> None:
    with pytest.raises(ServiceError):
        tree.update((), [1, 2])


def test_refused_set_changes_nothing(tree: Tree) -> None:
    tree.set((), {"a": 1})
    with pytest.raises(ServiceError):
        tree.set(("b",), {"fine": 1, "not$fine": 2})
    assert tree.get(()) == {"a": 1}


def test_conditional_write(tree: Tree) -> None:
    tree.set(("a",), 1)
    good = tree.etag(("a",))
    with pytest.raises(EtagMismatch) as caught:
        tree.set(("a",), 2, if_match="stale")
    assert caught.value.etag == good
    assert caught.value.current == 1
    assert tree.get(("a",)) == 1
    tree.set(("a",), 2, if_match=good)
    assert tree.get(("a",)) == 2
    assert tree.etag(("missing",)) == etag(None)
    tree.set(("missing",), 1, if_match=etag(None))
    assert tree.get(("missing",)) == 1


def test_priorities_survive_updates_and_go_with_sets(tree: Tree) -> None:
    tree.set(("a",), {"x": 1, ".priority": 5})
    tree.update(("a",), {"y": 2})
    assert tree.priority(("a",)) == 5
    tree.set(("a",), {"x": 1})
    assert tree.priority(("a",)) is None
    tree.set_priority(("a",), "p")
    assert tree.node(("a",)) == {"x": 1, ".priority": "p"}
    tree.set(("leaf",), 3)
    tree.set_priority(("leaf",), 1)
    assert tree.node(("leaf",)) == {".value": 3, ".priority": 1}
    tree.set_priority(("leaf",), None)
    assert tree.node(("leaf",)) == 3
    tree.set_priority(("absent",), 1)
    assert tree.node(("absent",)) is None
    tree.update(("leaf",), {".priority": 9})
    assert tree.priority(("leaf",)) == 9
    assert tree.get(("leaf",)) == 3


def test_writing_below_a_prioritised_leaf_keeps_the_priority(tree: Tree) -> None:
    tree.set(("a",), {".value": 1, ".priority": 7})
    tree.set(("a", "b"), 2)
    assert tree.node(("a",)) == {".priority": 7, "b": 2}
