"""Firestore values: total ordering, equality, field paths, and production limits.

Values are the raw protobuf ``google.firestore.v1.Value`` messages the client ships; they *are*
Firestore's data model, so state keeps them rather than converting to a parallel Python tree.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, MutableMapping, Sequence
from typing import Any

from emulator.errors import invalid
from emulator.firestore.protos import document as _document

Value: Any = _document.Value.pb()
MapValue: Any = _document.MapValue.pb()
ArrayValue: Any = _document.ArrayValue.pb()
Document: Any = _document.Document.pb()

FieldPath = tuple[str, ...]
Fields = MutableMapping[str, Any]

# Production limits (https://cloud.google.com/firestore/quotas).
MAX_DOCUMENT_BYTES = 1_048_576
MAX_FIELD_PATH_BYTES = 1_500
MAX_DEPTH = 20
MAX_NAME_BYTES = 6 * 1024
MAX_REQUEST_BYTES = 10 * 1024 * 1024
MAX_TRANSFORMS_PER_DOCUMENT = 500

_RANK = {
    "null_value": 0,
    "boolean_value": 1,
    "integer_value": 2,
    "double_value": 2,
    "timestamp_value": 3,
    "string_value": 4,
    "bytes_value": 5,
    "reference_value": 6,
    "geo_point_value": 7,
    "array_value": 8,
    "map_value": 10,
}
_VECTOR_RANK = 9
_STORABLE = frozenset(_RANK)
_ONES = itertools.repeat(1)
_LEGACY_ID = re.compile(r"__id(-?\d+)__")
_SIMPLE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_RESERVED = re.compile(r"__.*__", re.DOTALL)
#: Map keys the official clients use for special types (vectors, Enterprise BSON types): they
#: match ``__.*__`` but production stores them, so they are exempt from the reserved-name rule.
VECTOR_TYPE_KEY = "__type__"
BSON_KEYS = frozenset({"__min__", "__max__", "__oid__", "__int__", "__decimal128__",
                       "__binary__", "__request_timestamp__", "__regex__"})
CONVENTION_KEYS = BSON_KEYS | {VECTOR_TYPE_KEY}
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def kind(v: Any) -> str | None:
    """The name of the set oneof member, or None for an empty Value."""
    k: str | None = v.WhichOneof("value_type")
    return k


def is_vector(v: Any) -> bool:
    fields = v.map_value.fields
    t = fields.get("__type__")
    return t is not None and t.WhichOneof("value_type") == "string_value" and (
        t.string_value == "__vector__"
    )


def type_rank(v: Any) -> int:
    """Position of the value's type class in Firestore's cross-type order."""
    k = kind(v)
    if k is None or k not in _RANK:
        raise invalid(f"unsupported value type {k!r}")
    if k == "map_value" and is_vector(v):
        return _VECTOR_RANK
    return _RANK[k]


def is_number(v: Any) -> bool:
    return kind(v) in ("integer_value", "double_value")


def is_nan(v: Any) -> bool:
    return kind(v) == "double_value" and math.isnan(v.double_value)


def number(v: Any) -> int | float:
    if kind(v) == "integer_value":
        return int(v.integer_value)
    return float(v.double_value)


def _cmp(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


def _cmp_numbers(a: int | float, b: int | float) -> int:
    a_nan = isinstance(a, float) and math.isnan(a)
    b_nan = isinstance(b, float) and math.isnan(b)
    if a_nan or b_nan:
        return 0 if a_nan and b_nan else (-1 if a_nan else 1)
    # Python compares int with float exactly (2**53 + 1 > 2.0**53), which is what we need.
    return _cmp(a, b)


def _segment_key(segment: str) -> tuple[int, int | str]:
    if not segment.startswith("__id"):
        return (1, segment)
    m = _LEGACY_ID.fullmatch(segment)
    if m:
        return (0, int(m.group(1)))
    return (1, segment)


def compare_names(a: str, b: str) -> int:
    """Compare resource names segment by segment; legacy ``__id<n>__`` IDs sort first."""
    sa, sb = a.split("/"), b.split("/")
    for x, y in zip(sa, sb, strict=False):
        if x != y:
            return _cmp(_segment_key(x), _segment_key(y))
    return _cmp(len(sa), len(sb))


def compare(a: Any, b: Any) -> int:
    """Firestore's total order over values: -1, 0 or 1."""
    ra, rb = type_rank(a), type_rank(b)
    if ra != rb:
        return -1 if ra < rb else 1
    k = kind(a)
    if ra == 0:
        return 0
    if ra == 1:
        return _cmp(a.boolean_value, b.boolean_value)
    if ra == 2:
        return _cmp_numbers(number(a), number(b))
    if k == "timestamp_value":
        ta, tb = a.timestamp_value, b.timestamp_value
        return _cmp((ta.seconds, ta.nanos), (tb.seconds, tb.nanos))
    if k == "string_value":
        return _cmp(a.string_value, b.string_value)
    if k == "bytes_value":
        return _cmp(a.bytes_value, b.bytes_value)
    if k == "reference_value":
        return compare_names(a.reference_value, b.reference_value)
    if k == "geo_point_value":
        ga, gb = a.geo_point_value, b.geo_point_value
        c = _cmp_numbers(ga.latitude, gb.latitude)
        return c or _cmp_numbers(ga.longitude, gb.longitude)
    if k == "array_value":
        return _compare_arrays(a.array_value.values, b.array_value.values)
    if ra == _VECTOR_RANK:
        va = a.map_value.fields["value"].array_value.values
        vb = b.map_value.fields["value"].array_value.values
        return _cmp(len(va), len(vb)) or _compare_arrays(va, vb)
    return _compare_maps(a.map_value.fields, b.map_value.fields)


def name_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key that orders resource names as ``compare_names`` does."""
    if "__id" not in name:  # no legacy numeric ID: every segment is (1, segment), built in C
        return tuple(zip(_ONES, name.split("/"), strict=False))
    return tuple(_segment_key(s) for s in name.split("/"))


def _number_key(x: int | float) -> tuple[int, int | float]:
    # NaN sorts first; Python orders int against float exactly and -0.0 == 0.0.
    return (0, 0) if isinstance(x, float) and math.isnan(x) else (1, x)


def sort_key(v: Any) -> tuple[Any, ...]:
    """A sort key that orders values as ``compare`` does (C-speed ``list.sort``)."""
    k = v.WhichOneof("value_type")
    if k == "integer_value":  # the common scalars first, without the general dispatch
        return (2, (1, v.integer_value))
    if k == "string_value":
        return (4, v.string_value)
    if k == "double_value":
        x = v.double_value
        return (2, (0, 0) if x != x else (1, x))
    rank = type_rank(v)
    k = kind(v)
    if rank == 0:
        return (0,)
    if rank == 1:
        return (1, v.boolean_value)
    if rank == 2:
        return (2, _number_key(number(v)))
    if k == "timestamp_value":
        return (3, v.timestamp_value.seconds, v.timestamp_value.nanos)
    if k == "string_value":
        return (4, v.string_value)
    if k == "bytes_value":
        return (5, v.bytes_value)
    if k == "reference_value":
        return (6, name_key(v.reference_value))
    if k == "geo_point_value":
        g = v.geo_point_value
        return (7, _number_key(g.latitude), _number_key(g.longitude))
    if k == "array_value":
        return (8, tuple(sort_key(x) for x in v.array_value.values))
    if rank == _VECTOR_RANK:
        values = v.map_value.fields["value"].array_value.values
        return (9, len(values), tuple(sort_key(x) for x in values))
    fields = v.map_value.fields
    return (10, tuple((key, sort_key(fields[key])) for key in sorted(fields)))


def _compare_arrays(va: Sequence[Any], vb: Sequence[Any]) -> int:
    for x, y in zip(va, vb, strict=False):
        c = compare(x, y)
        if c:
            return c
    return _cmp(len(va), len(vb))


def _compare_maps(fa: Fields, fb: Fields) -> int:
    for ka, kb in zip(sorted(fa), sorted(fb), strict=False):
        if ka != kb:
            return _cmp(ka, kb)
        c = compare(fa[ka], fb[kb])
        if c:
            return c
    return _cmp(len(fa), len(fb))


def query_equal(a: Any, b: Any) -> bool:
    """Equality as filters and cursors see it: numeric (1 == 1.0), NaN equals nothing."""
    if is_nan(a) or is_nan(b):
        return False
    return type_rank(a) == type_rank(b) and compare(a, b) == 0


def transform_equal(a: Any, b: Any) -> bool:
    """Equality for array union/remove: numeric, and NaN equals NaN."""
    return type_rank(a) == type_rank(b) and compare(a, b) == 0


# ---------------------------------------------------------------- field paths


def parse_field_path(text: str) -> FieldPath:
    """Split a dotted field path, honouring backtick-quoted segments and their escapes."""
    if not text:
        raise invalid("field path must not be empty")
    if len(text.encode()) > MAX_FIELD_PATH_BYTES:
        raise invalid(f"field path exceeds the maximum size of {MAX_FIELD_PATH_BYTES} bytes")
    parts: list[str] = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == "`":
            buf: list[str] = []
            i += 1
            while i < n and text[i] != "`":
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(text[i])
                i += 1
            if i >= n:
                raise invalid(f"unterminated backtick in field path {text!r}")
            i += 1
            if not buf:  # production: "``" names no field
                raise invalid(f"invalid field path {text!r}: empty quoted segment")
            parts.append("".join(buf))
        else:
            j = text.find(".", i)
            j = n if j < 0 else j
            segment = text[i:j]
            if not segment or "`" in segment:
                raise invalid(f"invalid field path {text!r}")
            parts.append(segment)
            i = j
        if i == n:
            break
        if text[i] != ".":
            raise invalid(f"invalid field path {text!r}")
        i += 1
        if i == n:
            raise invalid(f"invalid field path {text!r}")
    if parts[0] == "__name__" and len(parts) > 1:
        raise invalid(f"invalid field path {text!r}: __name__ has no subfields")
    return tuple(parts)


def is_reserved(segment: str) -> bool:
    """Whether a field name matches ``__.*__``, which production reserves."""
    return _RESERVED.fullmatch(segment) is not None


def validate_write_path(path: FieldPath, raw: str) -> None:
    """Refuse an update-mask or transform path that names a reserved field.

    The special-type keys (``__type__``, the BSON keys) stay writable: a merge of a raw
    vector or BSON map lists them as leaf paths.
    """
    for seg in path:
        if is_reserved(seg) and seg not in CONVENTION_KEYS:
            raise invalid(f"field path {raw!r} names a reserved field: names matching "
                          "__.*__ are reserved")


def format_field_path(path: Iterable[str]) -> str:
    out = []
    for seg in path:
        if _SIMPLE.fullmatch(seg):
            out.append(seg)
        else:
            out.append("`" + seg.replace("\\", "\\\\").replace("`", "\\`") + "`")
    return ".".join(out)


def get_field(fields: Fields, path: FieldPath) -> Any | None:
    """The value at ``path`` inside a document's fields, or None when absent."""
    cur: Fields = fields
    for seg in path[:-1]:
        v = cur.get(seg)
        if v is None or v.WhichOneof("value_type") != "map_value":
            return None
        cur = v.map_value.fields
    return cur.get(path[-1])


def set_field(fields: Fields, path: FieldPath, value: Any) -> None:
    """Write ``value`` at ``path``, turning non-map intermediates into maps."""
    cur: Fields = fields
    for seg in path[:-1]:
        v = cur[seg]  # MessageMap creates missing entries
        if v.WhichOneof("value_type") != "map_value":
            v.map_value.SetInParent()
            v.map_value.fields.clear()
        cur = v.map_value.fields
    cur[path[-1]].CopyFrom(value)


def delete_field(fields: Fields, path: FieldPath) -> None:
    cur: Fields = fields
    for seg in path[:-1]:
        v = cur.get(seg)
        if v is None or v.WhichOneof("value_type") != "map_value":
            return
        cur = v.map_value.fields
    if path[-1] in cur:
        del cur[path[-1]]


def leaf_paths(fields: Fields, prefix: FieldPath = ()) -> list[FieldPath]:
    """Every non-map leaf path (empty maps count as leaves)."""
    out: list[FieldPath] = []
    for key, v in fields.items():
        p = (*prefix, key)
        if v.WhichOneof("value_type") == "map_value" and v.map_value.fields:
            out.extend(leaf_paths(v.map_value.fields, p))
        else:
            out.append(p)
    return out


# ---------------------------------------------------------------- limits


def _name_size(name: str) -> int:
    rel = name.split("/documents/", 1)[1] if "/documents/" in name else name
    return sum(len(s.encode()) + 1 for s in rel.split("/")) + 16


def value_size(v: Any) -> int:
    """Storage size of a value as Firestore documents it."""
    k = kind(v)
    if k in ("null_value", "boolean_value"):
        return 1
    if k in ("integer_value", "double_value", "timestamp_value"):
        return 8
    if k == "string_value":
        return len(v.string_value.encode()) + 1
    if k == "bytes_value":
        return len(v.bytes_value)
    if k == "reference_value":
        return _name_size(v.reference_value)
    if k == "geo_point_value":
        return 16
    if k == "array_value":
        return sum(value_size(x) for x in v.array_value.values)
    if k == "map_value":
        return _fields_size(v.map_value.fields)
    return 0


def _fields_size(fields: Fields) -> int:
    return sum(len(key.encode()) + 1 + value_size(v) for key, v in fields.items())


def database_of(name: str) -> str:
    """The ``projects/p/databases/d/documents`` root of a full document name."""
    return "/".join(name.split("/")[:5])


def validate_value(v: Any, depth: int = 1, database: str | None = None) -> None:
    """Reject values that production refuses: unset or pipeline-only types, nested
    arrays, nesting deeper than the limit, over-long or reserved field names, geo points out
    of range, and malformed references or (when ``database`` is given, as for stored values)
    references outside that ``projects/p/databases/d/documents`` root."""
    if depth > MAX_DEPTH:
        raise invalid(f"value exceeds the maximum nesting depth of {MAX_DEPTH}")
    k = kind(v)
    if k is None:
        raise invalid("value has no type set")
    if k not in _STORABLE:
        raise invalid(f"value type {k} cannot be stored")
    if k == "array_value":
        for x in v.array_value.values:
            if kind(x) == "array_value":
                raise invalid("cannot nest an array directly inside an array")
            validate_value(x, depth + 1, database)
    elif k == "map_value":
        validate_fields(v.map_value.fields, depth + 1, database)
    elif k == "reference_value":
        validate_reference(v.reference_value, database)
    elif k == "geo_point_value":
        g = v.geo_point_value
        # Written as negated ranges so NaN is refused too.
        if not -90.0 <= g.latitude <= 90.0:
            raise invalid(f"Geo point latitude '{g.latitude}' outside permitted range "
                          "-90.0 to 90.0.")
        if not -180.0 <= g.longitude <= 180.0:
            raise invalid(f"Geo point longitude '{g.longitude}' outside permitted range "
                          "-180.0 to 180.0.")
    elif k == "timestamp_value":
        ts = v.timestamp_value
        if not (-62135596800 <= ts.seconds <= 253402300799) or not 0 <= ts.nanos < 10**9:
            raise invalid("timestamp value out of range")


def validate_reference(ref: str, database: str | None) -> None:
    """A stored reference names a document of the writing database.

    Production's client SDKs refuse references "for database p2/d2 but should be for
    database p/d", and the backend refused them ("in different app partition"); documents
    imported from another project may still hold such references, so ``Store.load`` does not
    come through here.
    """
    validate_document_name(ref, what="reference value")
    if database is not None and not ref.startswith(database + "/"):
        raise invalid(f"reference value {ref!r} is not in database {database!r}: "
                      "document references must be in the same database")


def _exempt_keys(fields: Fields) -> frozenset[str]:
    """The reserved-looking keys a special-type map may hold (see ``CONVENTION_KEYS``)."""
    t = fields.get(VECTOR_TYPE_KEY)
    if t is not None and t.WhichOneof("value_type") == "string_value" and (
        t.string_value == "__vector__"
    ):
        return frozenset({VECTOR_TYPE_KEY})
    if len(fields) == 1:
        return BSON_KEYS & frozenset(fields)
    return frozenset()


def validate_fields(fields: Fields, depth: int = 1, database: str | None = None) -> None:
    # Special-type maps are values, so a document's own fields (depth 1) get no exemption.
    exempt = _exempt_keys(fields) if depth > 1 else frozenset()
    for key, v in fields.items():
        if not key:
            raise invalid("field names must not be empty")
        if len(key.encode()) > MAX_FIELD_PATH_BYTES:
            raise invalid(
                f"field name exceeds the maximum size of {MAX_FIELD_PATH_BYTES} bytes"
            )
        if is_reserved(key) and key not in exempt:
            raise invalid(f"field name {key!r} is reserved: names matching __.*__ are "
                          "reserved")
        validate_value(v, depth, database)


def _checked_size(v: Any, depth: int, database: str | None) -> int:
    """``validate_value`` and ``value_size`` in one walk (the write path's hot loop)."""
    k = v.WhichOneof("value_type")
    if k in ("integer_value", "double_value"):
        return 8
    if k == "string_value":
        return len(v.string_value.encode()) + 1
    if k in ("null_value", "boolean_value"):
        return 1
    if k == "map_value":
        if depth > MAX_DEPTH:
            raise invalid(f"value exceeds the maximum nesting depth of {MAX_DEPTH}")
        return _checked_fields_size(v.map_value.fields, depth + 1, database)
    if k == "array_value":
        if depth > MAX_DEPTH:
            raise invalid(f"value exceeds the maximum nesting depth of {MAX_DEPTH}")
        total = 0
        values = v.array_value.values
        if values and depth + 1 > MAX_DEPTH:
            raise invalid(f"value exceeds the maximum nesting depth of {MAX_DEPTH}")
        for x in values:
            if x.WhichOneof("value_type") == "array_value":
                raise invalid("cannot nest an array directly inside an array")
            total += _checked_size(x, depth + 1, database)
        return total
    validate_value(v, depth, database)
    return value_size(v)


def _checked_fields_size(fields: Fields, depth: int, database: str | None) -> int:
    """``validate_fields`` and ``_fields_size`` in one walk."""
    exempt = _exempt_keys(fields) if depth > 1 else frozenset()
    total = 0
    for key, v in fields.items():
        encoded = len(key.encode())
        if not encoded:
            raise invalid("field names must not be empty")
        if encoded > MAX_FIELD_PATH_BYTES:
            raise invalid(
                f"field name exceeds the maximum size of {MAX_FIELD_PATH_BYTES} bytes"
            )
        if key[0] == "_" and is_reserved(key) and key not in exempt:
            raise invalid(f"field name {key!r} is reserved: names matching __.*__ are "
                          "reserved")
        if depth > MAX_DEPTH:
            raise invalid(f"value exceeds the maximum nesting depth of {MAX_DEPTH}")
        total += encoded + 1 + _checked_size(v, depth, database)
    return total


def validate_document(name: str, fields: Fields) -> None:
    """Apply the size and shape limits to a complete document about to be stored."""
    size = _name_size(name) + _checked_fields_size(fields, 1, database_of(name)) + 32
    if size > MAX_DOCUMENT_BYTES:
        raise invalid(
            f"document {name} is {size} bytes, over the maximum document size of "
            f"{MAX_DOCUMENT_BYTES} bytes (1 MiB)"
        )


def validate_document_name(name: str, what: str = "document name") -> None:
    """A full document name: ``projects/p/databases/d/documents/c/id[/c/id...]``."""
    parts = name.split("/")
    if (
        len(parts) < 7
        or parts[0] != "projects"
        or parts[2] != "databases"
        or parts[4] != "documents"
        or not parts[1]
        or not parts[3]
        or (len(parts) - 5) % 2
    ):
        raise invalid(f"invalid {what} {name!r}")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise invalid(f"{what} exceeds the maximum size of {MAX_NAME_BYTES} bytes (6 KiB)")
    for seg in parts[5:]:
        validate_id(seg, what)


def validate_id(seg: str, what: str = "document name") -> None:
    if not seg or seg in (".", "..") or (seg.startswith("__") and seg.endswith("__")):
        raise invalid(f"invalid {what}: segment {seg!r} is not allowed")
    if len(seg.encode()) > MAX_FIELD_PATH_BYTES:
        raise invalid(f"{what} segment exceeds {MAX_FIELD_PATH_BYTES} bytes")
