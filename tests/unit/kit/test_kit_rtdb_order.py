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


# -- QueryWindow: the listened window, kept incrementally -----------------------------------

import random  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from firebase_sync._wire.rtdb_events import Absent  # noqa: E402
from firebase_sync._wire.rtdb_order import QueryWindow  # noqa: E402

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(["a", "b", "cheap"]),
    st.fixed_dictionaries({"price": st.one_of(st.integers(-3, 3), st.sampled_from(["x", "y"]))}),
)
_SPECS = st.builds(
    RtdbQuerySpec,
    order_by=st.sampled_from(["$key", "$value", "price"]),
    start_at=st.one_of(st.just(Absent), st.integers(-2, 2)),
    end_at=st.one_of(st.just(Absent), st.integers(0, 3)),
    limit_to_first=st.one_of(st.none(), st.integers(0, 4)),
)


@settings(max_examples=300, deadline=None)
@given(
    spec=_SPECS,
    steps=st.lists(
        st.lists(st.tuples(st.sampled_from(list("abcdefg") + ["1", "10", "2"]), _VALUES)),
        max_size=12,
    ),
    last=st.booleans(),
)
def test_query_window_matches_a_full_evaluation_after_every_event(
    spec: RtdbQuerySpec, steps: list[list[tuple[str, object]]], last: bool
) -> None:
    if last and spec.limit_to_first is not None:
        spec = RtdbQuerySpec(spec.order_by, spec.start_at, spec.end_at, None, spec.limit_to_first)
    window = QueryWindow(spec)
    children: dict[str, object] = {}
    before: dict[str, object] = {}
    for step in steps:
        changed = []
        for key, value in step:
            if value is None:
                children.pop(key, None)
                changed.append((key, Absent))
            else:
                children[key] = value
                changed.append((key, value))
        diff = window.update(changed)
        expected = dict(evaluate(children, spec))
        assert window.window == expected
        for key in {*before, *expected}:
            old, new = before.get(key, Absent), expected.get(key, Absent)
            if old != new or (old is Absent) != (new is Absent):
                assert diff[key] == (old, new)
        before = expected


def test_a_limited_window_costs_no_sort_of_the_subtree(monkeypatch: object) -> None:
    """limit_to_first(10) over 100,000 children: an event indexes only the changed child."""
    spec = RtdbQuerySpec(order_by="price", limit_to_first=10)
    window = QueryWindow(spec)
    rng = random.Random(7)
    window.update((f"k{i}", {"price": rng.random()}) for i in range(100_000))
    assert len(window.window) == 10
    calls = 0
    original = RtdbQuerySpec.index

    def counting(self: RtdbQuerySpec, key: str, value: object) -> tuple[object, ...]:
        nonlocal calls
        calls += 1
        return original(self, key, value)

    import pytest

    patch = pytest.MonkeyPatch()
    patch.setattr(RtdbQuerySpec, "index", counting)
    try:
        first = next(iter(window.window))
        diff = window.update([(first, {"price": 2.0}), ("new", {"price": -1.0})])
    finally:
        patch.undo()
    assert calls == 2  # one per changed child, not one per child of the subtree
    assert first in diff and diff["new"][1] == {"price": -1.0}
    assert len(window.window) == 10 and "new" in window.window and first not in window.window
