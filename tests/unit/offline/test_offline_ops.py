"""Queued operations applied to values: the local view and the replayed value agree."""

from __future__ import annotations

import datetime as dt

import pytest

from firebase_sync import Document, GeoPoint, InvalidArgument, ValidationFailed
from firebase_sync.offline import Increment
from firebase_sync.offline.ops import UNKNOWN, WriteOp, apply_op, decode_entry, encode_entry


class Counter(Document):
    n: int = 0
    seen: dict[str, bool] = {}
    at: dt.datetime | None = None
    where: GeoPoint | None = None
    blob: bytes = b""


class Strict(Document):
    name: str


def test_entries_round_trip_through_json() -> None:
    value = Counter(
        id="c", n=3, at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC), where=GeoPoint(1, 2), blob=b"\xff"
    )
    assert decode_entry(Counter, "c", encode_entry(value)) == value


def test_update_increments_and_sets_nested_fields() -> None:
    op = WriteOp.update("c", {"n": Increment(2), "seen.w1": True})
    after = apply_op(Counter, Counter(id="c", n=1), op)
    assert after == Counter(id="c", n=3, seen={"w1": True})
    again = apply_op(Counter, after, WriteOp.update("c", {"n": Increment(-1), "seen/w2": True}))
    assert again.n == 2 and again.seen == {"w1": True, "w2": True}


def test_set_and_delete() -> None:
    assert apply_op(Counter, None, WriteOp.set(Counter(id="c", n=5))) == Counter(id="c", n=5)
    assert apply_op(Counter, Counter(id="c"), WriteOp.delete("c")) is None


def test_update_of_an_unseen_entry_is_unknown_unless_it_fits() -> None:
    assert apply_op(Strict, None, WriteOp.update("s", {"other": 1})) is UNKNOWN
    assert apply_op(Strict, None, WriteOp.update("s", {"name": "x"})) == Strict(id="s", name="x")
    with pytest.raises(ValidationFailed):
        apply_op(Strict, Strict(id="s", name="x"), WriteOp.update("s", {"name": {"a": 1}}))


def test_update_needs_fields_and_valid_keys() -> None:
    with pytest.raises(InvalidArgument):
        WriteOp.update("c", {})
    with pytest.raises(ValidationFailed):
        WriteOp.update("c", {"a$b": 1})


def test_top_fields() -> None:
    op = WriteOp.update("c", {"seen.a": True, "n": Increment(1), "seen.b": True})
    assert op.top_fields() == ["seen", "n"]
