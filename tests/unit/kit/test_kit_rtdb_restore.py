"""restore_for_model: what RTDB dropped or reshaped, put back from a plan made once per model."""

from __future__ import annotations

import base64
import typing
from collections.abc import Mapping
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from firebase_sync._wire import rtdb_json


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


class Inner(BaseModel):
    blob: bytes
    items: list[int]


class Shapes(BaseModel):
    raw: bytes
    maybe_raw: bytes | None = None
    annotated: Annotated[bytes, Field(description="x")] = b""
    raws: list[bytes] = []
    raw_tuple: tuple[bytes, ...] = ()
    raw_pair: tuple[bytes, int] = (b"", 0)
    raw_set: frozenset[bytes] = frozenset()
    raw_map: dict[str, bytes] = {}
    abstract_map: Mapping[str, list[bytes]] = {}
    inner: Inner | None = None
    inners: list[Inner] = []
    either: int | str = 0
    aliased: bytes = Field(default=b"", alias="al")
    required_list: list[str]
    required_dict: dict[str, int]
    required_optional: int | None
    required_union: int | str


def test_every_shape_is_restored() -> None:
    stored = {
        "raw": b64(b"\x00"),
        "maybe_raw": b64(b"\x01"),
        "annotated": b64(b"\x02"),
        "raws": {"0": b64(b"a"), "2": b64(b"c")},
        "raw_tuple": [b64(b"t")],
        "raw_pair": [b64(b"p"), 1],
        "raw_set": {"1": b64(b"s")},
        "raw_map": {"k": b64(b"m")},
        "abstract_map": {"k": {"1": b64(b"z")}},
        "inner": {"blob": b64(b"i")},
        "inners": {"1": {"blob": "not base64!", "items": {"0": 5}}},
        "either": "x",
        "al": b64(b"al"),
        "required_union": 1,
    }
    assert rtdb_json.restore_for_model(Shapes, stored) == {
        "raw": b"\x00",
        "maybe_raw": b"\x01",
        "annotated": b"\x02",
        "raws": [b"a", None, b"c"],
        "raw_tuple": [b"t"],
        "raw_pair": [b64(b"p"), 1],  # a fixed-size tuple's items are left to pydantic
        "raw_set": [None, b"s"],
        "raw_map": {"k": b"m"},
        "abstract_map": {"k": [None, b"z"]},
        "inner": {"blob": b"i", "items": []},
        "inners": [None, {"blob": "not base64!", "items": [5]}],
        "either": "x",
        "al": b"al",
        "required_union": 1,
        "required_list": [],
        "required_dict": {},
        "required_optional": None,
    }
    restored = rtdb_json.restore_for_model(Shapes, {"raw": b64(b"r"), "required_union": "u"})
    assert Shapes.model_validate(restored).required_list == []


def test_values_it_does_not_recognise_are_left_for_pydantic() -> None:
    # Non-ASCII text in a bytes field and a "²" key (str.isdigit, not int) used to raise.
    stored = {
        "raw": 5,
        "al": "é not base64",
        "raws": {"a": 1},
        "inners": {"\u00b2": {}},
        "raw_map": [1],
        "inner": "text",
        "maybe_raw": None,
    }
    restored = rtdb_json.restore_for_model(Shapes, stored)
    assert {k: restored[k] for k in stored} == stored
    assert rtdb_json.restore_for_model(Shapes, [1, 2]) == [1, 2]
    assert rtdb_json.restore_for_model(Shapes, None) is None


def test_restored_containers_are_new_objects() -> None:
    class Plain(BaseModel):
        words: list[str]
        counts: dict[str, int]

    stored = {"words": ["a"], "counts": {"a": 1}}
    first = rtdb_json.restore_for_model(Plain, stored)
    assert first == stored and first is not stored
    assert first["words"] is not stored["words"] and first["counts"] is not stored["counts"]
    # empties put back are fresh each time, never one shared list
    one, two = (rtdb_json.restore_for_model(Plain, {}) for _ in range(2))
    one["words"].append("x")
    assert two == {"words": [], "counts": {}}


def test_a_model_may_contain_itself() -> None:
    class Node(BaseModel):
        tag: bytes = b""
        children: list[Node] = []

    stored = {"tag": b64(b"r"), "children": {"1": {"children": [{"tag": b64(b"leaf")}]}}}
    assert rtdb_json.restore_for_model(Node, stored) == {
        "tag": b"r",
        "children": [None, {"children": [{"tag": b"leaf"}]}],
    }


def test_the_plan_is_made_once_per_model(monkeypatch: pytest.MonkeyPatch) -> None:
    class Fresh(BaseModel):
        blob: bytes
        tags: list[str] = []
        inner: Inner | None = None

    calls = 0
    real_get_origin = typing.get_origin

    def counting(tp: Any) -> Any:
        nonlocal calls
        calls += 1
        return real_get_origin(tp)

    monkeypatch.setattr(typing, "get_origin", counting)
    child = {"blob": b64(b"x"), "tags": {"0": "a"}, "inner": {"blob": b64(b"y"), "items": [1]}}
    rtdb_json.restore_for_model(Fresh, child)
    after_one = calls
    restored = [rtdb_json.restore_for_model(Fresh, child) for _ in range(1000)]
    assert calls == after_one  # reading annotations does not grow with the children
    assert restored[-1] == {"blob": b"x", "tags": ["a"], "inner": {"blob": b"y", "items": [1]}}


def test_a_model_completed_later_is_planned_again() -> None:
    class Holder(BaseModel):
        part: Part | None = None  # not defined yet: the model is incomplete

    stored = {"part": {"blob": b64(b"p")}}
    assert not Holder.__pydantic_complete__
    assert rtdb_json.restore_for_model(Holder, stored) == stored

    class Part(BaseModel):
        blob: bytes

    Holder.model_rebuild()
    assert rtdb_json.restore_for_model(Holder, stored) == {"part": {"blob": b"p"}}
