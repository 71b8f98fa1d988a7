"""Normalising writes and rendering reads."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firebase_sync_emulator.database.values import (
    Normaliser,
    as_array_if_dense,
    check_priority,
    etag,
    parse_json,
    render,
    shallow,
)
from firebase_sync_emulator.errors import ServiceError

NOW = 1_700_000_000_000


def norm(value: Any, existing: Any = None, depth: int = 0) -> Any:
    return Normaliser(NOW).normalise(value, depth, existing)


def test_null_and_empty_objects_vanish() -> None:
    assert norm(None) is None
    assert norm({}) is None
    assert norm({"a": {"b": {}}, "c": None}) is None
    assert norm({"a": {"b": {}}, "c": 1}) == {"c": 1}


def test_arrays_are_stored_as_objects() -> None:
    assert norm([1, None, "x"]) == {"0": 1, "2": "x"}
    assert norm([]) is None


def test_array_rendering_dense_and_sparse() -> None:
    assert render({"0": "a", "1": "b", "3": "d"}) == ["a", "b", None, "d"]
    assert render({"0": "a", "5": "f"}) == {"0": "a", "5": "f"}
    assert render({"1": "a"}) == [None, "a"]  # max 1 < 2 * count 1
    assert render({"2": "a"}) == {"2": "a"}
    assert render({"1": "a", "2": "b"}) == [None, "a", "b"]
    assert render({"00": "a"}) == {"00": "a"}
    assert as_array_if_dense({}) is None


def test_render_sorts_keys_in_firebase_order() -> None:
    rendered = render({"b": 1, "10": 2, "a": 3, "9": 4, "-1": 5})
    assert isinstance(rendered, dict)
    assert list(rendered) == ["-1", "9", "10", "a", "b"]


def test_server_timestamp_and_increment() -> None:
    assert norm({".sv": "timestamp"}) == NOW
    assert norm({".sv": {"increment": 2}}) is not None
    assert norm({".sv": {"increment": 2}}, existing=5) == 7
    assert norm({".sv": {"increment": 2.5}}, existing={".value": 1, ".priority": 3}) == 3.5
    assert norm({".sv": {"increment": 2}}, existing="text") == 2
    assert norm({".sv": {"increment": 2}}, existing=None) == 2
    # resolved per node, against the data each node replaces
    assert norm({"n": {".sv": {"increment": 1}}, "t": {".sv": "timestamp"}}, {"n": 41}) == {
        "n": 42,
        "t": NOW,
    }


@pytest.mark.parametrize(
    "bad",
    [
        {".sv": "nope"},
        {".sv": {"increment": "1"}},
        {".sv": {"increment": True}},
        {".sv": "timestamp", "x": 1},
        {"a.b": 1},
        {"ok": {"bad/key": 1}},
        {".value": 1, "child": 2},
        {".priority": True, "a": 1},
        {".priority": {"x": 1}, "a": 1},
    ],
)
def test_invalid_writes(bad: Any) -> None:
    with pytest.raises(ServiceError):
        norm(bad)


def test_priorities() -> None:
    assert norm({".value": 5, ".priority": 1}) == {".value": 5, ".priority": 1}
    assert norm({".value": 5, ".priority": None}) == 5
    assert norm({"a": 1, ".priority": "p"}) == {"a": 1, ".priority": "p"}
    assert norm({".priority": 1}) is None
    assert norm({".value": {"a": 1}, ".priority": 2}) == {"a": 1, ".priority": 2}
    assert render({"a": {".value": 5, ".priority": 1}, ".priority": 2}) == {"a": 5}


def test_depth_limit_counts_nesting() -> None:
    deep: Any = 1
    for _ in range(32):
        deep = {"k": deep}
    assert norm(deep) is not None
    with pytest.raises(ServiceError):
        norm({"k": deep})
    with pytest.raises(ServiceError):
        norm(deep, depth=1)


def test_parse_json_refuses_non_json() -> None:
    assert parse_json(b'{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
    for bad in (b"", b"{", b"NaN", b"[Infinity]", b"\xff\xfe", b"{'a': 1}"):
        with pytest.raises(ServiceError):
            parse_json(bad)


@pytest.mark.parametrize(
    "body",
    [b'"\\ud800"', b'{"\\udc00x": 1}', b'{"a": ["\\udbff"]}', b'{"a": {"b\\udfff": 1}}'],
)
def test_parse_json_refuses_lone_surrogates(body: bytes) -> None:
    """``json`` accepts escaped lone surrogates; no UTF-8 response could carry them back."""
    with pytest.raises(ServiceError, match="surrogate"):
        parse_json(body)
    with pytest.raises(ServiceError, match="surrogate"):
        parse_json(body.decode().encode("ascii").decode("unicode_escape"))  # raw, as str


def test_parse_json_keeps_surrogate_pairs_and_escaped_backslashes() -> None:
    assert parse_json(b'"\\ud83d\\ude00"') == "\U0001f600"
    assert parse_json(b'{"\\\\ud800": "\\\\udc00"}') == {"\\ud800": "\\udc00"}


def test_parse_json_refuses_deep_nesting_and_endless_integers() -> None:
    for bad in (b"[" * 100_000 + b"]" * 100_000, b"9" * 401, b"-" + b"9" * 5000):
        with pytest.raises(ServiceError):
            parse_json(bad)
    assert parse_json(b"9" * 400) == int("9" * 400)  # refused later, by the normaliser


def test_numbers_are_doubles() -> None:
    """Integers beyond 2**53 round to the nearest double (staying ints); beyond doubles: refused."""
    assert norm(2**53) == 2**53
    assert norm(2**53 + 1) == 2**53 and isinstance(norm(2**53 + 1), int)
    assert norm(-(2**64) - 1) == -(2**64)
    assert norm(10**308) == int(1e308)
    for bad in (2**1024, -(10**400), float("inf"), float("nan")):
        with pytest.raises(ServiceError):
            norm(bad)
        with pytest.raises(ServiceError):
            norm({"a": 1, ".priority": bad})
        with pytest.raises(ServiceError):
            check_priority(bad)
    assert check_priority(2**60 + 1) == 2**60


def test_increments_stay_within_doubles() -> None:
    assert norm({".sv": {"increment": 1}}, existing=2**53) == 2**53  # 2**53 + 1 rounds down
    assert norm({".sv": {"increment": 2}}, existing=2**53) == 2**53 + 2
    big = int(1.7e308)
    assert norm({".sv": {"increment": big}}, existing="text") == big
    for existing, delta in [
        (big, big),
        (1.7e308, big),
        (big, 1.7e308),
        (None, 1e400),
        (None, 2**1024),
        (5, -(2**1024)),
    ]:
        with pytest.raises(ServiceError):
            norm({".sv": {"increment": delta}}, existing=existing)
    with pytest.raises(ServiceError):
        norm({"a": 1, ".priority": {".sv": {"increment": 1e400}}})


def test_nested_value_wrappers_are_refused() -> None:
    """``.value`` adds no depth: nested wrappers would recurse without bound."""
    deep: Any = 1
    for _ in range(5000):
        deep = {".value": deep}
    with pytest.raises(ServiceError):
        norm(deep)
    with pytest.raises(ServiceError):
        norm({".value": {".value": 1}})
    assert norm({".value": {"a": {".value": 1, ".priority": 2}}}) == {
        "a": {".value": 1, ".priority": 2}
    }


def test_shallow() -> None:
    assert shallow({"a": {"b": 1}, "c": 2}) == {"a": True, "c": True}
    assert shallow({".value": 3, ".priority": 1}) == 3
    assert shallow(None) is None


def test_etag_tracks_value_and_priority() -> None:
    assert etag({"a": 1}) == etag({"a": 1})
    assert etag({"a": 1}) != etag({"a": 2})
    assert etag({"a": 1}) != etag({"a": 1, ".priority": 1})
    assert etag(None) != etag(0)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text("abc019", min_size=1, max_size=3), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(json_values)
def test_normalising_is_idempotent_through_render(value: Any) -> None:
    stored = norm(value)
    assert norm(render(stored)) == stored
