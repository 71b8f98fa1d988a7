"""The Realtime Database event stream applied to a local tree: pure, no I/O.

An SSE listener on a path receives ``put`` (replace the value at a relative path) and
``patch`` (replace several children of a relative path) events. :class:`RtdbView` keeps the
value at the listened path and, for each event, reports which direct children changed and
how: for a collection-like path the children are its entries. A ``put`` at the root -- sent
on every (re)connect and after every token refresh -- is diffed child by child, so a full
re-send of unchanged data reports nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ProtocolError

__all__ = ["Absent", "ChildChange", "RtdbView"]


class _AbsentType:
    """Marks a child that does not exist (distinct from any JSON value)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Absent"


Absent: Any = _AbsentType()


@dataclass(frozen=True, slots=True)
class ChildChange:
    """A direct child whose value changed; ``before``/``after`` may be :data:`Absent`."""

    key: str
    before: Any
    after: Any


class RtdbView:
    """The JSON value at one listened path, kept current by ``put`` and ``patch`` events."""

    def __init__(self) -> None:
        self.value: Any = None
        #: number of root-level puts applied (one per connection, plus token refreshes)
        self.full_puts = 0

    @property
    def children(self) -> Mapping[str, Any]:
        """The direct children (entries) of the listened path."""
        return _as_object(self.value) if isinstance(self.value, dict | list) else {}

    def apply(self, event: str, payload: Any) -> list[ChildChange]:
        """Apply a ``put`` or ``patch`` event's ``{"path", "data"}``; return changed children.

        Raises :class:`~firebase_sync.errors.ProtocolError` for malformed payloads.
        """
        if not isinstance(payload, Mapping) or not isinstance(payload.get("path"), str):
            raise ProtocolError(f"malformed {event} event: {payload!r:.200}")
        segments = [s for s in payload["path"].split("/") if s]
        data = payload.get("data")
        if event == "put":
            writes = [(segments, data)]
        elif event == "patch":
            if not isinstance(data, Mapping):
                raise ProtocolError("patch data must be an object")
            writes = [(segments + [s for s in key.split("/") if s], v) for key, v in data.items()]
        else:
            raise ProtocolError(f"not a data event: {event!r}")
        if any(not path for path, _ in writes):
            return self._replace_root(writes[-1][1])
        touched = {path[0] for path, _ in writes}
        before = {key: self.children.get(key, Absent) for key in touched}
        for path, value in writes:
            self._write(path, value)
        return _diff(before, {key: self.children.get(key, Absent) for key in touched})

    def _replace_root(self, value: Any) -> list[ChildChange]:
        self.full_puts += 1
        before = dict(self.children)
        self.value = _prune(value)
        return _diff(before, dict(self.children))

    def _write(self, path: list[str], value: Any) -> None:
        # The root is updated in place (it may hold a whole collection); below it, nodes are
        # copied on write so the "before" values captured by apply() stay intact.
        if not isinstance(self.value, dict):
            self.value = _as_object(self.value) if isinstance(self.value, list) else {}
        root: dict[str, Any] = self.value
        child = _set_in(root.get(path[0]), path[1:], _prune(value))
        if child is None:
            root.pop(path[0], None)
        else:
            root[path[0]] = child
        if not root:
            self.value = None


def _set_in(node: Any, path: list[str], value: Any) -> Any:
    """``node`` with ``value`` at ``path``, as a new object; ``None`` when left empty."""
    if not path:
        return value
    if not isinstance(node, dict | list):
        if value is None:
            return node  # deleting below a leaf or a missing node changes nothing
        node = {}
    copy = dict(_as_object(node))
    child = _set_in(copy.get(path[0]), path[1:], value)
    if child is None:
        copy.pop(path[0], None)
    else:
        copy[path[0]] = child
    return copy or None


def _as_object(value: dict[str, Any] | list[Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    return {str(i): item for i, item in enumerate(value) if item is not None}


def _prune(value: Any) -> Any:
    """Normalise like the server: nulls and empty objects disappear."""
    if isinstance(value, list):
        value = _as_object(value)
    elif not isinstance(value, dict):
        return value
    # Recursing only into objects and arrays, not once per leaf: a root put of a large
    # collection goes through here for every value it holds.
    out: dict[str, Any] = {}
    for key, child in value.items():
        if isinstance(child, _CONTAINERS):
            child = _prune(child)
        if child is not None:
            out[key] = child
    return out or None


_CONTAINERS = (dict, list)


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[ChildChange]:
    changes = []
    for key in before.keys() | after.keys():
        old = before.get(key, Absent)
        new = after.get(key, Absent)
        if old is Absent and new is Absent:
            continue
        if old is Absent or new is Absent or old != new:
            changes.append(ChildChange(key, old, new))
    changes.sort(key=lambda c: c.key)
    return changes
