"""Reads and writes through the unmodified firebase-admin SDK."""

from __future__ import annotations

import time
from typing import Any

import pytest
from firebase_admin import db, exceptions


def root(app: Any) -> db.Reference:
    return db.reference("/", app=app)


def test_set_get_update_delete(rtdb_app: Any) -> None:
    ref = root(rtdb_app)
    ref.child("users/alice").set({"name": "Alice", "age": 30, "tags": ["a", "b"]})
    assert ref.child("users/alice").get() == {"name": "Alice", "age": 30, "tags": ["a", "b"]}
    ref.child("users").update({"alice/age": 31, "bob": {"name": "Bob"}, "alice/tags": None})
    assert ref.child("users").get() == {
        "alice": {"name": "Alice", "age": 31},
        "bob": {"name": "Bob"},
    }
    ref.child("users/bob").delete()
    assert ref.child("users").get() == {"alice": {"name": "Alice", "age": 31}}
    assert ref.child("missing").get() is None


def test_unicode_and_spaces_in_paths_and_values(rtdb_app: Any) -> None:
    ref = root(rtdb_app).child("sp ace/ünï")
    ref.set({"text": "Zoë ✓ 🙂", "plus": "+00:00"})
    assert ref.get() == {"text": "Zoë ✓ 🙂", "plus": "+00:00"}


def test_empty_objects_are_pruned_and_null_deletes(rtdb_app: Any) -> None:
    ref = root(rtdb_app)
    ref.set({"a": {"b": {"c": {}}}, "d": 1, "e": None})
    assert ref.get() == {"d": 1}
    ref.child("x/y/z").set(1)
    ref.child("x/y/z").delete()
    assert ref.get() == {"d": 1}


def test_dense_and_sparse_arrays(rtdb_app: Any) -> None:
    ref = root(rtdb_app)
    ref.child("dense").set(["a", "b", "c", "d"])
    ref.child("dense/2").delete()
    assert ref.child("dense").get() == ["a", "b", None, "d"]
    ref.child("sparse").set({"0": "a", "5": "f"})
    assert ref.child("sparse").get() == {"0": "a", "5": "f"}


def test_push_ids_are_chronological(rtdb_app: Any) -> None:
    ref = root(rtdb_app).child("msgs")
    keys = [ref.push({"n": i}).key for i in range(20)]
    assert keys == sorted(keys)
    assert all(len(key) == 20 for key in keys)
    assert ref.get() == {key: {"n": i} for i, key in enumerate(keys)}
    empty = ref.push()
    assert ref.child(empty.key).get() == ""


def test_server_values(rtdb_app: Any) -> None:
    ref = root(rtdb_app)
    before = int(time.time() * 1000)
    ref.child("t").set({".sv": "timestamp"})
    after = int(time.time() * 1000)
    assert before - 5 <= ref.child("t").get() <= after + 5
    ref.child("n").set({".sv": {"increment": 2}})
    ref.update({"n": {".sv": {"increment": 3}}, "m": {"deep": {".sv": {"increment": 1.5}}}})
    assert ref.child("n").get() == 5
    assert ref.child("m/deep").get() == 1.5


def test_transaction(rtdb_app: Any) -> None:
    counter = root(rtdb_app).child("counter")
    assert counter.transaction(lambda current: (current or 0) + 1) == 1
    assert counter.transaction(lambda current: (current or 0) + 1) == 2
    assert counter.get() == 2
    doc = root(rtdb_app).child("doc")
    doc.set({"v": 1})
    assert doc.transaction(lambda d: {**d, "v": d["v"] * 10}) == {"v": 10}


def test_transaction_retries_after_a_concurrent_write(rtdb_app: Any) -> None:
    ref = root(rtdb_app).child("n")
    ref.set(1)
    calls: list[Any] = []

    def bump(current: Any) -> Any:
        calls.append(current)
        if len(calls) == 1:
            ref.set(100)  # someone else writes between our read and our write
        return current + 1

    assert ref.transaction(bump) == 101
    assert calls == [1, 100]


def test_get_with_etag_and_get_if_changed(rtdb_app: Any) -> None:
    ref = root(rtdb_app).child("doc")
    ref.set({"a": 1})
    value, etag = ref.get(etag=True)
    assert value == {"a": 1} and isinstance(etag, str) and etag
    assert ref.get_if_changed(etag) == (False, None, None)
    ref.child("a").set(2)
    changed, new_value, new_etag = ref.get_if_changed(etag)
    assert changed and new_value == {"a": 2} and new_etag and new_etag != etag


def test_set_if_unchanged_both_branches(rtdb_app: Any) -> None:
    ref = root(rtdb_app).child("doc")
    ref.set({"a": 1})
    _, etag = ref.get(etag=True)
    ok, value, new_etag = ref.set_if_unchanged(etag, {"a": 2})
    assert ok and value == {"a": 2} and new_etag != etag
    assert ref.get(etag=True) == ({"a": 2}, new_etag)
    ok, current, current_etag = ref.set_if_unchanged(etag, {"a": 3})
    assert not ok and current == {"a": 2} and current_etag == new_etag
    assert ref.get() == {"a": 2}


def test_set_if_unchanged_on_missing_node(rtdb_app: Any) -> None:
    ref = root(rtdb_app).child("fresh")
    value, etag = ref.get(etag=True)
    assert value is None
    assert ref.set_if_unchanged(etag, 1)[0]
    assert ref.get() == 1


def test_shallow(rtdb_app: Any) -> None:
    ref = root(rtdb_app)
    ref.set({"a": {"deep": {"x": 1}}, "b": 2})
    assert ref.get(shallow=True) == {"a": True, "b": True}
    assert ref.child("b").get(shallow=True) == 2
    assert ref.child("none").get(shallow=True) is None


def test_namespaces_are_separate_databases(database_emulator_host: str) -> None:
    import firebase_admin

    apps = [
        firebase_admin.initialize_app(
            options={"databaseURL": url}, name=f"ns-{index}-{time.monotonic_ns()}"
        )
        for index, url in enumerate(
            [
                "https://demo-ns-one.firebaseio.com",
                f"http://{database_emulator_host}?ns=demo-ns-one",
                "https://demo-ns-two.europe-west1.firebasedatabase.app",
            ]
        )
    ]
    try:
        one_by_host, one_by_param, two = (db.reference("/", app=app) for app in apps)
        one_by_host.set({"who": "one"})
        two.set({"who": "two"})
        assert one_by_param.get() == {"who": "one"}
        assert two.get() == {"who": "two"}
        one_by_param.delete()
        assert one_by_host.get() is None and two.get() == {"who": "two"}
        two.delete()
    finally:
        for app in apps:
            firebase_admin.delete_app(app)


def test_invalid_key_in_value_is_refused_and_nothing_changes(rtdb_app: Any) -> None:
    ref = root(rtdb_app)
    ref.set({"keep": 1})
    for bad in ({"ok": 1, "bad.key": 2}, {"nested": {"a/b": 1}}, {"x": {"$y": 1}}):
        with pytest.raises(exceptions.InvalidArgumentError):
            ref.child("new").set(bad)
        with pytest.raises(exceptions.InvalidArgumentError):
            ref.update({"fine": 1, "also": bad})
        with pytest.raises(exceptions.InvalidArgumentError):
            ref.child("list").push(bad)
    assert ref.get() == {"keep": 1}


def test_overlapping_update_is_refused(rtdb_app: Any) -> None:
    ref = root(rtdb_app)
    ref.set({"a": {"b": 1}})
    with pytest.raises(exceptions.InvalidArgumentError):
        ref.update({"a": {"c": 1}, "a/b": 2})
    assert ref.get() == {"a": {"b": 1}}


def test_bad_server_value_is_refused(rtdb_app: Any) -> None:
    with pytest.raises(exceptions.InvalidArgumentError):
        root(rtdb_app).child("t").set({".sv": "tomorrow"})
    assert root(rtdb_app).get() is None
