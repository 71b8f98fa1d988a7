"""Realtime Database ordering and query evaluation, pure.

Used to order query results (the REST reply is an unordered object) and to listen to
queries client-side: the listener streams the whole subtree and re-evaluates the query on it.

* by key: keys that are 32-bit integers come first, numerically (shorter text first on ties),
  then every other key in string order;
* by value or by child: missing/null < false < true < numbers < strings < objects; equal
  values (and all objects) are ordered by key.

``start_at``/``end_at``/``equal_to`` compare the ordered-by value only, both bounds inclusive;
then ``limit_to_first``/``limit_to_last`` keep the first or last entries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .rtdb_events import Absent

__all__ = ["RtdbQuerySpec", "evaluate", "key_order", "value_order"]

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
        index = self.index(key, value)
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
