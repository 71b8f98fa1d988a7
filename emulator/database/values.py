"""Stored nodes: normalising written JSON, and rendering nodes back to JSON.

The stored form is Firebase's export format with arrays turned into objects:

- a leaf is a bool, number or string, or ``{".value": leaf, ".priority": p}`` when it has a
  priority;
- an object is a non-empty dict of valid keys, plus ``".priority"`` when it has one;
- "no data" is ``None``; a stored node is never an empty object.

Keys starting with ``.`` are therefore metadata, never children (valid keys cannot hold a dot).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any, TypeAlias

from ..errors import invalid
from .ordering import key_order
from .paths import MAX_KEY_BYTES, check_depth, check_key

Json: TypeAlias = None | bool | int | float | str | list["Json"] | dict[str, "Json"]
Leaf: TypeAlias = bool | int | float | str
Priority: TypeAlias = int | float | str | None
#: stored node: a leaf or a dict (children, ".priority", or ".value" + ".priority").
Node: TypeAlias = Leaf | dict[str, Any]

VALUE = ".value"
PRIORITY = ".priority"
SERVER_VALUE = ".sv"
MAX_STRING_BYTES = 10 * 1024 * 1024
#: integers beyond this magnitude are rounded to the nearest double (JavaScript's safe range).
MAX_SAFE_INTEGER = 2**53
#: more digits than any finite double has before its exponent (1.8e308): refused unparsed, since
#: ``int()`` refuses over 4,300 digits anyway and is quadratic before that.
_MAX_INT_DIGITS = 400
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")
#: a JSON ``\u`` escape of a UTF-16 surrogate: the only way a lone one gets into parsed text.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def is_number(value: object) -> bool:
    """A JSON number (``bool`` is an ``int`` subclass in Python, and is excluded)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---------------------------------------------------------------------------------- reading


def children(node: Node | None) -> Iterator[tuple[str, Node]]:
    """The (key, child) pairs of a node, in storage order; none for leaves."""
    if isinstance(node, dict) and VALUE not in node:
        for key, child in node.items():
            if key[0] != ".":
                yield key, child


def child(node: Node | None, key: str) -> Node | None:
    """The child ``key`` of a node, ``None`` when absent or when the node is a leaf."""
    if isinstance(node, dict) and VALUE not in node and key[0] != ".":
        found: Node | None = node.get(key)
        return found
    return None


def descend(node: Node | None, path: tuple[str, ...]) -> Node | None:
    """The node at ``path`` below ``node``."""
    for key in path:
        if node is None:
            return None
        node = child(node, key)
    return node


def priority_of(node: Node | None) -> Priority:
    """The priority of a node, ``None`` when it has none."""
    if isinstance(node, dict):
        found: Priority = node.get(PRIORITY)
        return found
    return None


def leaf_value(node: Node | None) -> Leaf | None:
    """The value of a leaf without its priority; ``None`` for objects and absent nodes."""
    if isinstance(node, dict):
        inner: Leaf | None = node.get(VALUE)
        return inner
    return node


def is_object(node: Node | None) -> bool:
    """Whether the node has children."""
    return isinstance(node, dict) and VALUE not in node


def render(node: Node | None) -> Json:
    """The JSON a normal read returns: priorities hidden, dense integer-keyed objects as arrays.

    Object keys come out in Firebase key order.
    """
    if not isinstance(node, dict):
        return node
    if VALUE in node:
        leaf: Json = node[VALUE]
        return leaf
    keys = sorted((k for k in node if k[0] != "."), key=key_order)
    return as_array_if_dense({k: render(node[k]) for k in keys})


def as_array_if_dense(obj: dict[str, Json]) -> Json:
    """Firebase's array heuristic: all keys are array indexes and ``max < 2 * count``."""
    if not obj:
        return None
    top = -1
    for key in obj:
        if not _ARRAY_INDEX.fullmatch(key):
            return obj
        top = max(top, int(key))
    if top >= 2 * len(obj):
        return obj
    array: list[Json] = [None] * (top + 1)
    for key, value in obj.items():
        array[int(key)] = value
    return array


def render_export(node: Node | None) -> Json:
    """The JSON ``format=export`` returns: the stored form, priorities included."""
    return node


def shallow(node: Node | None) -> Json:
    """``shallow=true``: a leaf's value, or ``true`` for each child of an object."""
    if is_object(node):
        return {key: True for key, _ in children(node)}
    return leaf_value(node)


def canonical(value: Json | Node) -> str:
    """Compact, key-sorted JSON used for equality and ETags."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def etag(node: Node | None) -> str:
    """The ETag of a node: base64 SHA-1 of its canonical export JSON."""
    digest = hashlib.sha1(canonical(node).encode("utf-8"), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


# ---------------------------------------------------------------------------------- writing


class Normaliser:
    """Turns written JSON into a stored node: validation, server values, priorities.

    ``now_ms`` is the server time every ``{".sv": "timestamp"}`` in one write resolves to.
    Each call gets the node being replaced, so increments resolve per node against it.
    """

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def normalise(self, value: Json, depth: int, existing: Node | None) -> Node | None:
        """Normalise ``value`` written at a path ``depth`` keys deep over ``existing``.

        Raises ``ServiceError(INVALID_ARGUMENT)`` for invalid keys, types, server values,
        priorities, sizes or depth; never mutates ``existing``.
        """
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return _check_number(value)
        if isinstance(value, str):
            return _check_string(value)
        if isinstance(value, list):
            return self._object({str(i): v for i, v in enumerate(value)}, depth, existing)
        if isinstance(value, dict):
            return self._dict(value, depth, existing)
        raise invalid(f"Invalid data: unsupported value of type {type(value).__name__}")

    def _dict(self, value: dict[str, Json], depth: int, existing: Node | None) -> Node | None:
        if SERVER_VALUE in value:
            if len(value) != 1:
                raise invalid("Invalid data: '.sv' cannot be combined with other keys")
            return self.server_value(value[SERVER_VALUE], existing)
        priority = self._priority(value[PRIORITY], existing) if PRIORITY in value else None
        if VALUE in value:
            if any(k not in (VALUE, PRIORITY) for k in value):
                raise invalid("Invalid data: '.value' cannot be combined with children")
            inner = value[VALUE]
            if isinstance(inner, dict) and VALUE in inner:
                # Nested wrappers add no depth, so without this they recurse without bound.
                raise invalid("Invalid data: '.value' cannot hold another '.value'")
            node = self.normalise(inner, depth, existing)
        else:
            node = self._object({k: v for k, v in value.items() if k != PRIORITY}, depth, existing)
        return with_priority(node, priority)

    def _object(self, value: dict[str, Json], depth: int, existing: Node | None) -> Node | None:
        out: dict[str, Node] = {}
        for key, item in value.items():
            check_key(key)
            if item is None:
                continue
            check_depth(depth + 1)
            node = self.normalise(item, depth + 1, child(existing, key))
            if node is not None:
                out[key] = node
        return out or None

    def _priority(self, value: Json, existing: Node | None) -> Priority:
        if isinstance(value, dict) and set(value) == {SERVER_VALUE}:
            resolved = self.server_value(value[SERVER_VALUE], priority_of(existing))
            return resolved if not isinstance(resolved, bool) else None
        return check_priority(value)

    def server_value(self, spec: Json, existing: Node | None) -> Leaf:
        """Resolve a server value: ``"timestamp"`` or ``{"increment": n}``."""
        if spec == "timestamp":
            return self.now_ms
        if isinstance(spec, dict) and set(spec) == {"increment"}:
            delta = spec["increment"]
            if not is_number(delta):
                raise invalid("Invalid data: increment must be a number")
            assert isinstance(delta, int | float)
            delta = _check_number(delta)  # a double, so the sum cannot overflow int -> float
            current = leaf_value(existing)
            if is_number(current):
                assert isinstance(current, int | float)
                return _check_number(current + delta)
            return delta
        raise invalid(f"Invalid data: unknown server value {canonical(spec)}")


def check_priority(value: Json) -> Priority:
    """A valid priority (``None``, a number, or a short string), else ``INVALID_ARGUMENT``."""
    if value is None:
        return None
    if is_number(value):
        assert isinstance(value, int | float)
        return _check_number(value)
    if isinstance(value, str):
        if len(value.encode("utf-8")) > MAX_KEY_BYTES:
            raise invalid(f"Invalid priority: strings are limited to {MAX_KEY_BYTES} bytes")
        return value
    raise invalid("Invalid priority: must be null, a number or a string")


def with_priority(node: Node | None, priority: Priority) -> Node | None:
    """``node`` with its priority replaced (``None`` removes it); absent nodes stay absent."""
    if node is None:
        return None
    if isinstance(node, dict):
        if VALUE in node:
            node = node[VALUE]
        else:
            node = {k: v for k, v in node.items() if k != PRIORITY}
            if priority is not None:
                node[PRIORITY] = priority
            return node
    if priority is None:
        return node
    return {VALUE: node, PRIORITY: priority}


def _check_number(value: float) -> int | float:
    """A storable number: finite, and an integer only as precise as a double.

    Firebase keeps numbers as IEEE doubles, so integers beyond 2**53 are rounded to the nearest
    double. They stay ``int`` (what a client parsing the real server's digits gets), and integers
    no double can hold are refused like infinities.
    """
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return value
        try:
            return int(float(value))
        except OverflowError:
            raise invalid("Invalid data: numbers must be finite doubles") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise invalid("Invalid data: numbers must be finite")
    return value


def _check_string(value: str) -> str:
    if len(value) * 4 > MAX_STRING_BYTES and len(value.encode("utf-8")) > MAX_STRING_BYTES:
        raise invalid("Invalid data: strings are limited to 10 MB")
    return value


def parse_json(body: bytes | str) -> Json:
    """Parse a request body; ``NaN``/``Infinity`` and bad UTF-8 are refused like bad JSON.

    Also refuses, with ``INVALID_ARGUMENT``: nesting too deep for the parser, integers with more
    digits than a double holds, and strings (or keys) holding a lone UTF-16 surrogate, which
    ``json`` accepts from a ``\\ud800`` escape but no UTF-8 response could carry.
    """
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        parsed: Json = json.loads(text, parse_constant=_no_constants, parse_int=_parse_int)
    except (ValueError, RecursionError):
        raise invalid("Invalid data; couldn't parse JSON object, array, or value.") from None
    if not isinstance(body, bytes) or _SURROGATE_ESCAPE.search(text):
        check_text(parsed)
    return parsed


def _no_constants(name: str) -> Json:
    raise ValueError(name)


def _parse_int(digits: str) -> int:
    if len(digits) > _MAX_INT_DIGITS:
        raise invalid("Invalid data: numbers must be finite doubles")
    return int(digits)


def check_text(value: Json) -> None:
    """Raise ``INVALID_ARGUMENT`` if a string or key anywhere in ``value`` is not valid UTF-16.

    Iterative, so it is safe on whatever nesting ``json.loads`` accepted.
    """
    pending: list[Json] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            _check_unicode(item)
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            for key, child_value in item.items():
                _check_unicode(key)
                pending.append(child_value)


def _check_unicode(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise invalid("Invalid data: strings must be valid UTF-16 (lone surrogate)") from None
