"""Arrays RTDB stored as objects: Firebase's rule (integer keys, largest below twice their
number) decides, so a list is never longer than twice the object received."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pydantic import BaseModel

from firebase_sync import Document, ValidationFailed
from firebase_sync._wire import rtdb_json
from firebase_sync.offline.ops import decode_entry


class Leaf(BaseModel):
    items: list[int] = []


class Tagged(Document):
    tags: list[str] = []
    leaves: list[Leaf] = []
    groups: dict[str, list[Leaf]] = {}


def restore(data: dict[str, Any], path: str | None = None) -> Any:
    return rtdb_json.restore_for_model(Tagged, data, path=path)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ({}, []),
        ({"0": "a"}, ["a"]),
        ({"1": "b"}, [None, "b"]),  # largest 1 < 2 x 1
        ({"0": "a", "3": "d"}, ["a", None, None, "d"]),  # largest 3 < 2 x 2
        ({"2": "c", "0": "a", "1": "b"}, ["a", "b", "c"]),
        (["a", "b"], ["a", "b"]),
    ],
)
def test_dense_enough_objects_become_lists(stored: Any, expected: list[Any]) -> None:
    assert restore({"tags": stored})["tags"] == expected


@pytest.mark.parametrize(
    ("stored", "largest"),
    [
        ({"999999999": "x"}, "999999999"),
        ({"2": "c"}, "2"),  # 2 is not below 2 x 1
        ({"0": "a", "4": "e"}, "4"),
        ({"0": "a", "9" * 5000: "x"}, "9" * 20 + "... (5000 digits)"),  # never made an int
    ],
)
def test_a_too_sparse_object_fails_naming_the_field(stored: Any, largest: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ValidationFailed) as caught:
        restore({"tags": stored}, path="/products/a")
    assert time.perf_counter() - started < 0.5  # nothing as long as the key was allocated
    error = caught.value
    assert error.field == "tags" and error.path == "/products/a"
    assert error.errors == (("tags", error.message),)
    assert f"largest key {largest} " in error.message and "too sparse" in error.message
    assert "field 'tags'" in str(error)


def test_nested_fields_are_named_with_their_indexes_and_keys() -> None:
    with pytest.raises(ValidationFailed) as in_list:
        restore({"leaves": {"0": {"items": [1]}, "1": {"items": {"70000": 1}}}})
    assert in_list.value.field == "leaves.1.items"
    with pytest.raises(ValidationFailed) as in_dict:
        restore({"groups": {"g": {"0": {"items": {"5": 1}}}}})
    assert in_dict.value.field == "groups.g.0.items"
    assert in_dict.value.path is None


@pytest.mark.parametrize("key", ["01", "-1", "1.0", "\u0663", "1e3", " 1"])
def test_keys_that_are_not_array_indexes_leave_the_object_to_pydantic(key: str) -> None:
    # Not a list: pydantic, not the restorer, refuses it (and nothing is allocated).
    assert restore({"tags": {key: "x"}})["tags"] == {key: "x"}
    with pytest.raises(ValidationFailed):
        decode_entry(Tagged, "a", {"tags": {key: "x"}}, path="/products/a")


def test_decoding_a_hostile_entry_fails_fast_with_its_path() -> None:
    started = time.perf_counter()
    with pytest.raises(ValidationFailed) as caught:
        decode_entry(Tagged, "a", {"tags": {"999999999": "x"}}, path="/products/a")
    assert time.perf_counter() - started < 0.5
    assert caught.value.field == "tags" and caught.value.path == "/products/a"
