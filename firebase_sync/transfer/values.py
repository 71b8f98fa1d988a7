"""Firestore ``Value`` protobufs to JSON and back, losing nothing.

JSON types map to themselves (null, booleans, strings, arrays, maps; integers as JSON integers,
doubles always written with a fraction or exponent so they read back as doubles). What JSON
cannot say is written as an object with one ``$``-tagged member:

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

References are stored relative so that an export can be imported into another project.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from google.cloud.firestore_v1.types import document as document_types
from google.protobuf import struct_pb2

from ..errors import ValidationFailed

__all__ = ["TAGS", "fields_from_json", "fields_to_json", "value_from_json", "value_to_json"]

ValuePb: Any = document_types.Value.pb()
TAGS = frozenset({"$timestamp", "$bytes", "$geopoint", "$reference", "$double", "$map"})
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def fields_to_json(fields: Mapping[str, Any], *, database: str) -> dict[str, Any]:
    """A document's ``fields`` map as JSON; ``database`` is ``projects/P/databases/D``."""
    prefix = f"{database}/documents/"
    return {key: _to_json(fields[key], prefix) for key in sorted(fields)}


def value_to_json(value: Any, *, database: str) -> Any:
    return _to_json(value, f"{database}/documents/")


def _to_json(value: Any, prefix: str) -> Any:
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
        fields = value.map_value.fields
        out = {key: _to_json(fields[key], prefix) for key in sorted(fields)}
        return {"$map": out} if len(out) == 1 and next(iter(out)) in TAGS else out
    if kind == "array_value":
        return [_to_json(item, prefix) for item in value.array_value.values]
    if kind == "timestamp_value":
        stamp = value.timestamp_value
        return {"$timestamp": format_timestamp(stamp.seconds, stamp.nanos)}
    if kind == "bytes_value":
        return {"$bytes": base64.b64encode(value.bytes_value).decode("ascii")}
    if kind == "reference_value":
        name: str = value.reference_value
        return {"$reference": name[len(prefix) :] if name.startswith(prefix) else "/" + name}
    if kind == "geo_point_value":
        return {"$geopoint": [value.geo_point_value.latitude, value.geo_point_value.longitude]}
    return None  # null_value, or no value at all


def fields_from_json(data: Mapping[str, Any], *, database: str, path: str) -> dict[str, Any]:
    """The ``fields`` map (name -> ``Value`` protobuf) for a document's JSON fields.

    Raises :class:`ValidationFailed` naming ``path`` and the field for malformed values.
    """
    prefix = f"{database}/documents/"
    return {key: _from_json(item, prefix, path, key) for key, item in data.items()}


def value_from_json(data: Any, *, database: str, path: str = "", field: str = "") -> Any:
    return _from_json(data, f"{database}/documents/", path, field)


def _from_json(data: Any, prefix: str, path: str, field: str) -> Any:
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
            values.append(_from_json(item, prefix, path, f"{field}.{index}"))
        out.array_value.SetInParent()
    elif isinstance(data, dict):
        if len(data) == 1 and next(iter(data)) in TAGS:
            _tagged(out, *next(iter(data.items())), prefix, path, field)
        else:
            fields = out.map_value.fields
            for key, item in data.items():
                fields[key].CopyFrom(_from_json(item, prefix, path, f"{field}.{key}"))
            out.map_value.SetInParent()
    else:
        raise ValidationFailed(f"not a JSON value: {type(data).__name__}", path=path, field=field)
    return out


def _tagged(out: Any, tag: str, data: Any, prefix: str, path: str, field: str) -> None:
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
            out.reference_value = data[1:] if data.startswith("/") else prefix + data
        elif tag == "$double":
            out.double_value = _NON_FINITE[data]
        else:  # "$map"
            fields = out.map_value.fields
            for key, item in data.items():
                fields[key].CopyFrom(_from_json(item, prefix, path, f"{field}.{key}"))
            out.map_value.SetInParent()
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
