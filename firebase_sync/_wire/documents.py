"""Models to plain data and back, shared by both databases' codecs.

"Plain" data is what the database codecs understand: ``None``, ``bool``, ``int``, ``float``,
``str``, ``bytes``, UTC-aware ``datetime``, :class:`GeoPoint`, :class:`Reference`, lists, and
dicts with string keys. The rules for the other Python types are in ``firebase_sync.models``.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

import pydantic

from ..errors import ValidationFailed
from ..models import Document, GeoPoint, Reference

__all__ = ["dump_document", "load_document", "to_plain", "utc"]

D = TypeVar("D", bound=Document)
Plain = Any


def dump_document(document: Document, *, path: str | None = None) -> dict[str, Plain]:
    """The stored fields of ``document`` as plain data (``id`` left out).

    Raises :class:`ValidationFailed` for values neither database can store.
    """
    raw = document.model_dump(mode="python", by_alias=True)
    return {key: to_plain(value, path=path, field=key) for key, value in raw.items()}


def load_document(
    model: type[D], key: str, data: Mapping[str, Any], *, path: str | None = None
) -> D:
    """Validate stored ``data`` as ``model`` with ``id=key``.

    Raises :class:`ValidationFailed` naming ``path`` and the first bad field.
    """
    try:
        document: D = model.model_validate({**data, "id": key})
        return document
    except pydantic.ValidationError as exc:
        raise validation_failed(exc, path=path) from exc


def validation_failed(exc: pydantic.ValidationError, *, path: str | None) -> ValidationFailed:
    """Our error for a pydantic one: every failing field, dotted, with its message."""
    errors = [(".".join(str(part) for part in e["loc"]), e["msg"]) for e in exc.errors()]
    field, message = errors[0] if errors else ("", str(exc))
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    return ValidationFailed(message, path=path, field=field or None, errors=errors)


def utc(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def to_plain(value: Any, *, path: str | None = None, field: str = "") -> Plain:
    """Reduce a dumped model value to plain data by the documented rules."""
    if value is None or isinstance(value, bool | str | bytes | GeoPoint | Reference):
        return value
    if isinstance(value, enum.Enum):
        return to_plain(value.value, path=path, field=field)
    if isinstance(value, int | float):
        return value
    if isinstance(value, dt.datetime):
        return utc(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, Mapping):
        out: dict[str, Plain] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationFailed(
                    f"map keys must be strings, got {type(key).__name__}",
                    path=path,
                    field=field,
                )
            out[key] = to_plain(item, path=path, field=f"{field}.{key}" if field else key)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [
            to_plain(item, path=path, field=f"{field}.{index}") for index, item in enumerate(items)
        ]
    if isinstance(value, pydantic.BaseModel):
        return to_plain(value.model_dump(mode="python", by_alias=True), path=path, field=field)
    raise ValidationFailed(
        f"cannot store a value of type {type(value).__name__}", path=path, field=field
    )
