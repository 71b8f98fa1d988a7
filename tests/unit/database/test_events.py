"""Which event a listener gets for a write."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from firebase_sync_emulator.database.events import Event, Relation, derive, relation
from firebase_sync_emulator.database.tree import Write


def put(path: tuple[str, ...], data: object) -> Write:
    return Write("put", path, data)  # type: ignore[arg-type]


def patch(path: tuple[str, ...], data: dict[str, object]) -> Write:
    paths = tuple(tuple(k.split("/")) for k in data)
    return Write("patch", path, data, paths)  # type: ignore[arg-type]


def test_put_at_and_below() -> None:
    assert derive(("a",), put(("a",), 1)) == Event("put", "/", 1)
    assert derive(("a",), put(("a", "b", "c"), None)) == Event("put", "/b/c", None)
    assert derive((), put(("a",), 1)) == Event("put", "/a", 1)


def test_put_above_sends_new_value_only_if_changed() -> None:
    write = put((), {"a": {"b": 2}})
    assert derive(("a", "b"), write, before=1, after=2) == Event("put", "/", 2)
    assert derive(("a", "b"), write, before=2, after=2) is None
    assert derive(("a", "b"), put((), None), before=2, after=None) == Event("put", "/", None)
    assert derive(("a",), write, before=1, after=True) == Event("put", "/", True)


def test_siblings_get_nothing() -> None:
    assert derive(("a", "b"), put(("a", "c"), 1)) is None
    assert derive(("a",), put(("ab",), 1)) is None
    assert derive(("a",), patch(("b",), {"x": 1})) is None


def test_patch_at_and_below_keeps_keys_as_sent() -> None:
    write = patch(("a",), {"x": 0, "y/z": 0})
    assert derive(("a",), write) == Event("patch", "/", {"x": 0, "y/z": 0})
    assert derive((), write) == Event("patch", "/a", {"x": 0, "y/z": 0})


def test_patch_above() -> None:
    write = patch((), {"a/b": 1, "a/c/d": 2, "z": 3})
    # keys inside the listener are rebased
    assert derive(("a",), write, before=None, after=None) == Event("patch", "/", {"b": 1, "c/d": 2})
    # a key covering the listener replaces its value
    assert derive(("a", "b"), write, before=0, after=1) == Event("put", "/", 1)
    assert derive(("a", "b", "q"), write, before=0, after=None) == Event("put", "/", None)
    # keys elsewhere: nothing
    assert derive(("q",), write, before=None, after=None) is None


def test_relation() -> None:
    assert relation(("a",), ("a", "b")) is Relation.AT_OR_BELOW
    assert relation(("a", "b"), ("a",)) is Relation.ABOVE
    assert relation(("a", "b"), ("a", "c")) is Relation.UNRELATED


segments = st.lists(st.sampled_from("abc"), max_size=4).map(tuple)


@given(segments, segments)
def test_unrelated_paths_never_get_events(
    listener: tuple[str, ...], target: tuple[str, ...]
) -> None:
    event = derive(listener, put(target, 1), before=0, after=1)
    if relation(listener, target) is Relation.UNRELATED:
        assert event is None
    else:
        assert event is not None and event.name == "put"
