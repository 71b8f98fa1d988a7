"""Queries of every shape, with the exact order Firestore gives."""

from __future__ import annotations

import math
from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import And, FieldFilter, Or
from google.cloud.firestore_v1.field_path import FieldPath


def load(db: firestore.Client, coll: str, docs: dict[str, dict[str, Any]]) -> Any:
    batch = db.batch()
    ref = db.collection(coll)
    for doc_id, data in docs.items():
        batch.set(ref.document(doc_id), data)
    batch.commit()
    return ref


def ids(query: Any) -> list[str]:
    return [d.id for d in query.stream()]


@pytest.fixture
def mixed(firestore_client: firestore.Client) -> Any:
    return load(firestore_client, "mixed", {
        "null": {"v": None}, "false": {"v": False}, "true": {"v": True},
        "nan": {"v": math.nan}, "neg": {"v": -1}, "one": {"v": 1}, "onef": {"v": 1.0},
        "big": {"v": 2**53 + 1}, "bigf": {"v": float(2**53)}, "str": {"v": "a"},
        "bytes": {"v": b"a"}, "arr": {"v": [1, 2]}, "map": {"v": {"k": 1}},
        "geo": {"v": firestore.GeoPoint(1, 2)}, "none": {"other": 1},
    })


def test_cross_type_order(mixed: Any) -> None:
    assert ids(mixed.order_by("v")) == [
        "null", "false", "true", "nan", "neg", "one", "onef", "bigf", "big", "str", "bytes",
        "geo", "arr", "map"]
    assert ids(mixed.order_by("v", direction=firestore.Query.DESCENDING))[:3] == [
        "map", "arr", "geo"]


def test_equality_is_numeric(mixed: Any) -> None:
    assert ids(mixed.where(filter=FieldFilter("v", "==", 1))) == ["one", "onef"]
    assert ids(mixed.where(filter=FieldFilter("v", "==", 1.0))) == ["one", "onef"]
    assert ids(mixed.where(filter=FieldFilter("v", "in", [1, "a"]))) == ["one", "onef", "str"]


def test_range_stays_in_type_class(mixed: Any) -> None:
    assert ids(mixed.where(filter=FieldFilter("v", ">", 0))) == ["one", "onef", "bigf", "big"]
    assert ids(mixed.where(filter=FieldFilter("v", ">=", "")))== ["str"]
    assert ids(mixed.where(filter=FieldFilter("v", "<", True))) == ["false"]


def test_null_and_nan_filters(mixed: Any) -> None:
    assert ids(mixed.where(filter=FieldFilter("v", "==", None))) == ["null"]
    assert ids(mixed.where(filter=FieldFilter("v", "==", math.nan))) == ["nan"]
    not_null = ids(mixed.where(filter=FieldFilter("v", "!=", None)))
    assert "null" not in not_null and "none" not in not_null and "nan" in not_null
    not_nan = ids(mixed.where(filter=FieldFilter("v", "!=", math.nan)))
    assert "nan" not in not_nan and "null" not in not_nan and len(not_nan) == 12


def test_not_equal_and_not_in(mixed: Any) -> None:
    got = ids(mixed.where(filter=FieldFilter("v", "!=", 1)))
    assert "one" not in got and "onef" not in got and "null" not in got and "none" not in got
    assert got[0] == "false"  # ordered by v: the inequality field
    got = ids(mixed.where(filter=FieldFilter("v", "not-in", [1, "a", False])))
    assert got[:2] == ["true", "nan"] and "str" not in got
    assert ids(mixed.where(filter=FieldFilter("v", "not-in", [None]))) == []
    with pytest.raises(gexc.InvalidArgument, match="up to 10 comparison values"):
        ids(mixed.where(filter=FieldFilter("v", "not-in", list(range(11)))))
    with pytest.raises(gexc.InvalidArgument, match="up to 30 comparison values"):
        ids(mixed.where(filter=FieldFilter("v", "in", list(range(31)))))


def test_one_not_equal_or_not_in_per_query(mixed: Any) -> None:
    two = [(FieldFilter("v", "!=", 1), FieldFilter("w", "!=", 2)),
           (FieldFilter("v", "!=", 1), FieldFilter("w", "not-in", [2])),
           (FieldFilter("v", "not-in", [1]), FieldFilter("v", "not-in", [2])),
           (FieldFilter("v", "!=", 1), FieldFilter("w", "!=", None)),  # IS_NOT_NULL counts
           (FieldFilter("v", "!=", None), FieldFilter("w", "!=", None))]
    for a, b in two:
        with pytest.raises(gexc.InvalidArgument, match="Only a single 'NOT_EQUAL', 'NOT_IN'"):
            ids(mixed.where(filter=a).where(filter=b))
        with pytest.raises(gexc.InvalidArgument, match="Only a single 'NOT_EQUAL', 'NOT_IN'"):
            ids(mixed.where(filter=Or([a, b])))
    assert "one" not in ids(mixed.where(filter=FieldFilter("v", "!=", 1))
                            .where(filter=FieldFilter("v", ">", 0)))


def test_array_contains(firestore_client: firestore.Client) -> None:
    ref = load(firestore_client, "arr", {
        "a": {"tags": ["x", "y", 1]}, "b": {"tags": ["y"]}, "c": {"tags": "x"},
        "d": {"tags": [1.0]}})
    assert ids(ref.where(filter=FieldFilter("tags", "array_contains", "x"))) == ["a"]
    assert ids(ref.where(filter=FieldFilter("tags", "array_contains", 1))) == ["a", "d"]
    assert ids(ref.where(filter=FieldFilter("tags", "array_contains_any", ["y", 1.0]))) == [
        "a", "b", "d"]


def test_composite_and_or(firestore_client: firestore.Client) -> None:
    ref = load(firestore_client, "people", {
        f"p{i}": {"age": i * 10, "city": "SF" if i % 2 else "LA"} for i in range(6)})
    q = ref.where(filter=Or([FieldFilter("age", "<", 15), FieldFilter("city", "==", "SF")]))
    assert ids(q) == ["p0", "p1", "p3", "p5"]
    q = ref.where(filter=And([FieldFilter("age", ">=", 20), FieldFilter("city", "==", "LA")]))
    assert ids(q) == ["p2", "p4"]
    q = ref.where(filter=And([
        FieldFilter("age", ">", 0),
        Or([FieldFilter("city", "==", "LA"), FieldFilter("age", "==", 50)])]))
    assert ids(q) == ["p2", "p4", "p5"]


def test_implicit_ordering_and_missing_fields(firestore_client: firestore.Client) -> None:
    ref = load(firestore_client, "ord", {
        "a": {"x": 2, "y": 1}, "b": {"x": 1, "y": 2}, "c": {"x": 1, "y": 1}, "d": {"y": 0}})
    assert ids(ref.order_by("x")) == ["b", "c", "a"]
    assert ids(ref.order_by("x").order_by("y")) == ["c", "b", "a"]
    assert ids(ref.order_by("x", direction=firestore.Query.DESCENDING)) == ["a", "c", "b"]
    # inequality on y orders by y, then __name__
    assert ids(ref.where(filter=FieldFilter("y", ">", 0))) == ["a", "c", "b"]
    # multiple inequalities: fields in lexicographic order after explicit ones
    q = ref.where(filter=FieldFilter("y", ">=", 1)).where(filter=FieldFilter("x", ">", 0))
    assert ids(q) == ["c", "b", "a"]
    assert ids(ref) == ["a", "b", "c", "d"]


def test_cursors_offset_limit(firestore_client: firestore.Client) -> None:
    ref = load(firestore_client, "nums", {f"n{i}": {"n": i, "g": i % 2} for i in range(10)})
    q = ref.order_by("n")
    assert ids(q.start_at({"n": 3}).end_at({"n": 5})) == ["n3", "n4", "n5"]
    assert ids(q.start_after({"n": 3}).end_before({"n": 5})) == ["n4"]
    assert ids(q.offset(2).limit(3)) == ["n2", "n3", "n4"]
    assert ids(q.limit(0)) == []
    # a fresh query: the client's get() flips the shared order protos in place
    assert [d.id for d in ref.order_by("n").limit_to_last(2).get()] == ["n8", "n9"]
    snap = ref.document("n6").get()
    assert ids(q.start_after(snap)) == ["n7", "n8", "n9"]
    g = ref.order_by("g").order_by("n", direction=firestore.Query.DESCENDING)
    assert ids(g.start_at({"g": 1, "n": 5})) == ["n5", "n3", "n1"]
    assert ids(ref.where(filter=FieldFilter("g", "==", 0)).start_after(snap)) == ["n8"]
    by_name = ref.order_by(FieldPath.document_id())
    assert ids(by_name.start_at([ref.document("n8")])) == ["n8", "n9"]


def test_projection(firestore_client: firestore.Client) -> None:
    ref = load(firestore_client, "proj", {"a": {"x": 1, "y": {"z": 2, "w": 3}, "k": 4}})
    (snap,) = ref.select(["x", "y.z"]).stream()
    assert snap.to_dict() == {"x": 1, "y": {"z": 2}}
    (snap,) = ref.select([]).stream()
    assert snap.to_dict() == {}


def test_collection_group_and_descendants(firestore_client: firestore.Client) -> None:
    db = firestore_client
    db.document("users/alice/posts/p1").set({"n": 1})
    db.document("users/bob/posts/p2").set({"n": 2})
    db.document("posts/top").set({"n": 3})
    db.document("users/alice/posts/p1/posts/deep").set({"n": 4})
    db.document("users/alice/other/x").set({"n": 5})
    got = [d.reference.path for d in db.collection_group("posts").order_by("n").stream()]
    assert got == ["users/alice/posts/p1", "users/bob/posts/p2", "posts/top",
                   "users/alice/posts/p1/posts/deep"]
    assert [d.id for d in db.collection_group("posts").where(
        filter=FieldFilter("n", ">", 1)).stream()] == ["p2", "top", "deep"]
    recursive = [d.reference.path for d in db.collection("users").recursive().stream()]
    assert recursive == ["users/alice/other/x", "users/alice/posts/p1",
                         "users/alice/posts/p1/posts/deep", "users/bob/posts/p2"]


def test_recursive_includes_uppercase_and_digit_ids(firestore_client: firestore.Client) -> None:
    db = firestore_client
    for doc_id in ("1abc", "Zed", "alpha", "__id1__x"):
        db.collection("rc").document(doc_id).set({"a": 1})
    db.collection("rc").document("Zed").collection("sub").document("9").set({"a": 2})
    db.collection("rcx").document("outside").set({"a": 3})
    got = [d.reference.path for d in db.collection("rc").recursive().stream()]
    assert got == ["rc/1abc", "rc/Zed", "rc/Zed/sub/9", "rc/__id1__x", "rc/alpha"]


def test_recursive_delete(firestore_client: firestore.Client) -> None:
    db = firestore_client
    for i in range(5):
        db.document(f"tree/d{i}").set({"i": i})
        db.document(f"tree/d{i}/kids/k").set({"i": i})
    db.document("keep/me").set({"a": 1})
    assert db.recursive_delete(db.collection("tree")) == 10
    assert list(db.collection("tree").stream()) == []
    assert list(db.collection_group("kids").stream()) == []
    assert db.document("keep/me").get().exists


def test_list_documents_and_collections(firestore_client: firestore.Client) -> None:
    db = firestore_client
    db.document("lib/a").set({"x": 1})
    db.document("lib/b/shelves/s1").set({"x": 1})  # lib/b is a "missing" document
    db.document("lib/c").set({"x": 1})
    db.document("zoo/z").set({})
    assert [r.id for r in db.collection("lib").list_documents()] == ["a", "b", "c"]
    assert [r.id for r in db.collection("lib").list_documents(page_size=1)] == ["a", "b", "c"]
    assert sorted(c.id for c in db.collections()) == ["lib", "zoo"]
    assert [c.id for c in db.document("lib/b").collections()] == ["shelves"]
    assert [c.id for c in db.document("lib/a").collections()] == []


def test_aggregations(firestore_client: firestore.Client) -> None:
    ref = load(firestore_client, "agg", {
        "a": {"n": 1, "f": 0.5}, "b": {"n": 2, "f": "x"}, "c": {"n": 3}, "d": {"s": "no"}})
    (res,) = ref.count().get()
    assert res[0].alias == "field_1" and res[0].value == 4
    agg = ref.count(alias="total").sum("n", alias="sum_n").avg("n", alias="avg_n").sum("f")
    (res,) = agg.get()
    got = {r.alias: r.value for r in res}
    # with sum / avg, only documents holding every aggregated field (here n and f) count
    assert got == {"total": 2, "sum_n": 3, "avg_n": 1.5, "field_1": 0.5}
    assert isinstance(got["sum_n"], int)
    (res,) = ref.where(filter=FieldFilter("n", ">", 5)).avg("n", alias="a").get()
    assert not res[0].value  # null on the wire; the client reads integer or double (0.0)
    (res,) = ref.order_by("n").limit(2).sum("n", alias="s").get()
    assert res[0].value == 3
    big = load(firestore_client, "aggbig", {"x": {"n": 2**62}, "y": {"n": 2**62}})
    (res,) = big.sum("n", alias="s").get()
    assert res[0].value == float(2**63)


# PartitionQuery: the official emulator answers UNIMPLEMENTED.
@pytest.mark.extension
def test_get_partitions_single(firestore_client: firestore.Client) -> None:
    load(firestore_client, "part", {f"d{i}": {"i": i} for i in range(5)})
    parts = list(firestore_client.collection_group("part").get_partitions(3))
    assert len(parts) == 1
    assert len(list(parts[0].query().stream())) == 5


def test_stream_in_subcollection_parent(firestore_client: firestore.Client) -> None:
    db = firestore_client
    db.document("a/1/b/x").set({"v": 1})
    db.document("a/2/b/y").set({"v": 2})
    assert [d.id for d in db.collection("a/1/b").stream()] == ["x"]
