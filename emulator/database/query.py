"""Queries: ``orderBy`` with ``startAt`` / ``endAt`` / ``equalTo`` and a limit.

Children are sorted by the index (``$key``, ``$value``, ``$priority`` or a child path) with ties
broken by key, kept when ``startAt <= index <= endAt`` (REST bounds compare the index only, both
inclusive), then cut by ``limitToFirst`` / ``limitToLast``.

The WebSocket protocol's bounds are positions ``(index value, key name)`` compared with each
child's ``(index, key)``; either bound may be exclusive (``startAfter`` / ``endBefore``). A
bound without a name covers every key at its value: its name defaults to ``MIN_NAME`` for an
inclusive start or an exclusive end, ``MAX_NAME`` otherwise (so REST's index-only bounds are
the nameless case). Under ``$key`` the position is the key alone.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from emulator.database.indexes import ChildIndex, node_child
from emulator.database.ordering import OBJECT, key_order, priority_rank, value_rank
from emulator.database.paths import Path, split_relative
from emulator.database.values import (
    Json,
    Node,
    as_array_if_dense,
    children,
    descend,
    is_object,
    leaf_value,
    priority_of,
    render,
)
from emulator.errors import invalid

KEY, VALUE, PRIORITY = "$key", "$value", "$priority"
#: the query parameters this module owns; any of them makes a request a query.
PARAMS = ("orderBy", "startAt", "endAt", "equalTo", "limitToFirst", "limitToLast")
#: the largest limit accepted: a signed 32-bit integer, as the SDKs' wire protocol carries it.
MAX_LIMIT = 2**31 - 1
#: the names the clients use for "before every key" and "after every key" in bounds.
MIN_NAME, MAX_NAME = "[MIN_NAME]", "[MAX_NAME]"


class _Unbounded:
    def __repr__(self) -> str:
        return "UNBOUNDED"


UNBOUNDED = _Unbounded()
Bound = Json | _Unbounded


@dataclass(frozen=True)
class Query:
    """A parsed query; ``child`` is the child path when ordering by child."""

    order_by: str = PRIORITY
    child: Path = ()
    start: Bound = UNBOUNDED
    end: Bound = UNBOUNDED
    limit_first: int | None = None
    limit_last: int | None = None
    #: key names completing the bounds (``None``: every key at the bound's value)
    start_name: str | None = None
    end_name: str | None = None
    #: exclusive bounds (``startAfter`` / ``endBefore``)
    start_after: bool = False
    end_before: bool = False

    def select(
        self, node: Node | None, index: ChildIndex | None = None
    ) -> list[tuple[str, Node]] | None:
        """The children of ``node`` the query keeps, in query order.

        ``None`` means "not an object": leaves and absent nodes are returned unfiltered.
        ``index`` (over ``node`` in this query's order) turns ranking into a bounded walk.
        """
        if not is_object(node):
            return None
        if index is not None:
            return self._walk(node, index)
        ranked = sorted(
            (
                (self._index(key, child), key_order(key), key, child)
                for key, child in children(node)
            ),
            key=lambda entry: (entry[0], entry[1]),
        )
        if not isinstance(self.start, _Unbounded):
            low = self._position(
                self.start, self.start_name, MAX_NAME if self.start_after else MIN_NAME
            )
            if self.start_after:
                ranked = [e for e in ranked if self._at(e) > low]
            else:
                ranked = [e for e in ranked if self._at(e) >= low]
        if not isinstance(self.end, _Unbounded):
            high = self._position(
                self.end, self.end_name, MIN_NAME if self.end_before else MAX_NAME
            )
            if self.end_before:
                ranked = [e for e in ranked if self._at(e) < high]
            else:
                ranked = [e for e in ranked if self._at(e) <= high]
        if self.limit_first is not None:
            ranked = ranked[: self.limit_first]
        elif self.limit_last is not None:
            ranked = ranked[max(0, len(ranked) - self.limit_last) :] if self.limit_last else []
        return [(key, child) for _, _, key, child in ranked]

    def _walk(self, node: Node | None, index: ChildIndex) -> list[tuple[str, Node]]:
        low = None if isinstance(self.start, _Unbounded) else (self._bound(self.start),)
        # Every key order sorts below (2,): the bound takes all entries whose index is <= end.
        high = None if isinstance(self.end, _Unbounded) else (self._bound(self.end), (2,))
        keep = self._named_bounds()
        if self.limit_last is not None:
            walk = index.entries.irange(low, high, inclusive=(True, False), reverse=True)
            picked = list(itertools.islice(filter(keep, walk), self.limit_last))
            picked.reverse()
        else:
            walk = index.entries.irange(low, high, inclusive=(True, False))
            picked = list(itertools.islice(filter(keep, walk), self.limit_first))
        return [(key, node_child(node, key)) for _, _, key in picked]

    def _named_bounds(self) -> Callable[[tuple[Any, ...]], bool] | None:
        # The walk's slice covers whole index values; names and exclusive bounds (WebSocket
        # queries) then only drop entries at the boundary values. None: nothing to drop (REST).
        if not (self.start_name or self.end_name or self.start_after or self.end_before):
            return None
        low = high = None
        if not isinstance(self.start, _Unbounded):
            low = self._position(
                self.start, self.start_name, MAX_NAME if self.start_after else MIN_NAME
            )
        if not isinstance(self.end, _Unbounded):
            high = self._position(
                self.end, self.end_name, MIN_NAME if self.end_before else MAX_NAME
            )

        def keep(entry: tuple[Any, ...]) -> bool:
            at = self._at(entry)
            if low is not None and (at <= low if self.start_after else at < low):
                return False
            return high is None or (at < high if self.end_before else at <= high)

        return keep

    def rank(self, key: str, node: Node) -> tuple[Any, ...]:
        """The index value of child ``key`` (``node``) under this query's order."""
        return self._index(key, node)

    def _index(self, key: str, node: Node) -> tuple[Any, ...]:
        if self.order_by == KEY:
            return key_order(key)
        if self.order_by == PRIORITY:
            return priority_rank(priority_of(node))
        target = node if self.order_by == VALUE else descend(node, self.child)
        return (OBJECT,) if is_object(target) else value_rank(leaf_value(target))

    def _at(self, entry: tuple[Any, ...]) -> tuple[Any, ...]:
        # The position a child is compared at: (index, key); under ``$key`` the key alone.
        return (entry[0],) if self.order_by == KEY else (entry[0], entry[1])

    def _position(self, value: Json, name: str | None, default: str) -> tuple[Any, ...]:
        if self.order_by == KEY:
            return (self._bound(value),)
        return (self._bound(value), _name_order(name if name is not None else default))

    def _bound(self, value: Json) -> tuple[Any, ...]:
        if self.order_by == KEY:
            assert isinstance(value, str)
            return key_order(value)
        if self.order_by == PRIORITY:
            return priority_rank(value)
        return value_rank(value)


def _name_order(name: str) -> tuple[Any, ...]:
    if name == MIN_NAME:
        return (-1,)
    if name == MAX_NAME:
        return (2,)
    return key_order(name)


def render_selection(node: Node | None, selected: list[tuple[str, Node]] | None) -> Json:
    """Render a query result as a normal read would, keeping the query order.

    A query that matches nothing in an existing object gives ``{}`` (unlike a missing node).
    """
    if selected is None:
        return render(node)
    if not selected:
        return {}
    return as_array_if_dense({key: render(child) for key, child in selected})


def parse_query(params: Mapping[str, str]) -> Query | None:
    """Build a ``Query`` from raw (already percent-decoded) parameters; ``None`` if not a query.

    Raises ``ServiceError(INVALID_ARGUMENT)`` for malformed values or combinations.
    """
    if not any(name in params for name in PARAMS):
        return None
    order_by: str = PRIORITY
    child: Path = ()
    if "orderBy" in params:
        requested = _json_param(params, "orderBy")
        if not isinstance(requested, str) or not requested:
            raise invalid("orderBy must be a valid JSON encoded path")
        order_by = requested
        if order_by not in (KEY, VALUE, PRIORITY):
            child, is_priority = split_relative(order_by)
            if is_priority:
                order_by = PRIORITY
            elif not child:
                raise invalid("orderBy must be a valid JSON encoded path")
    elif any(name in params for name in ("startAt", "endAt", "equalTo")):
        raise invalid("orderBy must be defined when other query parameters are defined")
    if "equalTo" in params and ("startAt" in params or "endAt" in params):
        raise invalid("equalTo cannot be combined with startAt or endAt")
    if "limitToFirst" in params and "limitToLast" in params:
        raise invalid("limitToFirst and limitToLast cannot both be specified")
    start = _bound_param(params, "startAt", order_by)
    end = _bound_param(params, "endAt", order_by)
    if "equalTo" in params:
        start = end = _bound_param(params, "equalTo", order_by)
    return Query(
        order_by=order_by,
        child=child,
        start=start,
        end=end,
        limit_first=_limit_param(params, "limitToFirst"),
        limit_last=_limit_param(params, "limitToLast"),
    )


def _json_param(params: Mapping[str, str], name: str) -> Json:
    try:
        value: Json = json.loads(params[name], parse_constant=_refuse)
    except (ValueError, RecursionError):  # RecursionError: nesting too deep for the parser
        raise invalid(f"{name} must be a valid JSON value") from None
    return value


def _refuse(name: str) -> Json:
    raise ValueError(name)


def _bound_param(params: Mapping[str, str], name: str, order_by: str) -> Bound:
    if name not in params:
        return UNBOUNDED
    value: Json = _json_param(params, name)
    if order_by == KEY and not isinstance(value, str):
        raise invalid(f'{name} must be a string when orderBy is "$key"')
    if order_by == PRIORITY and isinstance(value, bool):
        raise invalid(f'{name} must be null, a number or a string when orderBy is "$priority"')
    if isinstance(value, dict | list):
        raise invalid(f"{name} must be a JSON primitive")
    return value


def _limit_param(params: Mapping[str, str], name: str) -> int | None:
    if name not in params:
        return None
    text = params[name]
    digits = text.lstrip("0") or "0"
    # Length first: int() refuses over 4,300 digits (and is slow well before).
    if not text.isascii() or not text.isdigit() or len(digits) > 10 or int(digits) > MAX_LIMIT:
        raise invalid(f"{name} must be an integer from 0 to {MAX_LIMIT}")
    return int(digits)
