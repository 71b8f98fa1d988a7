"""Regressions found by Google's system tests of google-cloud-firestore (tools/
firestore_system_tests.py): one test per cause, run against both emulators."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud._helpers import _datetime_to_pb_timestamp
from google.cloud.firestore_v1.aggregation import AggregationQuery
from google.cloud.firestore_v1.base_query import FieldFilter


def test_list_collection_ids_at_a_read_time(firestore_client: firestore.Client) -> None:
    db = firestore_client
    first = db.document("first/doc").create({"n": 1}).update_time
    parent = db.document("first/doc")
    parent.collection("sub1").add({"n": 1})
    sub_time = parent.collection("sub2").add({"n": 2})[0]
    db.document("second/doc").create({"n": 2})
    parent.collection("sub3").add({"n": 3})

    assert {c.id for c in db.collections(read_time=first)} == {"first"}
    assert {c.id for c in db.collections()} == {"first", "second"}
    assert {c.id for c in parent.collections(read_time=sub_time)} == {"sub1", "sub2"}
    assert {c.id for c in parent.collections()} == {"sub1", "sub2", "sub3"}


def test_list_collection_ids_at_a_read_time_sees_deleted_collections(
    firestore_client: firestore.Client,
) -> None:
    ref = firestore_client.document("gone/doc")
    written = ref.create({"n": 1}).update_time
    ref.delete()
    assert [c.id for c in firestore_client.collections()] == []
    assert [c.id for c in firestore_client.collections(read_time=written)] == ["gone"]


def test_list_documents_at_a_read_time_with_missing_parents(
    firestore_client: firestore.Client,
) -> None:
    coll = firestore_client.collection("listed")
    first_time, first = coll.add({"n": 1})
    coll.document("parent").collection("child").add({"n": 0})  # "parent" itself is missing
    middle = coll.document("later").create({"n": 2}).update_time
    coll.document("last").create({"n": 3})
    first.delete()

    # list_documents asks for show_missing: missing parents are listed too
    assert {d.id for d in coll.list_documents(read_time=first_time)} == {first.id}
    assert {d.id for d in coll.list_documents(read_time=middle)} == {first.id, "parent", "later"}
    assert {d.id for d in coll.list_documents()} == {"parent", "later", "last"}


@pytest.mark.parametrize("shift", [datetime.timedelta(microseconds=1), datetime.timedelta(hours=1)])
def test_precondition_newer_than_the_stored_version_is_invalid(
    firestore_client: firestore.Client, shift: datetime.timedelta
) -> None:
    db = firestore_client
    ref = db.document("pre/doc")
    stored = ref.create({"n": 1}).update_time
    newer = db.write_option(last_update_time=_datetime_to_pb_timestamp(stored + shift))
    older = db.write_option(
        last_update_time=_datetime_to_pb_timestamp(stored - datetime.timedelta(microseconds=1))
    )
    with pytest.raises(gexc.InvalidArgument):
        ref.update({"n": 2}, option=newer)
    with pytest.raises(gexc.InvalidArgument):
        ref.delete(option=newer)
    with pytest.raises(gexc.FailedPrecondition):
        ref.update({"n": 2}, option=older)
    # on a missing document, any version is a failed precondition
    with pytest.raises(gexc.FailedPrecondition):
        db.document("pre/missing").delete(option=newer)
    assert ref.get().to_dict() == {"n": 1}


@pytest.fixture
def scores(firestore_client: firestore.Client) -> Any:
    coll = firestore_client.collection("scores")
    batch = firestore_client.batch()
    docs: dict[str, dict[str, Any]] = {
        "d1": {"a": 5, "x": 1},
        "d2": {"a": 1, "x": 2, "b": 10},
        "d3": {"a": "text", "x": 3, "b": 1},
        "d4": {"x": 4, "b": 2},
        "d5": {"a": None, "x": 5},
        "d6": {"a": 3.5, "x": 6, "b": 7},
        "d7": {"a": 2, "x": 0},
        "d8": {"a": True, "x": 9},
    }
    for doc_id, data in docs.items():
        batch.set(coll.document(doc_id), data)
    batch.commit()
    return coll


def values(query: Any) -> dict[str, Any]:
    (result,) = query.get()
    return {r.alias: r.value for r in result}


def test_sum_and_avg_read_only_documents_holding_the_field_ordered_by_it(scores: Any) -> None:
    # documents holding `a`, by `a`: null, true, 1, 2, 3.5, 5, "text" (d4 has no `a`)
    assert values(scores.limit(3).sum("a", alias="s")) == {"s": 1}
    assert values(scores.limit(3).avg("a", alias="s")) == {"s": 1.0}
    assert values(scores.limit(3).count(alias="n").sum("a", alias="s")) == {"n": 3, "s": 1}
    assert values(scores.count(alias="n").sum("a", alias="s")) == {"n": 7, "s": 11.5}
    assert values(scores.count(alias="n")) == {"n": 8}
    assert values(scores.offset(1).limit(2).sum("a", alias="s")) == {"s": 1}
    # both fields present (d2, d3, d6), ordered by the first aggregated field
    assert values(scores.limit(2).sum("a", alias="s").sum("b", alias="t")) == {"s": 4.5, "t": 17}
    # the query's own orders (explicit, then inequality fields) come first
    assert values(scores.order_by("x").limit(2).sum("a", alias="s")) == {"s": 7}
    assert values(scores.order_by("a", direction="DESCENDING").limit(2).sum("a", alias="s")) == {
        "s": 5
    }
    ranged = scores.where(filter=FieldFilter("x", ">=", 2)).limit(2)
    assert values(ranged.sum("a", alias="s")) == {"s": 1}


def test_an_empty_aggregation_list_is_invalid(firestore_client: firestore.Client) -> None:
    query = firestore_client.collection("c").where(filter=FieldFilter("a", "==", 1))
    with pytest.raises(gexc.InvalidArgument, match="Aggregations can not be empty"):
        AggregationQuery(query).get()


def test_duplicate_aggregation_aliases_name_the_alias(firestore_client: firestore.Client) -> None:
    coll = firestore_client.collection("c")
    with pytest.raises(
        gexc.InvalidArgument, match="Aggregation aliases contain duplicate alias: total"
    ):
        coll.count(alias="total").sum("a", alias="total").get()


# Found by the differential fuzzer (tests/fuzz/test_fuzz_firestore_differential.py).


def test_nothing_may_be_ordered_after_the_key(firestore_client: firestore.Client) -> None:
    from google.cloud.firestore_v1.field_path import FieldPath

    coll = firestore_client.collection("c")
    coll.document("d").set({"a": 1})
    key = FieldPath.document_id()
    with pytest.raises(gexc.InvalidArgument, match="more fields after the key"):
        list(coll.order_by(key).order_by("a").stream())
    # an inequality field's implicit order would follow the explicit key order
    with pytest.raises(gexc.InvalidArgument, match="more fields after the key"):
        list(coll.where(filter=FieldFilter("a", ">", 0)).order_by(key).stream())
    assert [d.id for d in coll.order_by("a").order_by(key).stream()] == ["d"]


def test_not_in_cannot_be_combined_with_in_or_a_disjunction(
    firestore_client: firestore.Client,
) -> None:
    from google.cloud.firestore_v1.base_query import Or

    coll = firestore_client.collection("c")
    coll.document("d").set({"a": 1, "b": [1]})
    not_in = FieldFilter("a", "not-in", [2])
    for other in (FieldFilter("b", "in", [[1]]), FieldFilter("b", "array_contains_any", [1])):
        with pytest.raises(gexc.InvalidArgument, match="'NOT_IN' cannot be used"):
            list(coll.where(filter=not_in).where(filter=other).stream())
    with pytest.raises(gexc.InvalidArgument, match="'NOT_IN' cannot be used"):
        list(coll.where(filter=Or([not_in, FieldFilter("a", "==", 3)])).stream())
    assert [d.id for d in coll.where(filter=not_in).stream()] == ["d"]


def test_cursor_values_match_the_explicit_orders_only(firestore_client: firestore.Client) -> None:
    from google.cloud.firestore_v1.types import firestore as fs
    from google.cloud.firestore_v1.types import query as q

    db = firestore_client
    db.document("c/d").set({"a": 2})
    root = f"projects/{db.project}/databases/(default)/documents"

    def run(**query: Any) -> list[Any]:
        request = fs.RunQueryRequest(
            parent=root,
            structured_query=q.StructuredQuery(
                from_=[q.StructuredQuery.CollectionSelector(collection_id="c")], **query
            ),
        )
        return [r for r in db._firestore_api.run_query(request=request) if r.document.name]

    greater = q.StructuredQuery.Filter(
        field_filter=q.StructuredQuery.FieldFilter(
            field=q.StructuredQuery.FieldReference(field_path="a"),
            op=q.StructuredQuery.FieldFilter.Operator.GREATER_THAN,
            value={"integer_value": 1},
        )
    )
    cursor = q.Cursor(values=[{"integer_value": 1}])
    # the inequality on `a` orders by it implicitly, but a cursor cannot give it a value
    with pytest.raises(gexc.InvalidArgument, match="Cursor has too many values"):
        run(where=greater, start_at=cursor)
    by_a = [q.StructuredQuery.Order(field=q.StructuredQuery.FieldReference(field_path="a"))]
    assert len(run(where=greater, order_by=by_a, start_at=cursor)) == 1


# The official emulator fails such a query with UNKNOWN.
@pytest.mark.extension
def test_at_most_five_aggregations(firestore_client: firestore.Client) -> None:
    coll = firestore_client.collection("c")
    coll.document("d").set({"a": 1})
    five = coll.count(alias="c1").count(alias="c2").count(alias="c3").sum("a", alias="s")
    assert values(five.avg("a", alias="v")) == {"c1": 1, "c2": 1, "c3": 1, "s": 1, "v": 1.0}
    with pytest.raises(gexc.InvalidArgument, match="at most 5 aggregations"):
        five.avg("a", alias="v").count(alias="c4").get()


def test_sum_cannot_order_its_field_after_an_explicit_key_order(
    firestore_client: firestore.Client,
) -> None:
    from google.cloud.firestore_v1.field_path import FieldPath

    coll = firestore_client.collection("c")
    coll.document("d").set({"a": 1})
    key = FieldPath.document_id()
    with pytest.raises(gexc.InvalidArgument, match=r"fields \[a\] after __name__"):
        coll.order_by(key).sum("a", alias="s").get()
    assert values(coll.order_by("a").order_by(key).sum("a", alias="s")) == {"s": 1}


def test_one_array_membership_filter_per_disjunction(firestore_client: firestore.Client) -> None:
    from google.cloud.firestore_v1.base_query import Or

    coll = firestore_client.collection("c")
    coll.document("d").set({"a": [1], "b": [2]})
    contains_a = FieldFilter("a", "array_contains", 1)
    for other in (FieldFilter("b", "array_contains", 2),
                  FieldFilter("b", "array_contains_any", [2])):
        with pytest.raises(gexc.InvalidArgument, match="A maximum of 1 'ARRAY_CONTAINS'"):
            list(coll.where(filter=contains_a).where(filter=other).stream())
        # in separate disjuncts they are fine
        assert [d.id for d in coll.where(filter=Or([contains_a, other])).stream()] == ["d"]


def test_in_and_array_contains_any_never_match_null_or_nan(
    firestore_client: firestore.Client,
) -> None:
    coll = firestore_client.collection("c")
    coll.document("null").set({"x": None, "a": [None]})
    coll.document("nan").set({"x": float("nan"), "a": [float("nan")]})
    coll.document("one").set({"x": 1, "a": [1]})
    # the SDK refuses None / NaN alone, so each list also holds 1
    for values in ([None, 1], [float("nan"), 1]):
        assert [d.id for d in coll.where(filter=FieldFilter("x", "in", values)).stream()] == [
            "one"]
        query = coll.where(filter=FieldFilter("a", "array_contains_any", values))
        assert [d.id for d in query.stream()] == ["one"]
    assert [d.id for d in coll.where(filter=FieldFilter("x", "==", None)).stream()] == ["null"]
