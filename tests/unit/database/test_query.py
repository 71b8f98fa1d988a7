"""Query selection."""

from __future__ import annotations

from typing import Any

import pytest

from firebase_sync_emulator.database.query import Query, parse_query, render_selection
from firebase_sync_emulator.database.values import Normaliser
from firebase_sync_emulator.errors import ServiceError


def stored(value: Any) -> Any:
    return Normaliser(0).normalise(value, 0, None)


def keys(params: dict[str, str], data: Any) -> list[str]:
    query = parse_query(params)
    assert query is not None
    selected = query.select(stored(data))
    assert selected is not None
    return [key for key, _ in selected]


MIXED = {
    "f": False,
    "t": True,
    "i": 3,
    "j": -2.5,
    "s": "abc",
    "s2": "Abc",
    "o": {"x": 1},
    "o2": {"y": 1},
    "k": 3,
}


def test_order_by_value_mixed_types() -> None:
    assert keys({"orderBy": '"$value"'}, MIXED) == ["f", "t", "j", "i", "k", "s2", "s", "o", "o2"]


def test_order_by_key_int_keys_first() -> None:
    data = {k: 1 for k in ["b", "10", "9", "-1", "a", "2147483648"]}
    assert keys({"orderBy": '"$key"'}, data) == ["-1", "9", "10", "2147483648", "a", "b"]
    assert keys({"orderBy": '"$key"', "limitToFirst": "3"}, data) == ["-1", "9", "10"]
    assert keys({"orderBy": '"$key"', "startAt": '"9"', "endAt": '"a"'}, data) == [
        "9",
        "10",
        "2147483648",
        "a",
    ]


def test_order_by_child_with_missing_and_nested() -> None:
    data = {
        "a": {"h": 3, "r": {"p": 1}},
        "b": {"h": "x"},
        "c": {"other": 1},
        "d": {"h": 1, "r": {"p": 9}},
        "e": 5,
        "f": {"h": {"obj": 1}},
    }
    assert keys({"orderBy": '"h"'}, data) == ["c", "e", "d", "a", "b", "f"]
    assert keys({"orderBy": '"r/p"'}, data) == ["b", "c", "e", "f", "a", "d"]
    assert keys({"orderBy": '"h"', "startAt": "2"}, data) == ["a", "b", "f"]
    assert keys({"orderBy": '"h"', "equalTo": "1"}, data) == ["d"]
    assert keys({"orderBy": '"h"', "startAt": "1", "endAt": "3", "limitToLast": "1"}, data) == ["a"]
    assert keys({"orderBy": '"h"', "limitToLast": "0"}, data) == []


def test_ties_are_broken_by_key_order() -> None:
    data = {"b": 1, "10": 1, "a": 1, "2": 1}
    assert keys({"orderBy": '"$value"'}, data) == ["2", "10", "a", "b"]
    assert keys({"orderBy": '"$value"', "equalTo": "1", "limitToFirst": "2"}, data) == ["2", "10"]


def test_order_by_priority() -> None:
    data = {
        "a": {".value": 1, ".priority": "z"},
        "b": {".value": 1, ".priority": 2},
        "c": 1,
        "d": {"x": 1, ".priority": 1},
    }
    assert keys({"orderBy": '"$priority"'}, data) == ["c", "d", "b", "a"]
    assert keys({"orderBy": '"$priority"', "startAt": "2"}, data) == ["b", "a"]
    assert keys({"limitToFirst": "2"}, data) == ["c", "d"]  # default order is priority


def test_bounds_compare_across_types() -> None:
    data = {"a": False, "b": 0, "c": "", "d": {"x": 1}, "e": True}
    assert keys({"orderBy": '"$value"', "startAt": "true"}, data) == ["e", "b", "c", "d"]
    assert keys({"orderBy": '"$value"', "endAt": "0"}, data) == ["a", "e", "b"]
    assert keys({"orderBy": '"$value"', "startAt": '"x y+z"'}, data) == ["d"]


def test_not_a_query() -> None:
    assert parse_query({"ns": "x", "print": "silent"}) is None


def test_leaf_is_not_filtered() -> None:
    assert Query().select(5) is None
    assert render_selection(5, None) == 5


def test_results_render_like_reads() -> None:
    query = parse_query({"orderBy": '"$key"', "limitToFirst": "2"})
    assert query is not None
    node = stored(["a", "b", "c"])
    assert render_selection(node, query.select(node)) == ["a", "b"]


@pytest.mark.parametrize(
    "params",
    [
        {"orderBy": "$key"},
        {"orderBy": '"a.b"'},
        {"orderBy": "5"},
        {"orderBy": '""'},
        {"orderBy": '"$key"', "startAt": "1"},
        {"orderBy": '"$priority"', "startAt": "true"},
        {"orderBy": '"x"', "startAt": '{"a": 1}'},
        {"orderBy": '"x"', "equalTo": '"a'},
        {"orderBy": '"x"', "equalTo": "1", "startAt": "1"},
        {"orderBy": '"x"', "limitToFirst": "1", "limitToLast": "1"},
        {"orderBy": '"x"', "limitToFirst": "-1"},
        {"orderBy": '"x"', "limitToFirst": "1.5"},
        {"orderBy": '"x"', "startAt": "NaN"},
        {"startAt": "1"},
        {"orderBy": '"x"', "limitToFirst": "9" * 5000},
        {"orderBy": '"x"', "limitToLast": "2147483648"},
        {"orderBy": "[" * 3000 + "]" * 3000},
        {"orderBy": '"x"', "startAt": "[" * 3000 + "]" * 3000},
        {"orderBy": '"x"', "endAt": '{"a":' * 3000 + "1" + "}" * 3000},
        {"orderBy": '"x"', "equalTo": "[" * 3000 + "]" * 3000},
    ],
)
def test_invalid_queries(params: dict[str, str]) -> None:
    with pytest.raises(ServiceError):
        parse_query(params)


def test_limits_are_int32() -> None:
    for text, limit in (("0", 0), ("2147483647", 2**31 - 1), ("0" * 30 + "7", 7)):
        query = parse_query({"limitToFirst": text})
        assert query is not None and query.limit_first == limit
