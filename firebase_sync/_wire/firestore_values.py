"""Plain data to Firestore ``Value`` protobufs and back (raw protobuf, not proto-plus).

Timestamps keep microseconds (Firestore's precision; finer nanoseconds are rounded down);
references are stored with the full resource name and read back relative to the database
root. Directly nested arrays and integers outside int64 are refused, as Firestore refuses them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from google.cloud.firestore_v1.types import document as document_types
from google.protobuf import struct_pb2, timestamp_pb2

from ..errors import ValidationFailed
from ..models import GeoPoint, Reference
from .documents import utc

__all__ = [
    "ValuePb",
    "DocumentPb",
    "decode_fields",
    "decode_value",
    "encode_fields",
    "encode_value",
    "timestamp_to_datetime",
]

ValuePb: Any = document_types.Value.pb()
DocumentPb: Any = document_types.Document.pb()
_MapValuePb: Any = document_types.MapValue.pb()
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def encode_fields(
    data: Mapping[str, Any], *, database: str, path: str | None = None
) -> dict[str, Any]:
    """Encode a document's plain fields; ``database`` is ``projects/P/databases/D``."""
    return {
        key: encode_value(value, database=database, path=path, field=key)
        for key, value in data.items()
    }


def encode_value(
    value: Any, *, database: str, path: str | None = None, field: str = "", in_array: bool = False
) -> Any:
    """Encode one plain value as a ``google.firestore.v1.Value`` protobuf."""
    out = ValuePb()
    if value is None:
        out.null_value = struct_pb2.NULL_VALUE
    elif isinstance(value, bool):
        out.boolean_value = value
    elif isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValidationFailed("integer out of the int64 range", path=path, field=field)
        out.integer_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, bytes):
        out.bytes_value = value
    elif isinstance(value, dt.datetime):
        out.timestamp_value.CopyFrom(datetime_to_timestamp(value))
    elif isinstance(value, GeoPoint):
        out.geo_point_value.latitude = value.latitude
        out.geo_point_value.longitude = value.longitude
    elif isinstance(value, Reference):
        out.reference_value = f"{database}/documents/{value.path}"
    elif isinstance(value, Mapping):
        fields = out.map_value.fields
        for key, item in value.items():
            child = f"{field}.{key}" if field else str(key)
            fields[key].CopyFrom(encode_value(item, database=database, path=path, field=child))
        out.map_value.SetInParent()
    elif isinstance(value, list):
        if in_array:
            raise ValidationFailed("arrays cannot directly contain arrays", path=path, field=field)
        values = out.array_value.values
        for index, item in enumerate(value):
            values.append(
                encode_value(
                    item, database=database, path=path, field=f"{field}.{index}", in_array=True
                )
            )
        out.array_value.SetInParent()
    else:
        raise ValidationFailed(
            f"cannot store a value of type {type(value).__name__}", path=path, field=field
        )
    return out


def decode_fields(fields: Mapping[str, Any], *, database: str) -> dict[str, Any]:
    """Decode a document's ``fields`` map into plain data."""
    return {key: decode_value(value, database=database) for key, value in fields.items()}


def decode_value(value: Any, *, database: str) -> Any:
    """Decode one ``Value`` protobuf into plain data."""
    kind = value.WhichOneof("value_type")
    if kind == "string_value":
        return value.string_value
    if kind == "integer_value":
        return value.integer_value
    if kind == "double_value":
        return value.double_value
    if kind == "boolean_value":
        return value.boolean_value
    if kind == "map_value":
        return decode_fields(value.map_value.fields, database=database)
    if kind == "array_value":
        return [decode_value(item, database=database) for item in value.array_value.values]
    if kind == "timestamp_value":
        return timestamp_to_datetime(value.timestamp_value)
    if kind == "null_value" or kind is None:
        return None
    if kind == "bytes_value":
        return bytes(value.bytes_value)
    if kind == "reference_value":
        return _decode_reference(value.reference_value, database)
    if kind == "geo_point_value":
        return GeoPoint(value.geo_point_value.latitude, value.geo_point_value.longitude)
    raise ValidationFailed(f"unsupported Firestore value kind {kind}", path=None)


def datetime_to_timestamp(value: dt.datetime) -> Any:
    """A protobuf Timestamp with the datetime's exact microseconds (naive = UTC)."""
    delta = utc(value) - _EPOCH
    seconds = delta.days * 86400 + delta.seconds
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=delta.microseconds * 1000)


def timestamp_to_datetime(value: Any) -> dt.datetime:
    """A UTC-aware datetime from a protobuf Timestamp (nanoseconds rounded down to micros)."""
    return _EPOCH + dt.timedelta(seconds=value.seconds, microseconds=value.nanos // 1000)


def _decode_reference(name: str, database: str) -> Reference | str:
    prefix = f"{database}/documents/"
    if name.startswith(prefix):
        return Reference(name[len(prefix) :])
    # A reference into another database: keep the full name rather than lose it.
    return name
