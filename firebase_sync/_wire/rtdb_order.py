"""Realtime Database ordering and query evaluation, pure.

Used to order query results (the REST reply is an unordered object) and to keep a listened
query's window current: :class:`QueryWindow` updates the window from the changed children
only (a bisect into the sorted in-range entries), never re-sorting the subtree per event.

* by key: keys that are 32-bit integers come first, numerically (shorter text first on ties),
  then every other key in string order;
* by value or by child: missing/null < false < true < numbers < strings < objects; equal
  values (and all objects) are ordered by key.

``start_at``/``end_at``/``equal_to`` compare the ordered-by value only, both bounds inclusive;
then ``limit_to_first``/``limit_to_last`` keep the first or last entries.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .rtdb_events import Absent

__all__ = ["QueryWindow", "RtdbQuerySpec", "evaluate", "key_order", "value_order"]

_INT_KEY = re.compile(r"^-?\d{1,11}$")
_INT32 = (-(2**31), 2**31 - 1)
_MISSING: Any = None


def key_order(key: str) -> tuple[Any, ...]:
    """Sort key for a child name, by Firebase's key ordering."""
    if _INT_KEY.match(key):
        number = int(key)
        if _INT32[0] <= number <= _INT32[1]:
            return (0, number, len(key))
    return (1, key)


def value_order(value: Any) -> tuple[Any, ...]:
    """Sort key for a value, by Firebase's value ordering (without the key tie-break)."""
    if value is None or value is Absent:
        return (0,)
    if value is False:
        return (1,)
    if value is True:
        return (2,)
    if isinstance(value, int | float):
        return (3, value)
    if isinstance(value, str):
        return (4, value)
    return (5,)


@dataclass(frozen=True, slots=True)
class RtdbQuerySpec:
    """An RTDB query: ``order_by`` is ``"$key"``, ``"$value"`` or a child path (``"a/b"``)."""

    order_by: str = "$key"
    start_at: Any = Absent
    end_at: Any = Absent
    limit_to_first: int | None = None
    limit_to_last: int | None = None

    def params(self) -> dict[str, str]:
        """REST query parameters (values JSON-encoded, as the SDK sends them)."""
        params = {"orderBy": json.dumps(self.order_by)}
        if self.start_at is not Absent:
            params["startAt"] = json.dumps(self.start_at)
        if self.end_at is not Absent:
            params["endAt"] = json.dumps(self.end_at)
        if self.limit_to_first is not None:
            params["limitToFirst"] = str(self.limit_to_first)
        if self.limit_to_last is not None:
            params["limitToLast"] = str(self.limit_to_last)
        return params

    def describe(self) -> str:
        return "&".join(f"{k}={v}" for k, v in sorted(self.params().items()))

    def index(self, key: str, value: Any) -> tuple[Any, ...]:
        """The sort key of one child under this query's ordering."""
        if self.order_by == "$key":
            return key_order(key)
        indexed = value if self.order_by == "$value" else child_at(value, self.order_by)
        return (value_order(indexed), key_order(key))

    def bound(self, bound: Any) -> tuple[Any, ...]:
        if self.order_by == "$key":
            return key_order(str(bound))
        return value_order(bound)

    def matches_range(self, key: str, value: Any) -> bool:
        return self.index_in_range(self.index(key, value))

    def index_in_range(self, index: tuple[Any, ...]) -> bool:
        """Whether a child with sort key ``index`` lies within ``start_at``..``end_at``."""
        own = index if self.order_by == "$key" else index[0]
        if self.start_at is not Absent and own < self.bound(self.start_at):
            return False
        return not (self.end_at is not Absent and own > self.bound(self.end_at))


def child_at(value: Any, path: str) -> Any:
    """The value at a child path inside ``value`` (``Absent`` if missing)."""
    for segment in (s for s in path.split("/") if s):
        if not isinstance(value, Mapping) or segment not in value:
            return Absent
        value = value[segment]
    return value


def evaluate(children: Mapping[str, Any], spec: RtdbQuerySpec) -> list[tuple[str, Any]]:
    """The children a query selects, in query order."""
    selected = sorted(
        ((k, v) for k, v in children.items() if spec.matches_range(k, v)),
        key=lambda item: spec.index(*item),
    )
    if spec.limit_to_first is not None:
        selected = selected[: spec.limit_to_first]
    if spec.limit_to_last is not None:
        selected = selected[-spec.limit_to_last :] if spec.limit_to_last else []
    return selected


class QueryWindow:
    """The children a query selects, kept current one changed child at a time.

    Holds every in-range child's sort key in a sorted list; a change costs a bisect and a list
    insertion or removal, and the limited window is read as a slice, so an event over a large
    subtree costs O(log n + limit) comparisons (plus a memmove), not a sort of n entries.
    """

    def __init__(self, spec: RtdbQuerySpec) -> None:
        self.spec = spec
        self._sorted: list[tuple[tuple[Any, ...], str]] = []
        self._index: dict[str, tuple[Any, ...]] = {}
        self._values: dict[str, Any] = {}
        self.window: dict[str, Any] = {}

    def update(self, changed: Iterable[tuple[str, Any]]) -> dict[str, tuple[Any, Any]]:
        """Apply ``(key, value)`` changes (``Absent`` removes); return what left, entered or
        changed in the window as ``{key: (before, after)}`` (``Absent`` on a missing side)."""
        spec = self.spec
        touched: list[str] = []
        for key, value in changed:
            touched.append(key)
            old = self._index.pop(key, None)
            if old is not None:
                position = bisect.bisect_left(self._sorted, (old, key))
                del self._sorted[position]
                del self._values[key]
            if value is Absent:
                continue
            index = spec.index(key, value)
            if spec.index_in_range(index):
                bisect.insort(self._sorted, (index, key))
                self._index[key] = index
                self._values[key] = value
        if spec.limit_to_first is None and spec.limit_to_last is None:
            # No limit: membership is per child, so only the changed children can differ.
            candidates: Iterable[str] = dict.fromkeys(touched)
            old_window = {k: self.window[k] for k in candidates if k in self.window}
            for key in candidates:
                if key in self._values:
                    self.window[key] = self._values[key]
                else:
                    self.window.pop(key, None)
            window = {k: self.window[k] for k in candidates if k in self.window}
        else:
            entries = self._sorted
            if spec.limit_to_first is not None:
                entries = entries[: spec.limit_to_first]
            if spec.limit_to_last is not None:
                entries = entries[-spec.limit_to_last :] if spec.limit_to_last else []
            window = {key: self._values[key] for _, key in entries}
            old_window, self.window = self.window, window
        diff: dict[str, tuple[Any, Any]] = {}
        for key in dict.fromkeys([*old_window, *window]):
            before, after = old_window.get(key, Absent), window.get(key, Absent)
            if before is Absent or after is Absent or before != after:
                diff[key] = (before, after)
        return diff
