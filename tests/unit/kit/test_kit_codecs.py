"""Models through the Firestore and RTDB codecs and back."""

from __future__ import annotations

import datetime as dt
import enum
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from firebase_sync import Document, GeoPoint, Reference
from firebase_sync._wire import firestore_values, rtdb_json
from firebase_sync._wire.documents import dump_document, load_document
from firebase_sync.errors import ValidationFailed

DATABASE = "projects/demo/databases/(default)"


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Size(enum.IntEnum):
    S = 1
    L = 3


class Dimensions(BaseModel):
    width: float
    height: float
    raw: bytes = b""


class Product(Document):
    name: str
    price: Decimal
    created: dt.datetime
    released: dt.date | None = None
    color: Color = Color.RED
    size: Size = Size.S
    photo: bytes = b""
    where: GeoPoint | None = None
    maker: Reference | None = None
    dims: Dimensions | None = None
    tags: list[str] = Field(default_factory=list)
    attrs: dict[str, int] = Field(default_factory=dict)
    note: str | None = None


def sample() -> Product:
    return Product(
        id="p1",
        name="Lamp",
        price=Decimal("19.990"),
        created=dt.datetime(
            2024, 5, 1, 14, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2))
        ),
        released=dt.date(2024, 4, 30),
        color=Color.BLUE,
        size=Size.L,
        photo=b"\x00\xffpng",
        where=GeoPoint(48.85, 2.35),
        maker=Reference("makers/acme"),
        dims=Dimensions(width=1.5, height=2, raw=b"\x01\x02"),
        tags=["a", "b"],
        attrs={"stock": 3},
    )


def firestore_round_trip(product: Product) -> Product:
    fields = firestore_values.encode_fields(dump_document(product), database=DATABASE)
    wire = {
        k: firestore_values.ValuePb.FromString(v.SerializeToString()) for k, v in fields.items()
    }
    data = firestore_values.decode_fields(wire, database=DATABASE)
    return load_document(Product, product.id, data, path=f"products/{product.id}")


def rtdb_round_trip(product: Product) -> Product:
    encoded = rtdb_json.encode_value(dump_document(product))
    data = json.loads(json.dumps(encoded))
    # RTDB keeps neither null nor empty containers
    data = {k: v for k, v in data.items() if v not in (None, [], {})}
    restored = rtdb_json.restore_for_model(Product, data)
    return load_document(Product, product.id, restored, path=f"/products/{product.id}")


def test_id_is_the_key_and_never_stored() -> None:
    data = dump_document(sample())
    assert "id" not in data
    assert load_document(Product, "k9", data).id == "k9"


def test_firestore_round_trip_is_faithful() -> None:
    original = sample()
    back = firestore_round_trip(original)
    assert back == original
    assert back.created.tzinfo == dt.UTC and back.created == original.created
    assert back.created.microsecond == 123456


def test_firestore_value_kinds() -> None:
    fields = firestore_values.encode_fields(dump_document(sample()), database=DATABASE)
    kinds = {k: v.WhichOneof("value_type") for k, v in fields.items()}
    assert kinds["created"] == "timestamp_value"
    assert kinds["photo"] == "bytes_value"
    assert kinds["where"] == "geo_point_value"
    assert kinds["maker"] == "reference_value"
    assert fields["maker"].reference_value == f"{DATABASE}/documents/makers/acme"
    assert kinds["dims"] == "map_value"
    assert kinds["price"] == "string_value" and fields["price"].string_value == "19.990"
    assert fields["color"].string_value == "blue" and fields["size"].integer_value == 3
    assert kinds["released"] == "string_value"
    assert kinds["note"] == "null_value"


def test_firestore_naive_datetime_is_utc_and_nanoseconds_round_down() -> None:
    naive = dt.datetime(2020, 1, 1, 12, 0, 0, 5)
    ts = firestore_values.datetime_to_timestamp(naive)
    assert (ts.seconds, ts.nanos) == (1577880000, 5000)
    ts.nanos = 5999
    assert firestore_values.timestamp_to_datetime(ts).microsecond == 5


def test_firestore_refuses_what_it_cannot_store() -> None:
    with pytest.raises(ValidationFailed) as caught:
        firestore_values.encode_fields({"n": 2**63}, database=DATABASE, path="c/d")
    assert caught.value.path == "c/d" and caught.value.field == "n"
    with pytest.raises(ValidationFailed) as caught:
        firestore_values.encode_fields({"grid": [[1]]}, database=DATABASE, path="c/d")
    assert caught.value.field == "grid.0"


def test_rtdb_round_trip_is_faithful() -> None:
    original = sample()
    assert rtdb_round_trip(original) == original
    sparse = original.model_copy(update={"released": None, "tags": [], "attrs": {}})
    assert rtdb_round_trip(sparse) == sparse


def test_rtdb_json_forms() -> None:
    encoded = rtdb_json.encode_value(dump_document(sample()))
    assert encoded["created"] == "2024-05-01T12:00:00.123456Z"
    assert encoded["photo"] == "AP9wbmc="
    assert encoded["where"] == {"latitude": 48.85, "longitude": 2.35}
    assert encoded["maker"] == "makers/acme"
    assert encoded["dims"]["raw"] == "AQI="
    assert encoded["price"] == "19.990"


def test_rtdb_datetimes_sort_as_text() -> None:
    early = rtdb_json.encode_datetime(dt.datetime(2024, 1, 1, 0, 0, 5))
    late = rtdb_json.encode_datetime(dt.datetime(2024, 1, 1, 0, 0, 5, 100000))
    assert early < late and len(early) == len(late)


def test_rtdb_server_timestamp_milliseconds_load() -> None:
    data = {"name": "x", "price": "1", "created": 1714564800123}
    product = load_document(Product, "p", rtdb_json.restore_for_model(Product, data))
    assert product.created == dt.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=dt.UTC)


def test_rtdb_sparse_array_object_becomes_list() -> None:
    class Row(Document):
        cells: list[int | None]

    restored = rtdb_json.restore_for_model(Row, {"cells": {"0": 1, "2": 3}})
    assert load_document(Row, "r", restored).cells == [1, None, 3]


@pytest.mark.parametrize("key", ["a.b", "a/b", "$x", "a#", "[", "", "tab\there", "x" * 769])
def test_rtdb_invalid_keys_are_refused_with_field(key: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        rtdb_json.encode_value({"attrs": {key: 1}}, path="/products/p1")
    assert caught.value.path == "/products/p1"
    assert caught.value.field == f"attrs.{key}"


def test_rtdb_refuses_nan() -> None:
    with pytest.raises(ValidationFailed, match="NaN"):
        rtdb_json.encode_value({"x": float("nan")})


def test_invalid_stored_data_names_document_and_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        load_document(Product, "p1", {"name": "x", "price": "cheap"}, path="products/p1")
    error = caught.value
    assert error.path == "products/p1"
    assert error.field == "price"
    assert {field for field, _ in error.errors} == {"price", "created"}
    assert "products/p1" in str(error)


def test_unstorable_python_value_names_field() -> None:
    class Odd(Document):
        thing: Any

    with pytest.raises(ValidationFailed) as caught:
        dump_document(Odd(thing={"deep": object()}), path="odd/1")
    assert caught.value.field == "thing.deep"


aware = st.datetimes(
    min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=st.just(dt.UTC)
)


@given(aware)
def test_datetimes_round_trip_both_codecs(moment: dt.datetime) -> None:
    ts = firestore_values.datetime_to_timestamp(moment)
    assert firestore_values.timestamp_to_datetime(ts) == moment
    assert rtdb_json.decode_datetime(rtdb_json.encode_datetime(moment)) == moment


json_leaf = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=5)
plain = st.recursive(
    json_leaf | st.binary(max_size=5) | aware,
    lambda inner: (
        st.lists(inner.filter(lambda v: not isinstance(v, list)), max_size=3)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=4), plain, max_size=4))
def test_firestore_plain_values_round_trip(data: dict[str, Any]) -> None:
    fields = firestore_values.encode_fields(data, database=DATABASE)
    assert firestore_values.decode_fields(fields, database=DATABASE) == data
