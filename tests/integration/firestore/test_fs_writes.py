"""Commit semantics: masks, transforms, preconditions, error codes, limits."""

from __future__ import annotations

import datetime
import math

import pytest
from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.field_path import FieldPath


def test_create_twice_is_already_exists(firestore_client: firestore.Client) -> None:
    ref = firestore_client.collection("c").document("d")
    ref.create({"a": 1})
    with pytest.raises(gexc.AlreadyExists):
        ref.create({"a": 2})
    assert ref.get().to_dict() == {"a": 1}


def test_update_missing_is_not_found(firestore_client: firestore.Client) -> None:
    with pytest.raises(gexc.NotFound):
        firestore_client.collection("c").document("nope").update({"a": 1})


def test_update_time_precondition(firestore_client: firestore.Client) -> None:
    ref = firestore_client.collection("c").document("d")
    first = ref.set({"a": 1})
    ref.update({"a": 2}, option=firestore_client.write_option(last_update_time=first.update_time))
    with pytest.raises(gexc.FailedPrecondition):
        ref.update({"a": 3},
                   option=firestore_client.write_option(last_update_time=first.update_time))
    with pytest.raises(gexc.FailedPrecondition):
        ref.delete(option=firestore_client.write_option(last_update_time=first.update_time))
    assert ref.get().to_dict() == {"a": 2}


def test_set_replaces_and_merge_merges(firestore_client: firestore.Client) -> None:
    ref = firestore_client.collection("c").document("d")
    ref.set({"a": 1, "m": {"x": 1, "y": 2}})
    ref.set({"b": 2})
    assert ref.get().to_dict() == {"b": 2}
    ref.set({"m": {"x": 10}, "c": 3}, merge=True)
    ref.set({"m": {"y": 20}}, merge=True)
    assert ref.get().to_dict() == {"b": 2, "c": 3, "m": {"x": 10, "y": 20}}
    ref.set({"m": {"x": 0}, "b": 99}, merge=["m.x"])
    assert ref.get().to_dict() == {"b": 2, "c": 3, "m": {"x": 0, "y": 20}}
    ref.set({"b": firestore.DELETE_FIELD}, merge=True)
    assert ref.get().to_dict() == {"c": 3, "m": {"x": 0, "y": 20}}


def test_update_field_paths(firestore_client: firestore.Client) -> None:
    ref = firestore_client.collection("c").document("d")
    ref.set({"m": {"x": 1, "y": 2}, "a.b": 1, "keep": True})
    ref.update({"m.x": 5, FieldPath("a.b").to_api_repr(): 2, "new.deep.field": "v"})
    assert ref.get().to_dict() == {
        "m": {"x": 5, "y": 2}, "a.b": 2, "keep": True, "new": {"deep": {"field": "v"}}}
    ref.update({"m.y": firestore.DELETE_FIELD, FieldPath("we`ird", "k\\ey").to_api_repr(): 1})
    assert ref.get().to_dict() == {
        "m": {"x": 5}, "a.b": 2, "keep": True, "new": {"deep": {"field": "v"}},
        "we`ird": {"k\\ey": 1}}
    ref.update({"m": {"z": 1}})  # a whole map replaces the old one
    assert ref.get().to_dict()["m"] == {"z": 1}


# The official emulator truncates REQUEST_TIME to milliseconds, before the commit time.
@pytest.mark.extension
def test_server_timestamp_and_times(firestore_client: firestore.Client) -> None:
    ref = firestore_client.collection("c").document("d")
    result = ref.set({"at": firestore.SERVER_TIMESTAMP, "n": 1})
    snap = ref.get()
    assert snap.to_dict()["at"] == result.update_time
    assert snap.create_time == snap.update_time == result.update_time
    later = ref.update({"n": 2})
    snap2 = ref.get()
    assert snap2.create_time == snap.create_time
    assert snap2.update_time == later.update_time > snap.update_time


def test_noop_write_keeps_update_time(firestore_client: firestore.Client) -> None:
    ref = firestore_client.collection("c").document("d")
    first = ref.set({"a": 1})
    again = ref.set({"a": 1})
    assert again.update_time == first.update_time
    assert ref.get().update_time == first.update_time


def test_commit_times_strictly_increase(firestore_client: firestore.Client) -> None:
    times = [firestore_client.collection("c").document(f"d{i}").set({"i": i}).update_time
             for i in range(30)]
    assert all(a < b for a, b in zip(times, times[1:], strict=False))


def test_increment_rules(firestore_client: firestore.Client) -> None:
    ref = firestore_client.collection("c").document("d")
    ref.set({"i": 1, "f": 1.5, "s": "text", "big": 2**63 - 2, "small": -(2**63) + 1})
    ref.update({
        "i": firestore.Increment(2), "f": firestore.Increment(1), "s": firestore.Increment(5),
        "missing": firestore.Increment(7), "big": firestore.Increment(10),
        "small": firestore.Increment(-10), "mixed": firestore.Increment(0.5),
    })
    got = ref.get().to_dict()
    assert got["i"] == 3 and isinstance(got["i"], int)
    assert got["f"] == 2.5
    assert got["s"] == 5 and got["missing"] == 7 and got["mixed"] == 0.5
    assert got["big"] == 2**63 - 1 and got["small"] == -(2**63)
    ref.update({"i": firestore.Increment(0.5)})
    assert ref.get().to_dict()["i"] == 3.5


def test_maximum_minimum(firestore_client: firestore.Client) -> None:
    ref = firestore_client.collection("c").document("d")
    ref.set({"a": 5, "b": 5, "c": 3, "d": "x", "e": 1.0, "n": math.nan})
    ref.update({
        "a": firestore.Maximum(10), "b": firestore.Minimum(1), "c": firestore.Maximum(1),
        "d": firestore.Minimum(4), "e": firestore.Maximum(1), "n": firestore.Maximum(100),
        "new": firestore.Minimum(-1),
    })
    got = ref.get().to_dict()
    assert got["a"] == 10 and got["b"] == 1 and got["c"] == 3 and got["d"] == 4
    assert got["e"] == 1.0 and isinstance(got["e"], float)  # equivalent: stored value kept
    assert math.isnan(got["n"]) and got["new"] == -1


def test_array_union_remove(firestore_client: firestore.Client) -> None:
    ref = firestore_client.collection("c").document("d")
    ref.set({"a": [1, 2, "x", math.nan], "s": "not an array"})
    ref.update({"a": firestore.ArrayUnion([2.0, 3, 3, math.nan, {"m": 1}]),
                "s": firestore.ArrayUnion(["y"]), "new": firestore.ArrayRemove([1])})
    got = ref.get().to_dict()
    assert got["a"][:3] == [1, 2, "x"] and math.isnan(got["a"][3])
    assert got["a"][4:] == [3, {"m": 1}]
    assert got["s"] == ["y"] and got["new"] == []
    ref.update({"a": firestore.ArrayRemove([1.0, math.nan, {"m": 1}])})
    assert ref.get().to_dict()["a"] == [2, "x", 3]


def test_transform_results_in_write_result(firestore_client: firestore.Client) -> None:
    batch = firestore_client.batch()
    ref = firestore_client.collection("c").document("d")
    batch.set(ref, {"n": firestore.Increment(3), "t": firestore.SERVER_TIMESTAMP})
    (result,) = batch.commit()
    assert result.update_time is not None
    assert len(result.transform_results) == 2
    assert result.transform_results[0].integer_value == 3


def test_batch_is_atomic(firestore_client: firestore.Client) -> None:
    coll = firestore_client.collection("c")
    coll.document("exists").set({"a": 1})
    batch = firestore_client.batch()
    batch.set(coll.document("new"), {"a": 1})
    batch.create(coll.document("exists"), {"a": 2})
    with pytest.raises(gexc.AlreadyExists):
        batch.commit()
    assert not coll.document("new").get().exists


def test_delete(firestore_client: firestore.Client) -> None:
    ref = firestore_client.collection("c").document("d")
    ref.set({"a": 1})
    assert ref.delete() is not None
    assert not ref.get().exists
    ref.delete()  # deleting a missing document succeeds
    with pytest.raises(gexc.NotFound):
        ref.delete(option=firestore_client.write_option(exists=True))


# Production's limits, which the official emulator does not enforce (or enforces differently).
@pytest.mark.extension
@pytest.mark.parametrize(
    ("data", "limit"),
    [
        ({"big": "x" * 1_048_600}, "maximum document size"),
        ({"x" * 1501: 1}, "1500 bytes"),
        ({"deep": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {
            "a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": 1}}}}}}}}}}}}}}}}}}}}},
         "nesting depth"),
    ],
)
def test_limits(firestore_client: firestore.Client, data: dict[str, object], limit: str) -> None:
    with pytest.raises(gexc.InvalidArgument, match=limit):
        firestore_client.collection("c").document("d").set(data)
    assert not firestore_client.collection("c").document("d").get().exists


def test_depth_20_is_allowed(firestore_client: firestore.Client) -> None:
    value: object = 1
    for _ in range(19):
        value = {"a": value}
    firestore_client.collection("c").document("d").set({"a": value})


# Production's limits, which the official emulator does not enforce (or enforces differently).
@pytest.mark.extension
def test_name_limit(firestore_client: firestore.Client) -> None:
    with pytest.raises(gexc.InvalidArgument, match="6 KiB"):
        firestore_client.collection("c" * 1400).document("d" * 1400).collection(
            "e" * 1400).document("f" * 1400).collection("g" * 1000).document("h").set({"a": 1})


# Production's limits, which the official emulator does not enforce (or enforces differently).
@pytest.mark.extension
def test_request_size_limit(firestore_client: firestore.Client) -> None:
    batch = firestore_client.batch()
    for i in range(11):
        batch.set(firestore_client.collection("c").document(f"d{i}"), {"b": b"x" * 1_000_000})
    with pytest.raises(gexc.InvalidArgument, match="10 MiB"):
        batch.commit()


def test_more_than_500_writes_per_commit(firestore_client: firestore.Client) -> None:
    # The current limits page has no per-commit write count (only the 10 MiB request size).
    batch = firestore_client.batch()
    for i in range(600):
        batch.set(firestore_client.collection("many").document(f"d{i:04}"), {"i": i})
    assert len(batch.commit()) == 600


def test_reserved_ids_rejected(firestore_client: firestore.Client) -> None:
    with pytest.raises(gexc.InvalidArgument):
        firestore_client.collection("c").document("__reserved__").set({"a": 1})


def test_timestamp_values_compare_with_commit_time(firestore_client: firestore.Client) -> None:
    before = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=5)
    ref = firestore_client.collection("c").document("d")
    ref.set({"t": firestore.SERVER_TIMESTAMP})
    assert ref.get().to_dict()["t"] > before


def _commit_raw(client: firestore.Client, write: dict[str, object]) -> None:
    client._firestore_api.commit(
        request={"database": client._database_string, "writes": [write]})


# Production's limits, which the official emulator does not enforce (or enforces differently).
@pytest.mark.extension
def test_duplicate_transform_or_masked_transform_is_invalid(
        firestore_client: firestore.Client) -> None:
    name = f"{firestore_client._database_string}/documents/c/d"
    inc = {"field_path": "n", "increment": {"integer_value": 1}}
    with pytest.raises(gexc.InvalidArgument, match="more than one transform"):
        _commit_raw(firestore_client, {"update": {"name": name},
                                       "update_transforms": [inc, inc]})
    with pytest.raises(gexc.InvalidArgument, match="both in the update mask"):
        _commit_raw(firestore_client, {"update": {"name": name, "fields": {}},
                                       "update_mask": {"field_paths": ["n"]},
                                       "update_transforms": [inc]})
    assert not firestore_client.collection("c").document("d").get().exists
    _commit_raw(firestore_client, {"update": {"name": name},
                                   "update_mask": {"field_paths": ["m"]},
                                   "update_transforms": [inc]})
    assert firestore_client.collection("c").document("d").get().to_dict() == {"n": 1}
