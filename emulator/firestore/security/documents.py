"""Stored Firestore values (protobuf ``Value``) as rules values."""

from __future__ import annotations

from typing import Any

from . import types as t


def rules_value(value: Any) -> Any:
    """One ``google.firestore.v1.Value`` as the rules language sees it."""
    kind = value.WhichOneof("value_type")
    if kind is None or kind == "null_value":
        return None
    if kind == "boolean_value":
        return bool(value.boolean_value)
    if kind == "integer_value":
        return int(value.integer_value)
    if kind == "double_value":
        return float(value.double_value)
    if kind == "string_value":
        return str(value.string_value)
    if kind == "bytes_value":
        return bytes(value.bytes_value)
    if kind == "timestamp_value":
        ts = value.timestamp_value
        return t.Timestamp(int(ts.seconds) * t.NS_PER_S + int(ts.nanos))
    if kind == "geo_point_value":
        return t.LatLng(value.geo_point_value.latitude, value.geo_point_value.longitude)
    if kind == "reference_value":
        parts = str(value.reference_value).split("/")
        return t.RulesPath(tuple(parts[2:]))  # drop "projects/<p>"
    if kind == "array_value":
        return [rules_value(v) for v in value.array_value.values]
    if kind == "map_value":
        return fields_map(value.map_value.fields)
    return None


def fields_map(fields: Any) -> dict[str, Any]:
    """A document's (or map's) fields as a rules map."""
    return {key: rules_value(fields[key]) for key in fields}


def document_path(name: str) -> tuple[str, str, tuple[str, ...]]:
    """``projects/p/databases/d/documents/a/b`` -> (project, database, ("a", "b"))."""
    parts = name.split("/")
    return parts[1], parts[3], tuple(parts[5:])
