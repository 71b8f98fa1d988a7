"""Orderings and filters through firebase-admin.

The SDK re-sorts results client-side (``$key`` by plain string comparison), so these tests assert
on which children the server selected; raw-HTTP tests check the server's own order.
"""

from __future__ import annotations

from typing import Any

import pytest
from firebase_admin import db, exceptions

DINOS = {
    "bruhathkayosaurus": {"height": 25, "length": 44, "ratings": {"pos": 3}},
    "lambeosaurus": {"height": 2.1, "length": 12.5, "ratings": {"pos": 1}},
    "linhenykus": {"height": 0.6, "length": 1},
    "pterodactyl": {"height": 0.6, "length": 1.8, "ratings": {"pos": 2}},
    "stegosaurus": {"height": 4, "length": 9, "ratings": {"pos": "top"}},
    "triceratops": {"height": 3, "length": 9},
}

MIXED = {
    "-1": "minus one",
    "9": 9,
    "10": True,
    "2147483648": False,
    "a": {"nested": 1},
    "b": "b",
    "c": 3.5,
    "d": "",
}


@pytest.fixture
def dinos(rtdb_app: Any) -> db.Reference:
    ref = db.reference("dinos", app=rtdb_app)
    ref.set(DINOS)
    return ref


@pytest.fixture
def mixed(rtdb_app: Any) -> db.Reference:
    ref = db.reference("mixed", app=rtdb_app)
    ref.set(MIXED)
    return ref


def test_order_by_child(dinos: db.Reference) -> None:
    result = dinos.order_by_child("height").get()
    assert list(result) == [
        "linhenykus",
        "pterodactyl",
        "lambeosaurus",
        "triceratops",
        "stegosaurus",
        "bruhathkayosaurus",
    ]
    assert result["linhenykus"] == DINOS["linhenykus"]


def test_order_by_child_filters_and_limits(dinos: db.Reference) -> None:
    assert list(dinos.order_by_child("height").limit_to_first(2).get()) == [
        "linhenykus",
        "pterodactyl",
    ]
    assert list(dinos.order_by_child("height").limit_to_last(2).get()) == [
        "stegosaurus",
        "bruhathkayosaurus",
    ]
    assert list(dinos.order_by_child("height").start_at(3).get()) == [
        "triceratops",
        "stegosaurus",
        "bruhathkayosaurus",
    ]
    assert list(dinos.order_by_child("height").end_at(2.1).get()) == [
        "linhenykus",
        "pterodactyl",
        "lambeosaurus",
    ]
    assert list(dinos.order_by_child("height").start_at(1).end_at(4).limit_to_first(2).get()) == [
        "lambeosaurus",
        "triceratops",
    ]
    assert list(dinos.order_by_child("height").equal_to(0.6).get()) == [
        "linhenykus",
        "pterodactyl",
    ]
    assert dinos.order_by_child("height").equal_to(99).get() == {}


def test_order_by_nested_child_with_mixed_types(dinos: db.Reference) -> None:
    # missing (null) first, then numbers, then strings
    assert list(dinos.order_by_child("ratings/pos").get()) == [
        "linhenykus",
        "triceratops",
        "lambeosaurus",
        "pterodactyl",
        "bruhathkayosaurus",
        "stegosaurus",
    ]
    assert list(dinos.order_by_child("ratings/pos").start_at("a").get()) == ["stegosaurus"]
    assert list(dinos.order_by_child("ratings/pos").limit_to_first(2).get()) == [
        "linhenykus",
        "triceratops",
    ]


def test_order_by_key_with_integer_like_keys(mixed: db.Reference) -> None:
    # Firebase order: -1, 9, 10, 2147483648 (not int32: a string), a, b, c, d
    assert set(mixed.order_by_key().limit_to_first(3).get()) == {"-1", "9", "10"}
    assert set(mixed.order_by_key().limit_to_last(2).get()) == {"c", "d"}
    assert set(mixed.order_by_key().start_at("10").end_at("a").get()) == {
        "10",
        "2147483648",
        "a",
    }
    assert set(mixed.order_by_key().equal_to("9").get()) == {"9"}


def test_order_by_value_with_mixed_types(mixed: db.Reference) -> None:
    # false < true < numbers < strings < objects
    result = mixed.order_by_value().get()
    assert list(result) == ["2147483648", "10", "c", "9", "d", "b", "-1", "a"]
    assert set(mixed.order_by_value().limit_to_first(2).get()) == {"2147483648", "10"}
    assert set(mixed.order_by_value().start_at(4).end_at("b").get()) == {"9", "d", "b"}
    assert set(mixed.order_by_value().start_at("c").get()) == {"a", "-1"}
    assert set(mixed.order_by_value().equal_to(True).get()) == {"10"}
    assert set(mixed.order_by_value().equal_to(False).get()) == {"2147483648"}


def test_ties_broken_by_key_before_limits(rtdb_app: Any) -> None:
    ref = db.reference("ties", app=rtdb_app)
    ref.set({"b": 1, "10": 1, "a": 1, "2": 1, "z": 0})
    assert set(ref.order_by_value().equal_to(1).limit_to_first(2).get()) == {"2", "10"}
    assert set(ref.order_by_value().limit_to_last(2).get()) == {"a", "b"}


def test_plus_in_a_filter_value_is_literal(rtdb_app: Any) -> None:
    ref = db.reference("events", app=rtdb_app)
    ref.set({"e1": {"at": "2024-01-01T00:00:00+00:00"}, "e2": {"at": "2024-01-01T00:00:00 00:00"}})
    assert set(ref.order_by_child("at").equal_to("2024-01-01T00:00:00+00:00").get()) == {"e1"}


def test_ampersand_in_a_filter_value_is_refused(rtdb_app: Any) -> None:
    ref = db.reference("x", app=rtdb_app)
    ref.set({"a": "a&b"})
    with pytest.raises(exceptions.InvalidArgumentError):
        ref.order_by_value().equal_to("a&b").get()
    assert ref.get() == {"a": "a&b"}


def test_query_on_array_and_on_missing_node(rtdb_app: Any) -> None:
    ref = db.reference("arr", app=rtdb_app)
    ref.set(["x", "y", "z"])
    assert ref.order_by_key().limit_to_first(2).get() == ["x", "y"]
    assert db.reference("nothing", app=rtdb_app).order_by_key().get() is None
