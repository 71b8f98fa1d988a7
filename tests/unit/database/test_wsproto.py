"""The WebSocket protocol's pure parts: frames, query objects, the client node hash."""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.database.hashing import _js_double_hex, node_hash
from emulator.database.indexes import ChildIndex
from emulator.database.query import parse_query as parse_rest_query
from emulator.database.values import Normaliser
from emulator.database.wsproto import (
    MAX_FRAME_CHARS,
    FrameAssembler,
    FrameError,
    parse_path,
    parse_query,
    split_frames,
)
from emulator.errors import ServiceError


def stored(value: Any) -> Any:
    return Normaliser(0).normalise(value, 0, None)


def sha1_b64(text: str) -> str:
    return base64.b64encode(hashlib.sha1(text.encode()).digest()).decode()


@given(st.text(max_size=3 * MAX_FRAME_CHARS + 5))
def test_frames_round_trip(message: str) -> None:
    frames = split_frames(message)
    assert all(len(frame) <= MAX_FRAME_CHARS for frame in frames[1:] or frames)
    assembler = FrameAssembler(10 * MAX_FRAME_CHARS)
    results = [assembler.feed(frame) for frame in frames]
    if len(message) <= 6 and message.isdigit():
        return  # a bare number is a frame count by the protocol's own rule
    assert results[-1] == message and all(r is None for r in results[:-1])


def test_keepalive_and_limits() -> None:
    assembler = FrameAssembler(4 * MAX_FRAME_CHARS)
    assert assembler.feed("0") is None
    assert assembler.feed('{"t":"c"}') == '{"t":"c"}'
    with pytest.raises(FrameError):
        assembler.feed("999999")
    with pytest.raises(FrameError):
        FrameAssembler(10).feed("x" * 11)
    assembler = FrameAssembler(MAX_FRAME_CHARS + 10)
    assert assembler.feed("2") is None
    assembler.feed("x" * MAX_FRAME_CHARS)
    with pytest.raises(FrameError):
        assembler.feed("y" * 11)


def test_paths() -> None:
    assert parse_path("/a/b") == (("a", "b"), False)
    assert parse_path("") == ((), False)
    assert parse_path("a/.priority") == (("a",), True)
    for bad in ("/a.b", "/$x", 3, None, "/a/.priority/b"):
        with pytest.raises(ServiceError):
            parse_path(bad)


DATA = stored(
    {
        "a": {"s": 1},
        "b": {"s": 3},
        "c": {"s": 3},
        "d": {"s": 3},
        "e": {"s": 5},
        "f": {"s": "x"},
    }
)


def keys(query: dict[str, Any]) -> list[str]:
    parsed = parse_query(query)
    assert parsed is not None
    selected = parsed.select(DATA)
    assert selected is not None
    return [key for key, _ in selected]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"i": "s", "sp": 3, "sin": True}, ["b", "c", "d", "e", "f"]),
        ({"i": "s", "sp": 3, "sn": "c", "sin": True}, ["c", "d", "e", "f"]),
        ({"i": "s", "sp": 3, "sn": "c", "sin": False}, ["d", "e", "f"]),
        ({"i": "s", "sp": 3, "sn": "[MAX_NAME]", "sin": False}, ["e", "f"]),
        ({"i": "s", "ep": 3, "ein": True}, ["a", "b", "c", "d"]),
        ({"i": "s", "ep": 3, "en": "c", "ein": True}, ["a", "b", "c"]),
        ({"i": "s", "ep": 3, "en": "[MIN_NAME]", "ein": False}, ["a"]),
        ({"i": "s", "sp": 3, "ep": 3, "l": 2, "vf": "r"}, ["c", "d"]),
        ({"i": ".key", "sp": "b", "sin": False, "ep": "e", "ein": False}, ["c", "d"]),
        ({"i": ".key", "l": 10, "vf": "r"}, ["a", "b", "c", "d", "e", "f"]),
        ({"l": 2, "vf": "l"}, ["a", "b"]),
    ],
)
def test_query_objects(query: dict[str, Any], expected: list[str]) -> None:
    assert keys(query) == expected


def test_default_query_and_refusals() -> None:
    assert parse_query({}) is None and parse_query(None) is None
    for bad in (
        {"i": ".key", "sp": 1},
        {"l": -1},
        {"l": 1.5},
        {"vf": "x", "l": 1},
        {"sin": "yes", "sp": 1},
        {"sp": {"a": 1}},
        {"i": ""},
        {"zz": 1},
        [1],
    ):
        with pytest.raises(ServiceError):
            parse_query(bad)


def test_rest_limit_to_last_beyond_the_children() -> None:
    query = parse_rest_query({"orderBy": '"s"', "limitToLast": "10"})
    assert query is not None
    selected = query.select(DATA)
    assert selected is not None and [key for key, _ in selected] == list("abcdef")


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_double_hex_is_the_ieee_bits_for_usual_numbers(value: float) -> None:
    if value == 0 or abs(value) >= 2.0**-970:
        assert _js_double_hex(value) == struct.pack(">d", value).hex()


def test_node_hash_texts() -> None:
    assert node_hash(None) == ""
    assert node_hash(stored(True)) == sha1_b64("boolean:true")
    assert node_hash(stored("é")) == sha1_b64("string:é")
    assert node_hash(stored(1)) == sha1_b64("number:3ff0000000000000")
    assert node_hash(stored({".value": "x", ".priority": 2})) == sha1_b64(
        "priority:number:4000000000000000:string:x"
    )
    # children in priority order (none < numbers < strings), then key order
    node = stored({"b": 1, "a": {".value": 2, ".priority": 1}, "10": True, "9": "s"})
    text = (
        ":9:"
        + sha1_b64("string:s")
        + ":10:"
        + sha1_b64("boolean:true")
        + ":b:"
        + sha1_b64("number:3ff0000000000000")
        + ":a:"
        + sha1_b64("priority:number:3ff0000000000000:number:4000000000000000")
    )
    assert node_hash(node) == sha1_b64(text)


wire_bounds = st.one_of(st.integers(min_value=0, max_value=6), st.sampled_from(["a", "k", None]))
wire_names = st.one_of(st.none(), st.sampled_from(["[MIN_NAME]", "[MAX_NAME]", "k3", "k10", "zz"]))


@given(
    scores=st.dictionaries(
        st.sampled_from([f"k{i}" for i in range(15)]),
        st.one_of(st.integers(min_value=0, max_value=6), st.sampled_from(["a", "k", True])),
        min_size=1,
    ),
    index=st.sampled_from(["s", ".key", ".value"]),
    start=st.one_of(st.none(), st.tuples(wire_bounds, wire_names, st.booleans())),
    end=st.one_of(st.none(), st.tuples(wire_bounds, wire_names, st.booleans())),
    limit=st.one_of(
        st.none(), st.tuples(st.integers(min_value=0, max_value=5), st.sampled_from("lr"))
    ),
)
def test_indexed_walk_matches_ranking(
    scores: dict[str, Any],
    index: str,
    start: tuple[Any, str | None, bool] | None,
    end: tuple[Any, str | None, bool] | None,
    limit: tuple[int, str] | None,
) -> None:
    """Named and exclusive bounds give the same children with the speed index as without."""
    data = stored({k: ({"s": v} if index == "s" else v) for k, v in scores.items()})
    obj: dict[str, Any] = {"i": index}
    for bound, (value_key, name_key, flag_key) in (
        (start, ("sp", "sn", "sin")),
        (end, ("ep", "en", "ein")),
    ):
        if bound is not None:
            value, name, inclusive = bound
            if index == ".key":
                value = f"k{value}" if isinstance(value, int) else "k"
                name = None
            obj[value_key] = value
            if name is not None:
                obj[name_key] = name
            obj[flag_key] = inclusive
    if limit is not None:
        obj["l"], obj["vf"] = limit
    query = parse_query(obj)
    assert query is not None
    walked = query.select(data, ChildIndex(query.rank, data))
    assert walked == query.select(data)
