"""What a listener at one path sees of one write (REST streaming, ``put`` / ``patch`` events).

Pure functions: given the listener's path and a ``Write``, decide the event.

- A write at or below the listener: the same kind of event, its path made relative to the
  listener, always emitted.
- A put above the listener, or a patch with a key at or above it: ``put "/"`` with the listener's
  new value, only when that value changed.
- A patch above the listener whose keys point inside it: ``patch "/"`` with those keys rebased.
- Anything else (siblings): nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

from .paths import Path, is_prefix, join
from .tree import Write, same
from .values import Json


@dataclass(frozen=True)
class Event:
    """One ``put`` or ``patch`` event as the stream carries it."""

    name: Literal["put", "patch"]
    path: str
    data: Json

    def payload(self) -> dict[str, Json]:
        """The JSON object of the SSE ``data:`` line."""
        return {"path": self.path, "data": self.data}


class Relation(Enum):
    """Where a write sits relative to a listener."""

    AT_OR_BELOW = "at_or_below"
    ABOVE = "above"
    UNRELATED = "unrelated"


def relation(listener: Path, write_path: Path) -> Relation:
    """Classify ``write_path`` against ``listener``."""
    if is_prefix(listener, write_path):
        return Relation.AT_OR_BELOW
    if is_prefix(write_path, listener):
        return Relation.ABOVE
    return Relation.UNRELATED


def derive(listener: Path, write: Write, before: Json = None, after: Json = None) -> Event | None:
    """The event a listener at ``listener`` gets for ``write``, or ``None``.

    ``before`` / ``after`` are the listener's rendered values around the write; they are only
    consulted when the write covers the listener from above (``relation`` is ``ABOVE``).
    """
    where = relation(listener, write.path)
    if where is Relation.UNRELATED:
        return None
    if where is Relation.AT_OR_BELOW:
        return Event(write.kind, join(write.path[len(listener) :]), write.data)
    changed = None if same(before, after) else Event("put", "/", after)
    if write.kind == "put":
        return changed
    assert isinstance(write.data, dict)
    depth = len(listener) - len(write.path)
    rebased: dict[str, Json] = {}
    for rel, (name, value) in zip(write.patch_paths, write.data.items(), strict=True):
        full = write.path + rel
        if is_prefix(full, listener):
            return changed  # this key replaces the listener's whole value
        if is_prefix(listener, full):
            rebased["/".join(rel[depth:]) + _priority_suffix(name)] = value
    return Event("patch", "/", rebased) if rebased else None


def _priority_suffix(name: str) -> str:
    return "/.priority" if name.endswith("/.priority") or name == ".priority" else ""
