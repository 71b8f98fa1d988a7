"""The Firestore value codec: every conversion of a Firestore value the kit makes, in one place.

Three forms of the same values, each converted to and from the ``google.firestore.v1.Value``
protobuf (raw protobuf, not proto-plus) by one pair of functions:

* **plain data** (what :func:`~firebase_sync._wire.documents.dump_document` makes and
  :func:`~firebase_sync._wire.documents.load_document` reads): :func:`encode_value` /
  :func:`decode_value`. Listening decodes with it.
* **the client library's values** (what google-cloud-firestore writes and reads: its
  ``GeoPoint``, ``DocumentReference``, ``DatetimeWithNanoseconds``): :func:`to_client` /
  :func:`from_client`. Writes, ``get`` and queries go through the client, and these two are
  defined so that the client's own conversion of their result is exactly :func:`encode_value`
  and :func:`decode_value` (property-tested): ``get`` and a listener give identical values.
* **lossless JSON** (export / import files): :func:`value_to_json` / :func:`value_from_json`.

The rules they share: timestamps keep microseconds in plain data (Firestore's precision; finer
nanoseconds are rounded down) and nanoseconds in JSON; a reference is a path relative to the
database root, so a reference into another database cannot be read as a
:class:`~firebase_sync.models.Reference` (the client library refuses it too; JSON keeps its full
name); directly nested arrays and integers outside int64 are refused, as Firestore refuses them.

JSON types map to themselves (doubles always written with a fraction or exponent so they read
back as doubles); what JSON cannot say is an object with one ``$``-tagged member:

==================  =====================================================================
``$timestamp``      RFC 3339 in UTC with nine fraction digits: ``"2024-05-01T12:00:00.123456789Z"``
``$bytes``          standard base64
``$geopoint``       ``[latitude, longitude]``
``$reference``      the document path relative to the database root (``"users/u1"``); a
                    reference into another database keeps its full name after a ``/``
                    (``"/projects/p/databases/d/documents/users/u1"``)
``$double``         ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``
``$map``            a map that would itself look tagged (one member named like a tag)
==================  =====================================================================
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from google.cloud.firestore_v1 import (
    ArrayRemove,
    ArrayUnion,
    Maximum,
    Minimum,
    transforms,
)
from google.cloud.firestore_v1 import GeoPoint as ClientGeoPoint
from google.cloud.firestore_v1 import Increment as ClientIncrement
from google.cloud.firestore_v1.base_document import BaseDocumentReference
from google.cloud.firestore_v1.types import document as document_types
from google.protobuf import struct_pb2, timestamp_pb2

from ..errors import ValidationFailed
from ..models import GeoPoint, Increment, Reference
from .documents import utc

if TYPE_CHECKING:
    from google.cloud.firestore_v1.async_client import AsyncClient

__all__ = [
    "TAGS",
    "DocumentPb",
    "ValuePb",
    "datetime_to_timestamp",
    "decode_fields",
    "decode_value",
    "encode_fields",
    "encode_value",
    "fields_from_json",
    "fields_to_json",
    "format_timestamp",
    "from_client",
    "is_transform",
    "parse_timestamp",
    "timestamp_to_datetime",
    "to_client",
    "value_from_json",
    "value_to_json",
]

ValuePb: Any = document_types.Value.pb()
DocumentPb: Any = document_types.Document.pb()
TAGS = frozenset({"$timestamp", "$bytes", "$geopoint", "$reference", "$double", "$map"})
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
# The client library's server-side values: passed through to it untouched.
_CLIENT_TRANSFORMS = (
    transforms.Sentinel,
    ArrayUnion,
    ArrayRemove,
    ClientIncrement,
    Maximum,
    Minimum,
)


def _documents(database: str) -> str:
    return f"{database}/documents/"


# -- references and timestamps: the rules every form shares ------------------------------------


def reference_name(path: str, database: str) -> str:
    """The full resource name of the document at ``path`` (relative to the database root)."""
    return _documents(database) + path


def reference_path(name: str, database: str) -> str | None:
    """The path relative to the database root of the document ``name``; ``None`` when the
    name is in another database."""
    prefix = _documents(database)
    return name[len(prefix) :] if name.startswith(prefix) else None


def datetime_to_timestamp(value: dt.datetime) -> Any:
    """A protobuf Timestamp with the datetime's exact microseconds (naive = UTC)."""
    delta = utc(value) - _EPOCH
    seconds = delta.days * 86400 + delta.seconds
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=delta.microseconds * 1000)


def timestamp_to_datetime(value: Any) -> dt.datetime:
    """A UTC-aware datetime from a protobuf Timestamp (nanoseconds rounded down to micros)."""
    return _EPOCH + dt.timedelta(seconds=value.seconds, microseconds=value.nanos // 1000)


# -- plain data <-> protobuf ---------------------------------------------------------------------


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
        out.reference_value = reference_name(value.path, database)
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


def decode_fields(
    fields: Mapping[str, Any], *, database: str, path: str | None = None
) -> dict[str, Any]:
    """Decode a document's ``fields`` map into plain data (raises ValidationFailed naming
    ``path`` and the top-level field)."""
    out = {}
    for key, value in fields.items():
        try:
            out[key] = decode_value(value, database=database)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, path=path, field=key) from exc
    return out


def decode_value(value: Any, *, database: str) -> Any:
    """Decode one ``Value`` protobuf into plain data (raises ValidationFailed)."""
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
        fields = value.map_value.fields
        return {key: decode_value(item, database=database) for key, item in fields.items()}
    if kind == "array_value":
        return [decode_value(item, database=database) for item in value.array_value.values]
    if kind == "timestamp_value":
        return timestamp_to_datetime(value.timestamp_value)
    if kind == "null_value" or kind is None:
        return None
    if kind == "bytes_value":
        return bytes(value.bytes_value)
    if kind == "reference_value":
        relative = reference_path(value.reference_value, database)
        if relative is None:
            raise ValidationFailed(
                f"a reference into another database: {value.reference_value}", path=None
            )
        return Reference(relative)
    if kind == "geo_point_value":
        return GeoPoint(value.geo_point_value.latitude, value.geo_point_value.longitude)
    raise ValidationFailed(f"unsupported Firestore value kind {kind}", path=None)


# -- plain data <-> the client library's values --------------------------------------------------


def is_transform(value: Any) -> bool:
    """A server-side value: the kit's :class:`~firebase_sync.models.Increment`, or one of the
    client library's (``DELETE_FIELD``, ``SERVER_TIMESTAMP``, ``ArrayUnion``...)."""
    return isinstance(value, (Increment, *_CLIENT_TRANSFORMS))


def to_client(value: Any, client: AsyncClient) -> Any:
    """Plain data (or a transform) as the values the client library writes, such that its
    encoding of them is :func:`encode_value`'s."""
    if isinstance(value, Increment):
        return ClientIncrement(value.by)
    if isinstance(value, GeoPoint):
        return ClientGeoPoint(value.latitude, value.longitude)
    if isinstance(value, Reference):
        return client.document(value.path)
    if isinstance(value, Mapping):
        return {key: to_client(item, client) for key, item in value.items()}
    if isinstance(value, list):
        return [to_client(item, client) for item in value]
    return value


def from_client(value: Any) -> Any:
    """The client library's decoded values as plain data: :func:`decode_value`'s result for
    the same protobuf."""
    if isinstance(value, ClientGeoPoint):
        return GeoPoint(value.latitude, value.longitude)
    if isinstance(value, BaseDocumentReference):
        return Reference(value.path)
    if isinstance(value, dt.datetime):
        # DatetimeWithNanoseconds -> a plain datetime, microseconds kept, always UTC.
        plain = dt.datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=value.tzinfo or dt.UTC,
        )
        return plain.astimezone(dt.UTC)
    if isinstance(value, Mapping):
        return {key: from_client(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_client(item) for item in value]
    return value


# -- protobuf <-> lossless JSON ------------------------------------------------------------------


def fields_to_json(fields: Mapping[str, Any], *, database: str) -> dict[str, Any]:
    """A document's ``fields`` map as JSON; ``database`` is ``projects/P/databases/D``."""
    return {key: value_to_json(fields[key], database=database) for key in sorted(fields)}


def value_to_json(value: Any, *, database: str) -> Any:
    """One ``Value`` protobuf as JSON, losing nothing."""
    kind = value.WhichOneof("value_type")
    if kind == "string_value":
        return value.string_value
    if kind == "integer_value":
        return value.integer_value
    if kind == "double_value":
        number = value.double_value
        if math.isfinite(number):
            return number
        if math.isnan(number):
            return {"$double": "NaN"}
        return {"$double": "Infinity" if number > 0 else "-Infinity"}
    if kind == "boolean_value":
        return value.boolean_value
    if kind == "map_value":
        out = fields_to_json(value.map_value.fields, database=database)
        return {"$map": out} if len(out) == 1 and next(iter(out)) in TAGS else out
    if kind == "array_value":
        return [value_to_json(item, database=database) for item in value.array_value.values]
    if kind == "timestamp_value":
        stamp = value.timestamp_value
        return {"$timestamp": format_timestamp(stamp.seconds, stamp.nanos)}
    if kind == "bytes_value":
        return {"$bytes": base64.b64encode(value.bytes_value).decode("ascii")}
    if kind == "reference_value":
        name: str = value.reference_value
        relative = reference_path(name, database)
        return {"$reference": "/" + name if relative is None else relative}
    if kind == "geo_point_value":
        return {"$geopoint": [value.geo_point_value.latitude, value.geo_point_value.longitude]}
    return None  # null_value, or no value at all


def fields_from_json(data: Mapping[str, Any], *, database: str, path: str) -> dict[str, Any]:
    """The ``fields`` map (name -> ``Value`` protobuf) for a document's JSON fields.

    Raises :class:`ValidationFailed` naming ``path`` and the field for malformed values.
    """
    return {
        key: value_from_json(item, database=database, path=path, field=key)
        for key, item in data.items()
    }


def value_from_json(data: Any, *, database: str, path: str = "", field: str = "") -> Any:
    """The ``Value`` protobuf for one JSON value (raises ValidationFailed)."""
    out = ValuePb()
    if data is None:
        out.null_value = struct_pb2.NULL_VALUE
    elif isinstance(data, bool):
        out.boolean_value = data
    elif isinstance(data, int):
        out.integer_value = data
    elif isinstance(data, float):
        out.double_value = data
    elif isinstance(data, str):
        out.string_value = data
    elif isinstance(data, list):
        values = out.array_value.values
        for index, item in enumerate(data):
            values.append(
                value_from_json(item, database=database, path=path, field=f"{field}.{index}")
            )
        out.array_value.SetInParent()
    elif isinstance(data, dict):
        if len(data) == 1 and next(iter(data)) in TAGS:
            _tagged(out, *next(iter(data.items())), database, path, field)
        else:
            _map_from_json(out, data, database, path, field)
    else:
        raise ValidationFailed(f"not a JSON value: {type(data).__name__}", path=path, field=field)
    return out


def _map_from_json(out: Any, data: Mapping[str, Any], database: str, path: str, field: str) -> None:
    fields = out.map_value.fields
    for key, item in data.items():
        fields[key].CopyFrom(
            value_from_json(item, database=database, path=path, field=f"{field}.{key}")
        )
    out.map_value.SetInParent()


def _tagged(out: Any, tag: str, data: Any, database: str, path: str, field: str) -> None:
    try:
        if tag == "$timestamp":
            seconds, nanos = parse_timestamp(data)
            out.timestamp_value.seconds = seconds
            out.timestamp_value.nanos = nanos
        elif tag == "$bytes":
            out.bytes_value = base64.b64decode(data, validate=True)
        elif tag == "$geopoint":
            latitude, longitude = data
            out.geo_point_value.latitude = float(latitude)
            out.geo_point_value.longitude = float(longitude)
        elif tag == "$reference":
            full = data.startswith("/")
            out.reference_value = data[1:] if full else reference_name(data, database)
        elif tag == "$double":
            out.double_value = _NON_FINITE[data]
        else:  # "$map"
            _map_from_json(out, data, database, path, field)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ValidationFailed(f"malformed {tag} value: {exc}", path=path, field=field) from exc


def format_timestamp(seconds: int, nanos: int) -> str:
    """RFC 3339, UTC, nine fraction digits."""
    moment = _EPOCH + dt.timedelta(seconds=seconds)
    # Not strftime: its %Y drops the zero padding of years before 1000 on glibc.
    day = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    return f"{day}T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{nanos:09d}Z"


def parse_timestamp(text: str) -> tuple[int, int]:
    """(seconds, nanos) from an RFC 3339 UTC timestamp (any number of fraction digits)."""
    if not text.endswith("Z"):
        raise ValueError(f"not a UTC timestamp: {text!r}")
    head, _, fraction = text[:-1].partition(".")
    moment = dt.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC)
    if not fraction.isdigit() and fraction:
        raise ValueError(f"bad fraction in {text!r}")
    delta = moment - _EPOCH
    return delta.days * 86400 + delta.seconds, int((fraction or "0").ljust(9, "0")[:9])
