"""Firebase's RTDB ordering and query evaluation, as used for results and query listening."""

from __future__ import annotations

from firebase_sync._wire.rtdb_order import RtdbQuerySpec, evaluate, key_order

CHILDREN = {
    "a": {"price": 3, "name": "x"},
    "b": {"price": 1},
    "c": {"price": "cheap"},
    "d": {"name": "no price"},
    "e": {"price": True},
    "f": {"price": {"nested": 1}},
    "g": {"price": 1},
    "h": {"price": False},
}


def keys(spec: RtdbQuerySpec) -> list[str]:
    return [k for k, _ in evaluate(CHILDREN, spec)]


def test_key_order_puts_int32_keys_first_numerically() -> None:
    assert sorted(["b", "10", "9", "-1", "a", "2147483648", "01"], key=key_order) == [
        "-1",
        "01",
        "9",
        "10",
        "2147483648",
        "a",
        "b",
    ]


def test_child_order_by_type_then_value_then_key() -> None:
    assert keys(RtdbQuerySpec(order_by="price")) == ["d", "h", "e", "b", "g", "a", "c", "f"]


def test_ranges_compare_the_ordered_value_and_are_inclusive() -> None:
    assert keys(RtdbQuerySpec(order_by="price", start_at=1, end_at=3)) == ["b", "g", "a"]
    assert keys(RtdbQuerySpec(order_by="price", start_at="a")) == ["c", "f"]
    equal = RtdbQuerySpec(order_by="price", start_at=1, end_at=1)
    assert keys(equal) == ["b", "g"]


def test_limits_apply_after_ordering_and_ranges() -> None:
    assert keys(RtdbQuerySpec(order_by="price", start_at=1, limit_to_first=2)) == ["b", "g"]
    assert keys(RtdbQuerySpec(order_by="price", end_at=3, limit_to_last=2)) == ["g", "a"]
    assert keys(RtdbQuerySpec(limit_to_last=0)) == []


def test_order_by_key_and_value() -> None:
    assert keys(RtdbQuerySpec(order_by="$key", start_at="c", end_at="e")) == ["c", "d", "e"]
    scalars = {"x": 2, "y": "s", "z": 1, "w": None}
    spec = RtdbQuerySpec(order_by="$value")
    assert [k for k, _ in evaluate(scalars, spec)] == ["w", "z", "x", "y"]


def test_nested_child_paths() -> None:
    children = {"a": {"r": {"pos": 2}}, "b": {"r": {"pos": 1}}, "c": {"r": 5}}
    assert [k for k, _ in evaluate(children, RtdbQuerySpec(order_by="r/pos"))] == ["c", "b", "a"]


def test_rest_params_are_json_encoded() -> None:
    spec = RtdbQuerySpec(order_by="price", start_at="a b", limit_to_first=3)
    assert spec.params() == {"orderBy": '"price"', "startAt": '"a b"', "limitToFirst": "3"}
