"""Value ordering against the client's own comparator, field paths, limits."""

from __future__ import annotations

import math
from typing import Any

import pytest
from google.cloud.firestore_v1._helpers import encode_value
from google.cloud.firestore_v1.order import Order
from hypothesis import given, settings
from hypothesis import strategies as st

from firebase_sync_emulator.errors import ServiceError
from firebase_sync_emulator.firestore import values

DOCS = "projects/p/databases/(default)/documents"


def pb(v: Any) -> Any:
    return encode_value(v)._pb


def ref(path: str) -> Any:
    out = values.Value()
    out.reference_value = f"{DOCS}/{path}"
    return out


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([2**53, 2**53 + 1, 2.0**53, -0.0, 0, 0.0]),
    st.text(max_size=4),
    st.binary(max_size=4),
)
plain_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(scalars, max_size=3),
        st.dictionaries(st.text(min_size=2, max_size=3), inner, max_size=3),
    ),
    max_leaves=6,
)


@settings(max_examples=400, deadline=None)
@given(plain_values, plain_values)
def test_order_matches_client_comparator(a: Any, b: Any) -> None:
    va, vb = pb(a), pb(b)
    assert values.compare(va, vb) == Order.compare(va, vb)
    assert values.compare(vb, va) == -values.compare(va, vb)


def _sign(x: Any, y: Any) -> int:
    return int(x > y) - int(x < y)


@settings(max_examples=400, deadline=None)
@given(plain_values, plain_values)
def test_sort_key_matches_compare(a: Any, b: Any) -> None:
    va, vb = pb(a), pb(b)
    assert _sign(values.sort_key(va), values.sort_key(vb)) == values.compare(va, vb)


def test_sort_key_on_every_type() -> None:
    from google.cloud.firestore_v1 import GeoPoint
    from google.protobuf.timestamp_pb2 import Timestamp

    def ts(seconds: int, nanos: int) -> Any:
        v = values.Value()
        v.timestamp_value.CopyFrom(Timestamp(seconds=seconds, nanos=nanos))
        return v

    samples = [pb(None), pb(True), pb(math.nan), pb(-1), pb(2.5), ts(1, 5), ts(1, 7), ts(2, 0),
               pb("b"), pb(b"\x01"), ref("c/__id5__"), ref("c/1"), ref("c/a/s/x"),
               pb(GeoPoint(1.0, math.nan)), pb(GeoPoint(1.0, 2.0)), pb(GeoPoint(-1.0, 9.0)),
               pb([1, "a"]), pb({"__type__": "__vector__", "value": [1.0, 2.0]}),
               pb({"__type__": "__vector__", "value": [9.0]}), pb({"a": {"b": 1}}), pb({"a": 2})]
    for x in samples:
        for y in samples:
            assert _sign(values.sort_key(x), values.sort_key(y)) == values.compare(x, y)
    names = [f"{DOCS}/{n}" for n in ("c/__id-9223372036854775808__", "c/__id5__", "c/A",
                                     "c/a/s/x", "c\0/x", "ca/b", "c/__idx__")]
    for x in names:
        for y in names:
            assert _sign(values.name_key(x), values.name_key(y)) == values.compare_names(x, y)


def test_cross_type_ranks() -> None:
    ordered = [None, False, True, math.nan, -math.inf, -1, 0, 0.5, 1, 2**53, 2**53 + 1,
               math.inf, "", "a", "é", b"", b"\x00", [], [1], {"__type__": "__vector__",
                                                             "value": [1.0]}, {}, {"a": 1}]
    pbs = [pb(v) for v in ordered]
    for i in range(len(pbs) - 1):
        assert values.compare(pbs[i], pbs[i + 1]) <= 0, (ordered[i], ordered[i + 1])


def test_reference_order_segments_and_legacy_ids() -> None:
    names = ["c/__id-9223372036854775808__", "c/__id5__", "c/1", "c/A", "c/a", "c/a/s/x",
             "c\0/__id-9223372036854775808__", "ca/b"]
    refs = [ref(n) for n in names]
    for i in range(len(refs) - 1):
        assert values.compare(refs[i], refs[i + 1]) < 0, (names[i], names[i + 1])


def test_query_equality() -> None:
    assert values.query_equal(pb(1), pb(1.0))
    assert values.query_equal(pb(-0.0), pb(0))
    assert not values.query_equal(pb(math.nan), pb(math.nan))
    assert values.transform_equal(pb(math.nan), pb(math.nan))
    assert not values.query_equal(pb(1), pb("1"))


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a", ("a",)),
        ("a.b.c", ("a", "b", "c")),
        ("`a.b`.c", ("a.b", "c")),
        ("`we\\`ird`.`back\\\\slash`", ("we`ird", "back\\slash")),
        ("`1`", ("1",)),
        ("__name__", ("__name__",)),
    ],
)
def test_field_paths_round_trip(text: str, parts: tuple[str, ...]) -> None:
    assert values.parse_field_path(text) == parts
    assert values.parse_field_path(values.format_field_path(parts)) == parts


@pytest.mark.parametrize("bad", ["", ".", "a.", ".a", "a..b", "`a", "a`b`", "`a`b"])
def test_bad_field_paths(bad: str) -> None:
    with pytest.raises(ServiceError):
        values.parse_field_path(bad)


def test_field_path_size_limit() -> None:
    with pytest.raises(ServiceError, match="1500 bytes"):
        values.parse_field_path("a" * 1501)


def test_set_get_delete_nested() -> None:
    doc = values.Document()
    values.set_field(doc.fields, ("a", "b", "c"), pb(1))
    assert values.get_field(doc.fields, ("a", "b", "c")).integer_value == 1
    values.set_field(doc.fields, ("a", "b"), pb("x"))
    assert values.get_field(doc.fields, ("a", "b", "c")) is None
    values.delete_field(doc.fields, ("a", "b"))
    assert dict(doc.fields["a"].map_value.fields) == {}


def test_document_names() -> None:
    values.validate_document_name(f"{DOCS}/c/d")
    for bad in (f"{DOCS}/c", "projects/p/documents/c/d", f"{DOCS}/c/__x__", f"{DOCS}/c/.."):
        with pytest.raises(ServiceError):
            values.validate_document_name(bad)


def test_nested_arrays_rejected() -> None:
    v = values.Value()
    inner = v.array_value.values.add()
    inner.array_value.SetInParent()
    with pytest.raises(ServiceError, match="array"):
        values.validate_value(v)


# ---------------------------------------------------------------- production's value rules


@pytest.mark.parametrize("text", ["``", "a.``", "``.a", "a.``.b", "__name__.x", "`__name__`.x"])
def test_parse_field_path_refuses_empty_quoted_and_name_subfields(text: str) -> None:
    with pytest.raises(ServiceError):
        values.parse_field_path(text)


def test_parse_field_path_keeps_name_and_quoted_segments() -> None:
    assert values.parse_field_path("__name__") == ("__name__",)
    assert values.parse_field_path("a.`__name__`") == ("a", "__name__")
    assert values.parse_field_path("`a.b`.`\\``") == ("a.b", "`")


@pytest.mark.parametrize(
    ("lat", "lng", "ok"),
    [(90.0, 180.0, True), (-90.0, -180.0, True), (90.0001, 0.0, False), (-90.5, 0.0, False),
     (0.0, 181.0, False), (0.0, -180.01, False), (math.nan, 0.0, False), (0.0, math.inf, False)],
)
def test_geo_point_range(lat: float, lng: float, ok: bool) -> None:
    v = values.Value()
    v.geo_point_value.latitude = lat
    v.geo_point_value.longitude = lng
    if ok:
        values.validate_value(v)
    else:
        with pytest.raises(ServiceError, match="outside permitted range"):
            values.validate_value(v)


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        (f"{DOCS}/c/d", True),
        (f"{DOCS}/c/d/e/f", True),
        ("projects/p/databases/other/documents/c/d", False),
        ("projects/q/databases/(default)/documents/c/d", False),
        ("projects//databases/(default)/documents/c/d", False),
        ("projects/p/databases//documents/c/d", False),
        (f"{DOCS}/c", False),
        ("c/d", False),
    ],
)
def test_reference_must_be_in_the_database(name: str, ok: bool) -> None:
    v = values.Value()
    v.reference_value = name
    if ok:
        values.validate_value(v, database=DOCS)
    else:
        with pytest.raises(ServiceError):
            values.validate_value(v, database=DOCS)


def test_reference_elsewhere_passes_without_a_database() -> None:
    v = values.Value()
    v.reference_value = "projects/q/databases/(default)/documents/c/d"
    values.validate_value(v)  # queries and imports: shape only


@pytest.mark.parametrize("key", ["__x__", "__name__", "____", "__type__", "__int__"])
def test_reserved_field_names_are_refused(key: str) -> None:
    with pytest.raises(ServiceError, match="reserved"):
        values.validate_fields({key: pb(1), "other": pb(2)})


@pytest.mark.parametrize("key", ["__x", "x__", "___", "_x_", "a__b__"])
def test_names_that_only_look_reserved_are_fine(key: str) -> None:
    values.validate_fields({key: pb(1)})


def test_special_type_maps_are_exempt() -> None:
    from google.cloud.firestore_v1.bson import BSONInt32
    from google.cloud.firestore_v1.vector import Vector

    values.validate_value(pb(Vector([1.0])))
    values.validate_value(pb({"x": BSONInt32(3)}))
    values.validate_value(pb({"__oid__": "abc"}))  # a lone BSON key inside a value
    with pytest.raises(ServiceError, match="reserved"):
        values.validate_fields({"__oid__": pb("abc")})  # ... but not as a document field
    with pytest.raises(ServiceError, match="reserved"):
        values.validate_value(pb({"__type__": "other"}))


@pytest.mark.parametrize("raw", ["__x__", "a.__x__", "__name__"])
def test_validate_write_path_refuses_reserved_segments(raw: str) -> None:
    with pytest.raises(ServiceError, match="reserved"):
        values.validate_write_path(values.parse_field_path(raw), raw)


def test_validate_write_path_allows_convention_keys() -> None:
    values.validate_write_path(("v", "__type__"), "v.__type__")
    values.validate_write_path(("a", "__int__"), "a.__int__")
