"""Queued write operations as data, and how they change a value: pure, no I/O.

An operation is stored as JSON so that it survives restarts: ``set`` holds the whole
document, ``update`` a list of ``[field path, "value" | "increment", JSON]`` and ``delete``
nothing. Documents are kept in the JSON form the RTDB codec writes, for both databases (it
round-trips every type the models allow).

Applying an operation to the current value gives the next value; the same function computes
the local, latency-compensated view and the value replayed to the server.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from .._wire.documents import dump_document, load_document, to_plain
from .._wire.rtdb_json import encode_value, restore_for_model, validate_key
from ..errors import InvalidArgument, ValidationFailed
from ..models import Document, Increment

__all__ = [
    "MARKER_FIELD",
    "UNKNOWN",
    "Increment",
    "WriteOp",
    "apply_op",
    "decode_entry",
    "encode_entry",
]

D = TypeVar("D", bound=Document)
OpKind = Literal["set", "update", "delete"]

#: The field a replayed write leaves in its document or child: the id of the last queued write
#: applied to it. Models ignore it (``Document`` models ignore unknown fields).
MARKER_FIELD = "_fsync_write"


class _Unknown:
    """The local value cannot be computed (an update of an entry never seen)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True, slots=True)
class WriteOp:
    """One queued write of one key."""

    kind: OpKind
    key: str
    data: Any = None

    @classmethod
    def set(cls, document: Document, *, path: str | None = None) -> WriteOp:
        return cls("set", document.id, encode_entry(document, path=path))

    @classmethod
    def update(cls, key: str, fields: Mapping[str, Any], *, path: str | None = None) -> WriteOp:
        """``fields`` by dotted path; values are plain values, ``None`` or :class:`Increment`."""
        if not fields:
            raise InvalidArgument("an update needs at least one field", path=path)
        out = []
        for field, value in fields.items():
            segments = _segments(field)
            for segment in segments:
                validate_key(segment, path=path, field=field)
            if isinstance(value, Increment):
                out.append([".".join(segments), "increment", value.by])
            else:
                plain = to_plain(value, path=path, field=field)
                out.append([".".join(segments), "value", encode_value(plain, path=path)])
        return cls("update", key, out)

    @classmethod
    def delete(cls, key: str) -> WriteOp:
        return cls("delete", key)

    def top_fields(self) -> list[str]:
        """The top-level fields an update touches (in order, once each)."""
        if self.kind != "update":
            return []
        return list(dict.fromkeys(str(path).split(".")[0] for path, _, _ in self.data))


def encode_entry(document: Document, *, path: str | None = None) -> dict[str, Any]:
    """The JSON form of ``document`` (raises ValidationFailed for unstorable values)."""
    encoded = encode_value(dump_document(document, path=path), path=path)
    return dict(encoded) if isinstance(encoded, Mapping) else {}


def decode_entry(model: type[D], key: str, data: Any, *, path: str | None = None) -> D:
    """``model`` from its JSON form (raises ValidationFailed)."""
    if isinstance(data, str):
        data = json.loads(data)
    if not isinstance(data, Mapping):
        raise ValidationFailed("a cached entry must be an object", path=path)
    return load_document(model, key, restore_for_model(model, data, path=path), path=path)


def apply_op(model: type[D], current: D | None, op: WriteOp, *, path: str | None = None) -> Any:
    """The value after ``op``: a ``model``, ``None`` (deleted) or :data:`UNKNOWN`.

    An update of an entry never seen gives UNKNOWN unless the fields alone make a valid
    model. Raises ValidationFailed when the result does not fit the model.
    """
    if op.kind == "delete":
        return None
    if op.kind == "set":
        return decode_entry(model, op.key, op.data, path=path)
    data = {} if current is None else encode_entry(current, path=path)
    apply_fields(data, op.data)
    try:
        return decode_entry(model, op.key, data, path=path)
    except ValidationFailed:
        if current is None:
            return UNKNOWN
        raise


def apply_fields(data: dict[str, Any], fields: Any) -> dict[str, Any]:
    """Apply an update's ``[path, kind, value]`` list to a JSON object, in place."""
    for path, kind, value in fields:
        *parents, leaf = str(path).split(".")
        node = data
        for segment in parents:
            child = node.get(segment)
            if not isinstance(child, dict):
                child = node[segment] = {}
            node = child
        if kind == "increment":
            previous = node.get(leaf)
            number = previous if isinstance(previous, int | float) else 0
            node[leaf] = number + value
        else:
            node[leaf] = copy.deepcopy(value)
    return data


def _segments(field: str) -> list[str]:
    segments = [s for s in field.replace("/", ".").split(".") if s]
    if not segments:
        raise InvalidArgument(f"empty field path {field!r}")
    return segments
