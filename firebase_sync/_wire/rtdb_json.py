"""Plain data to Realtime Database JSON and back, keys and paths validated.

Datetimes are stored as fixed-width UTC ISO-8601 strings with microseconds
(``2024-05-01T12:00:00.000000Z``): text order is time order, so ``order_by_child`` works on
them, and nothing is lost. Reading, pydantic also accepts epoch milliseconds, which is what
RTDB's server timestamp ``{".sv": "timestamp"}`` writes. Bytes are standard base64.

RTDB keeps neither ``null`` nor empty objects or arrays, and stores arrays as objects with
integer keys. :func:`restore_for_model` undoes that using the model's annotations.

Sparse arrays. For a list-typed field, an object is read as an array by Firebase's own rule:
every key is a non-negative integer in canonical form (``0`` or no leading zero, ASCII
digits) and the largest key is below twice the number of keys; missing indexes become
``None``. So the list built is at most twice as long as the object received, whatever its
keys say: ``{"999999999": "x"}`` must not make the client allocate a billion slots. An
object with integer keys that is sparser than that raises :class:`ValidationFailed` naming
the field (dotted, with list indexes and dict keys, e.g. ``inners.1.items``); an object with
other keys is left for pydantic, which refuses it as a list.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import math
import types
import typing
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pydantic

from ..errors import ValidationFailed
from ..models import GeoPoint, Reference
from .documents import utc

__all__ = [
    "decode_datetime",
    "encode_datetime",
    "encode_value",
    "restore_for_model",
    "split_path",
    "validate_key",
]

_FORBIDDEN_KEY_CHARS = frozenset(".$#[]/")
_MAX_KEY_BYTES = 768
_MAX_DEPTH = 32


def validate_key(key: str, *, path: str | None = None, field: str | None = None) -> str:
    """Return ``key`` if RTDB accepts it as a child name, else raise ValidationFailed."""
    problem = None
    if not key:
        problem = "keys cannot be empty"
    elif any(ch in _FORBIDDEN_KEY_CHARS or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        problem = f"key {key!r} contains one of . $ # [ ] / or a control character"
    elif len(key.encode()) > _MAX_KEY_BYTES:
        problem = f"key longer than {_MAX_KEY_BYTES} bytes"
    if problem:
        raise ValidationFailed(problem, path=path, field=field or key)
    return key


def split_path(path: str) -> list[str]:
    """The validated segments of an RTDB path (``"/a/b"`` -> ``["a", "b"]``; root -> ``[]``)."""
    segments = [s for s in path.split("/") if s]
    for segment in segments:
        validate_key(segment, path=path, field=segment)
    return segments


def encode_datetime(value: dt.datetime) -> str:
    """Fixed-width UTC text, ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (naive counts as UTC)."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def decode_datetime(value: str | int | float) -> dt.datetime:
    """Parse what :func:`encode_datetime` writes, or epoch milliseconds."""
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    return utc(dt.datetime.fromisoformat(value))


def encode_value(value: Any, *, path: str | None = None, field: str = "", depth: int = 0) -> Any:
    """Encode plain data as JSON-ready data by the module's rules."""
    if depth > _MAX_DEPTH:
        raise ValidationFailed(f"nested deeper than {_MAX_DEPTH} levels", path=path, field=field)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationFailed("NaN and infinity cannot be stored", path=path, field=field)
        return value
    if isinstance(value, dt.datetime):
        return encode_datetime(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, GeoPoint):
        return {"latitude": value.latitude, "longitude": value.longitude}
    if isinstance(value, Reference):
        return value.path
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            child = f"{field}.{key}" if field else str(key)
            validate_key(key, path=path, field=child)
            out[key] = encode_value(item, path=path, field=child, depth=depth + 1)
        return out
    if isinstance(value, list):
        return [
            encode_value(item, path=path, field=f"{field}.{i}", depth=depth + 1)
            for i, item in enumerate(value)
        ]
    raise ValidationFailed(
        f"cannot store a value of type {type(value).__name__}", path=path, field=field
    )


def restore_for_model(
    model: type[pydantic.BaseModel], data: Any, *, path: str | None = None
) -> Any:
    """Undo RTDB's storage quirks for ``model``: base64 bytes, dropped empties, array objects.

    Returns data ready for ``model.model_validate``; anything it does not recognise is left
    for pydantic to judge. Raises :class:`ValidationFailed` (with ``path``) for an object too
    sparse to be read as a list (see the module docstring).
    """
    if not isinstance(data, Mapping):
        return data
    out = dict(data)
    for key, restore, empty in _model_plan(model):
        if key in out:
            if restore is not None:
                with _within(key, path):
                    out[key] = restore(out[key])
        elif empty is not None:
            out[key] = empty()
    return out


@contextlib.contextmanager
def _within(segment: object, path: str | None = None) -> Iterator[None]:
    """Prefix the field of a ValidationFailed raised inside with ``segment`` (and give it
    ``path`` if it has none): errors from nested values name the whole dotted field."""
    try:
        yield
    except ValidationFailed as exc:
        exc.field = f"{segment}.{exc.field}" if exc.field else str(segment)
        exc.errors = ((exc.field, exc.message),)
        if exc.path is None:
            exc.path = path
        raise


# A restorer maps a stored value to what the model expects; None means "leave it as is".
_Restorer = Callable[[Any], Any]
# Per field that needs any work: its key, its restorer, and what makes the value RTDB would
# have dropped when the field is required (None: nothing to put back).
_FieldPlan = tuple[str, _Restorer | None, Callable[[], Any] | None]

# Reading the annotations (typing.get_origin/get_args, recursively) costs far more than
# applying them, and a listener decodes thousands of children of one model: plan once per
# class. Weak keys, so models made on the fly are not kept alive by the cache.
_PLANS: weakref.WeakKeyDictionary[type[pydantic.BaseModel], tuple[_FieldPlan, ...]] = (
    weakref.WeakKeyDictionary()
)


def _model_plan(model: type[pydantic.BaseModel]) -> tuple[_FieldPlan, ...]:
    plan = _PLANS.get(model)
    if plan is None:
        entries = []
        for name, info in model.model_fields.items():
            restore = _restorer(info.annotation)
            empty = _empty_factory(info.annotation) if info.is_required() else None
            if restore is not None or empty is not None:
                entries.append((info.alias or name, restore, empty))
        plan = tuple(entries)
        # A model whose forward references are not resolved yet may still change its fields.
        if model.__pydantic_complete__:
            _PLANS[model] = plan
    return plan


_NO_EMPTY = object()


def _none() -> None:
    return None


def _empty_factory(annotation: Any) -> Callable[[], Any] | None:
    """A fresh copy of what RTDB would have dropped for ``annotation`` each call, or None."""
    empty = _empty_for(annotation)
    if empty is _NO_EMPTY:
        return None
    if empty is None:
        return _none
    return list if isinstance(empty, list) else dict


def _empty_for(annotation: Any) -> Any:
    """What RTDB would have dropped for this annotation: None, [] or {} (else _NO_EMPTY)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args:
            return None
        return _NO_EMPTY
    if annotation in (list, set, frozenset, tuple) or origin in (list, set, frozenset):
        return []
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return []
    if annotation is dict or origin in (dict, Mapping, typing.Mapping):
        return {}
    return _NO_EMPTY


def _restorer(annotation: Any) -> _Restorer | None:
    """How to restore a stored value for ``annotation`` (None: leave it to pydantic)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _restorer(args[0])
    if annotation is bytes:
        return _restore_bytes
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        return _restorer(non_none[0]) if len(non_none) == 1 else None
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        # Looked up when called, not now: a model may contain itself.
        return functools.partial(restore_for_model, annotation)
    if origin in (list, set, frozenset, tuple) or annotation in (list, set, frozenset, tuple):
        item_type = args[0] if args and (origin is not tuple or args[-1] is Ellipsis) else Any
        return functools.partial(_restore_list, _restorer(item_type))
    if origin in (dict, Mapping) and len(args) == 2:
        return functools.partial(_restore_dict, _restorer(args[1]))
    return None


def _restore_bytes(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:  # binascii.Error, or non-ASCII text: pydantic will say what is wrong
            return value
    return value


def _restore_list(restore_item: _Restorer | None, value: Any) -> Any:
    items = _as_list(value)
    if items is None:
        return value
    if restore_item is None:
        return list(items) if items is value else items
    restored = []
    for index, item in enumerate(items):
        with _within(index):
            restored.append(None if item is None else restore_item(item))
    return restored


def _restore_dict(restore_item: _Restorer | None, value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    if restore_item is None:
        return dict(value)
    restored = {}
    for key, item in value.items():
        with _within(key):
            restored[key] = None if item is None else restore_item(item)
    return restored


def _as_list(value: Any) -> list[Any] | None:
    """A list from a JSON array, or from an object RTDB made of an array (Firebase's rule,
    see the module docstring); None if ``value`` is neither (pydantic will refuse it).

    Raises ValidationFailed for an object of integer keys too sparse to be an array.
    """
    if isinstance(value, list):
        return value
    if not isinstance(value, Mapping) or not all(_is_index(k) for k in value):
        return None
    count = len(value)
    limit = 2 * count  # every key must be below it
    # Compared as text first: a key with more digits than the limit is above it, and is
    # never turned into a (possibly huge) int.
    digits = len(str(limit))
    largest = max(value, key=lambda k: (len(k), k), default=None)
    if largest is not None and (len(largest) > digits or int(largest) >= limit):
        shown = largest if len(largest) <= 20 else f"{largest[:20]}... ({len(largest)} digits)"
        raise ValidationFailed(
            f"an object with integer keys is too sparse to be a list: largest key {shown} "
            f"for {count} entries (a list needs its largest key below twice its entries)",
            path=None,
        )
    items: list[Any] = [None] * (0 if largest is None else int(largest) + 1)
    for key, item in value.items():
        items[int(key)] = item
    return items


def _is_index(key: object) -> bool:
    """An array index as Firebase writes it: ``0``, or ASCII digits without a leading zero."""
    return (
        isinstance(key, str)
        and key.isascii()
        and key.isdigit()
        and (key == "0" or not key.startswith("0"))
    )
