"""The Firestore export format of the official emulator and of managed exports.

An export named ``NAME`` is a directory holding::

    NAME.overall_export_metadata                      records: b"3", then the export summary
    all_namespaces/all_kinds/all_namespaces_all_kinds.export_metadata    (a plain message)
    all_namespaces/all_kinds/output-0, output-1 ...   records: one entity per document

"Records" are the LevelDB log format: 32 KiB blocks, each record a 7-byte header (masked
CRC-32C of type and payload, little-endian 16-bit length, type FULL/FIRST/MIDDLE/LAST) and its
payload. Documents are App Engine ``EntityProto`` messages (proto2, with groups): the key's
``app`` is ``dev~PROJECT`` (the part after ``~`` is the project), its path the collection and
document ids, and every field a ``Property`` whose ``meaning`` tells timestamps (microseconds),
bytes, geo points and maps (an embedded entity) apart; an array is one property per element
with ``multiple`` set, an empty array the meaning ``EMPTY_LIST``. The field numbers below come
from the public ``entity.proto`` of App Engine and were checked against the files the official
emulator writes. Pure encoding: no I/O beyond the byte strings handed in and out.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from typing import Any

import google_crc32c

from emulator.errors import invalid

from .values import Document

# --- the LevelDB log format -------------------------------------------------------------
BLOCK_SIZE = 32768
HEADER_SIZE = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_MASK_DELTA = 0xA282EAD8


def _masked_crc(kind: int, payload: bytes) -> int:
    crc = int(google_crc32c.value(bytes([kind]) + payload))
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def encode_records(payloads: Iterable[bytes]) -> Iterator[bytes]:
    """The log-format bytes of ``payloads``, chunk by chunk (blocks padded as LevelDB does)."""
    offset = 0  # position inside the current block
    for payload in payloads:
        view = memoryview(payload)
        first = True
        while True:
            left = BLOCK_SIZE - offset
            if left < HEADER_SIZE:
                yield b"\0" * left
                offset = 0
                left = BLOCK_SIZE
            room = left - HEADER_SIZE
            chunk = bytes(view[:room])
            view = view[room:]
            last = not view
            kind = FULL if first and last else FIRST if first else LAST if last else MIDDLE
            header = struct.pack("<IHB", _masked_crc(kind, chunk), len(chunk), kind)
            yield header + chunk
            offset += HEADER_SIZE + len(chunk)
            first = False
            if last:
                break


def decode_records(data: bytes) -> Iterator[bytes]:
    """The payloads of a log-format file; raises ``ServiceError`` on a corrupt record."""
    pos = 0
    pending: list[bytes] = []
    while pos + HEADER_SIZE <= len(data):
        left = BLOCK_SIZE - pos % BLOCK_SIZE
        if left < HEADER_SIZE:
            pos += left
            continue
        crc, length, kind = struct.unpack_from("<IHB", data, pos)
        if kind == 0 and length == 0:  # zero padding at the end of a block
            pos += left
            continue
        payload = data[pos + HEADER_SIZE : pos + HEADER_SIZE + length]
        if len(payload) != length or _masked_crc(kind, payload) != crc:
            raise invalid(f"corrupt export record at byte {pos}")
        pos += HEADER_SIZE + length
        if kind == FULL:
            yield payload
        elif kind == FIRST:
            pending = [payload]
        elif kind == MIDDLE:
            pending.append(payload)
        elif kind == LAST:
            pending.append(payload)
            yield b"".join(pending)
            pending = []
        else:
            raise invalid(f"unknown export record type {kind} at byte {pos}")


# --- protobuf wire helpers (groups included, which generated classes for proto3 lack) ---
VARINT, FIXED64, BYTES, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5


def _encode_varint(value: int) -> bytes:
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


# Keys, lengths and small numbers are nearly all below 2**14: encode those once.
_SMALL_VARINTS = [_encode_varint(n) for n in range(1 << 14)]


def _varint(value: int) -> bytes:
    if 0 <= value < 1 << 14:
        return _SMALL_VARINTS[value]
    return _encode_varint(value)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _bytes_field(field: int, payload: bytes) -> bytes:
    return _key(field, BYTES) + _varint(len(payload)) + payload


def _varint_field(field: int, value: int) -> bytes:
    return _key(field, VARINT) + _varint(value)


def _double_field(field: int, value: float) -> bytes:
    return _key(field, FIXED64) + struct.pack("<d", value)


def _group(field: int, body: bytes) -> bytes:
    return _key(field, START_GROUP) + body + _key(field, END_GROUP)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    if pos < len(data) and data[pos] < 0x80:  # the common one-byte case
        return data[pos], pos + 1
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise invalid("truncated or overlong varint in export entity")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of a message; a group's value is its body's bytes."""
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        field, wire = key >> 3, key & 7
        value: Any
        if wire == VARINT:
            value, pos = _read_varint(data, pos)
        elif wire == FIXED64:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == FIXED32:
            value, pos = data[pos : pos + 4], pos + 4
        elif wire == BYTES:
            length, pos = _read_varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == START_GROUP:
            start = pos
            depth = 1
            while depth:
                inner, pos = _read_varint(data, pos)
                inner_wire = inner & 7
                if inner_wire == START_GROUP:
                    depth += 1
                elif inner_wire == END_GROUP:
                    depth -= 1
                elif inner_wire == VARINT:
                    _, pos = _read_varint(data, pos)
                elif inner_wire == FIXED64:
                    pos += 8
                elif inner_wire == FIXED32:
                    pos += 4
                elif inner_wire == BYTES:
                    length, pos = _read_varint(data, pos)
                    pos += length
                else:
                    raise invalid("malformed group in export entity")
            value = data[start : pos - len(_key(field, END_GROUP))]
        else:
            raise invalid(f"unexpected wire type {wire} in export entity")
        if pos > len(data):
            raise invalid("truncated export entity")
        yield field, wire, value


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


# --- EntityProto <-> google.firestore.v1.Document --------------------------------------
# EntityProto: key=13 (Reference), property=14, raw_property=15, entity_group=16 (Path).
# Reference: app=13, path=14, database_id=23. Path: group Element=1 {type=2, id=3, name=4}.
# Property: meaning=1, name=3, multiple=4, value=5.
# PropertyValue: int64=1, boolean=2, string=3, double=4, group Point=5 {x=6, y=7},
#   group ReferenceValue=12 {app=13, group PathElement=14 {type=15, id=16, name=17},
#   database_id=23}.
GD_WHEN, GEORSS_POINT, BLOB, TEXT, BYTESTRING, ENTITY_PROTO, EMPTY_LIST = 7, 9, 14, 15, 16, 19, 24
DEFAULT_DATABASE = "(default)"
APP_PREFIX = "dev~"


def _app(project: str) -> str:
    return APP_PREFIX + project


def _project(app: str) -> str:
    return app.rpartition("~")[2]


def _split_name(name: str) -> tuple[str, str, list[str]]:
    """``projects/p/databases/d/documents/a/b`` -> (p, d, [a, b])."""
    parts = name.split("/")
    if len(parts) < 7 or parts[0] != "projects" or parts[2] != "databases":
        raise invalid(f"not a document name: {name!r}")
    return parts[1], parts[3], parts[5:]


def _path(segments: list[str]) -> bytes:
    body = b""
    for kind, name in zip(segments[::2], segments[1::2], strict=True):
        body += _group(1, _bytes_field(2, kind.encode()) + _bytes_field(4, name.encode()))
    return body


def _reference(project: str, database: str, segments: list[str]) -> bytes:
    out = _bytes_field(13, _app(project).encode())
    if database != DEFAULT_DATABASE:
        out += _bytes_field(23, database.encode())
    return out + _bytes_field(14, _path(segments))


def _property(name: str, meaning: int, value: bytes, *, multiple: bool = False) -> bytes:
    out = _varint_field(1, meaning) if meaning else b""
    out += _bytes_field(3, name.encode()) + _varint_field(4, int(multiple))
    return out + _bytes_field(5, value)


def _value(value: Any) -> tuple[int, bytes]:
    """(meaning, PropertyValue bytes) of a scalar or map Firestore value."""
    kind = value.WhichOneof("value_type")
    if kind is None or kind == "null_value":
        return 0, b""
    if kind == "boolean_value":
        return 0, _varint_field(2, int(value.boolean_value))
    if kind == "integer_value":
        return 0, _varint_field(1, value.integer_value)
    if kind == "double_value":
        return 0, _double_field(4, value.double_value)
    if kind == "string_value":
        return 0, _bytes_field(3, value.string_value.encode())
    if kind == "bytes_value":
        return BLOB, _bytes_field(3, value.bytes_value)
    if kind == "timestamp_value":
        ts = value.timestamp_value
        return GD_WHEN, _varint_field(1, ts.seconds * 1_000_000 + ts.nanos // 1000)
    if kind == "geo_point_value":
        point = value.geo_point_value
        body = _double_field(6, point.latitude) + _double_field(7, point.longitude)
        return GEORSS_POINT, _group(5, body)
    if kind == "reference_value":
        project, database, segments = _split_name(value.reference_value)
        body = _bytes_field(13, _app(project).encode())
        for kind_, name in zip(segments[::2], segments[1::2], strict=True):
            element = _bytes_field(15, kind_.encode()) + _bytes_field(17, name.encode())
            body += _group(14, element)
        if database != DEFAULT_DATABASE:
            body += _bytes_field(23, database.encode())
        return 0, _group(12, body)
    if kind == "map_value":
        return ENTITY_PROTO, _bytes_field(3, _embedded(value.map_value.fields))
    raise invalid(f"cannot export a value of type {kind}")


def _properties(fields_: Any) -> Iterator[tuple[int, bytes]]:
    """(entity field number, Property bytes) for each Firestore field."""
    for name, value in fields_.items():
        if value.WhichOneof("value_type") == "array_value":
            items = value.array_value.values
            if not items:
                yield 14, _property(name, EMPTY_LIST, b"")
            for item in items:
                meaning, body = _value(item)
                yield 15, _property(name, meaning, body, multiple=True)
        else:
            meaning, body = _value(value)
            yield 15, _property(name, meaning, body)


def _embedded(fields_: Any) -> bytes:
    out = _bytes_field(13, _bytes_field(13, b"") + _bytes_field(14, b""))
    for number, prop in _properties(fields_):
        out += _bytes_field(number, prop)
    return out + _bytes_field(16, b"")


def encode_document(doc: Any) -> bytes:
    """The ``EntityProto`` bytes of a stored document."""
    project, database, segments = _split_name(doc.name)
    out = _bytes_field(13, _reference(project, database, segments))
    for number, prop in _properties(doc.fields):
        out += _bytes_field(number, prop)
    return out + _bytes_field(16, _path(segments[:2]))


def _decode_path(data: bytes, element: int, kind: int, id_: int, name: int) -> list[str]:
    segments: list[str] = []
    for field, _, body in fields(data):
        if field != element:
            continue
        kind_text = ident = ""
        for inner, _, raw in fields(body):
            if inner == kind:
                kind_text = raw.decode()
            elif inner == name:
                ident = raw.decode()
            elif inner == id_:
                ident = f"__id{_signed(raw)}__"
        segments += [kind_text, ident]
    return segments


def _decode_value(meaning: int, data: bytes, out: Any) -> None:
    for field, _, raw in fields(data):
        if field == 1:
            if meaning == GD_WHEN:
                seconds, micros = divmod(_signed(raw), 1_000_000)
                out.timestamp_value.seconds = seconds
                out.timestamp_value.nanos = micros * 1000
            else:
                out.integer_value = _signed(raw)
        elif field == 2:
            out.boolean_value = bool(raw)
        elif field == 3:
            if meaning == ENTITY_PROTO:
                out.map_value.SetInParent()
                _decode_properties(raw, out.map_value.fields)
            elif meaning in (BLOB, BYTESTRING):
                out.bytes_value = raw
            else:
                out.string_value = raw.decode()
        elif field == 4:
            (out.double_value,) = struct.unpack("<d", raw)
        elif field == 5:
            for inner, _, coordinate in fields(raw):
                (number,) = struct.unpack("<d", coordinate)
                if inner == 6:
                    out.geo_point_value.latitude = number
                elif inner == 7:
                    out.geo_point_value.longitude = number
        elif field == 12:
            app = database = ""
            for inner, _, part in fields(raw):
                if inner == 13:
                    app = part.decode()
                elif inner == 23:
                    database = part.decode()
            segments = _decode_path(raw, 14, 15, 16, 17)
            out.reference_value = (
                f"projects/{_project(app)}/databases/{database or DEFAULT_DATABASE}"
                f"/documents/{'/'.join(segments)}"
            )
    if out.WhichOneof("value_type") is None:
        out.null_value = 0


def _decode_properties(entity: bytes, target: Any) -> None:
    for field, _, prop in fields(entity):
        if field not in (14, 15):
            continue
        meaning = multiple = 0
        name = ""
        body = b""
        for inner, _, raw in fields(prop):
            if inner == 1:
                meaning = raw
            elif inner == 3:
                name = raw.decode()
            elif inner == 4:
                multiple = raw
            elif inner == 5:
                body = raw
        if meaning == EMPTY_LIST:
            target[name].array_value.SetInParent()
        elif multiple:
            _decode_value(meaning, body, target[name].array_value.values.add())
        else:
            _decode_value(meaning, body, target[name])


def decode_document(data: bytes) -> Any:
    """A ``Document`` (name and fields, no times) from ``EntityProto`` bytes."""
    doc = Document()
    key = b""
    for field, _, raw in fields(data):
        if field == 13:
            key = raw
    app = database = ""
    for field, _, raw in fields(key):
        if field == 13:
            app = raw.decode()
        elif field == 23:
            database = raw.decode()
    segments = _decode_path(next((r for f, _, r in fields(key) if f == 14), b""), 1, 2, 3, 4)
    if not segments or not app:
        raise invalid("an exported entity has no key")
    doc.name = (
        f"projects/{_project(app)}/databases/{database or DEFAULT_DATABASE}"
        f"/documents/{'/'.join(segments)}"
    )
    _decode_properties(data, doc.fields)
    return doc


# --- the metadata files ------------------------------------------------------------------
KIND_DIR = "all_namespaces/all_kinds"
KIND_METADATA = "all_namespaces_all_kinds.export_metadata"
OUTPUT_PREFIX = "output-"


def overall_metadata(count: int, size: int) -> Iterator[bytes]:
    """The records of ``NAME.overall_export_metadata``: ``count`` entities, ``size`` bytes."""
    summary = _bytes_field(1, _varint_field(1, 2) + _varint_field(3, 3))
    summary += _bytes_field(2, f"{KIND_DIR}/{KIND_METADATA}".encode())
    summary += _varint_field(3, count) + _varint_field(4, size)
    return encode_records([b"3", _bytes_field(1, summary)])


def kind_metadata(name: str, started_us: int, finished_us: int, outputs: list[str]) -> bytes:
    """The ``all_namespaces_all_kinds.export_metadata`` message."""
    header = _bytes_field(1, name.encode())
    header += _varint_field(2, started_us) + _varint_field(3, finished_us)
    files = _bytes_field(1, b"")
    for output in outputs:
        files += _bytes_field(2, output.encode())
    return _bytes_field(1, header) + _bytes_field(2, files)


def output_files(kind_metadata_bytes: bytes) -> list[str]:
    """The output file names listed in an ``..._all_kinds.export_metadata`` message."""
    names: list[str] = []
    for field, _, raw in fields(kind_metadata_bytes):
        if field == 2:
            names += [part.decode() for inner, _, part in fields(raw) if inner == 2]
    return names


def kind_metadata_paths(overall: bytes) -> list[str]:
    """The relative paths of the per-kind metadata files an overall metadata file names."""
    paths: list[str] = []
    for record in decode_records(overall):
        if record == b"3":  # the format marker that opens the file
            continue
        for field, wire, raw in fields(record):
            if field == 1 and wire == BYTES:
                paths += [p.decode() for inner, _, p in fields(raw) if inner == 2]
    return paths


__all__ = [
    "decode_document",
    "decode_records",
    "encode_document",
    "encode_records",
    "kind_metadata",
    "kind_metadata_paths",
    "output_files",
    "overall_metadata",
]
