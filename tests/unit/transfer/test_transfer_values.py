"""The lossless JSON mapping of Firestore values used by export / import."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from firebase_sync._wire.firestore_values import (
    format_timestamp,
    parse_timestamp,
    value_from_json,
    value_to_json,
)
from firebase_sync.errors import ValidationFailed

DB = "projects/p/databases/(default)"


def round_trip(data: Any) -> Any:
    """JSON -> Value -> JSON text -> JSON: what an import followed by an export gives."""
    value = value_from_json(data, database=DB)
    return json.loads(json.dumps(value_to_json(value, database=DB)))


@pytest.mark.parametrize(
    "data",
    [
        None,
        True,
        0,
        -(2**63),
        2**63 - 1,
        1.0,
        -0.0,
        1e300,
        "text",
        "",
        [1, "a", None, {"x": [2.5]}],
        {},
        {"a": {"b": {"c": 1}}},
        {"$timestamp": "0001-01-01T00:00:00.000000000Z"},
        {"$timestamp": "9999-12-31T23:59:59.999999999Z"},
        {"$bytes": "AP8="},
        {"$geopoint": [-90.0, 180.0]},
        {"$reference": "users/u1/orders/o1"},
        {"$reference": "/projects/other/databases/(default)/documents/users/u1"},
        {"$double": "NaN"},
        {"$double": "-Infinity"},
        {"$map": {"$bytes": "a map, not bytes"}},
        {"$bytes": "AA==", "other": 1},  # two members: an ordinary map
    ],
)
def test_round_trip_is_exact(data: Any) -> None:
    assert round_trip(data) == data


def test_integers_and_doubles_stay_apart() -> None:
    assert value_from_json(1, database=DB).WhichOneof("value_type") == "integer_value"
    assert value_from_json(1.0, database=DB).WhichOneof("value_type") == "double_value"
    assert json.dumps(round_trip(1.0)) == "1.0"


def test_special_values_decode_to_their_kinds() -> None:
    nan = value_from_json({"$double": "NaN"}, database=DB)
    assert math.isnan(nan.double_value)
    ref = value_from_json({"$reference": "users/u1"}, database=DB)
    assert ref.reference_value == f"{DB}/documents/users/u1"
    stamp = value_from_json({"$timestamp": "2024-05-01T12:00:00.5Z"}, database=DB)
    assert (stamp.timestamp_value.nanos, format_timestamp(0, 7)) == (
        500_000_000,
        "1970-01-01T00:00:00.000000007Z",
    )
    assert parse_timestamp("1969-12-31T23:59:59.000000001Z") == (-1, 1)


@pytest.mark.parametrize(
    "bad",
    [
        {"$timestamp": "2024-05-01 12:00:00"},
        {"$bytes": "not base64!"},
        {"$geopoint": [1.0]},
        {"$double": "huge"},
        {"$reference": 5},
    ],
)
def test_malformed_tagged_values_name_the_field(bad: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        value_from_json({"f": bad}, database=DB, path="c/d", field="top")
    assert caught.value.path == "c/d" and caught.value.field == "top.f"
