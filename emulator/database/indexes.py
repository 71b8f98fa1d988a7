"""Sorted child indexes for REST and listener queries, kept current as writes land.

An index covers the children of one node under one order (``$key``, ``$value``,
``$priority`` or a child path): entries ``(index value, key order, key)``, sorted as
``Query.select`` orders them. A range is then a slice and a limit stops the walk, so a query
costs what it returns instead of ranking and sorting every child. An index is built the first
time a query on a big enough node needs it; a write below the node re-ranks the one child it
touched, a write at or above the node drops the node's indexes (rebuilt on the next query).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sortedcontainers import SortedList

from emulator.database.ordering import key_order
from emulator.database.paths import Path
from emulator.database.values import Node, child, children, is_object

if TYPE_CHECKING:
    from emulator.database.query import Query

#: nodes with fewer children are ranked per query: cheaper than building an index.
MIN_INDEXED_CHILDREN = 200

OrderKey = tuple[str, Path]


class ChildIndex:
    """The children of one node in one query order."""

    def __init__(self, rank: Callable[[str, Node], tuple[Any, ...]], node: Node) -> None:
        self._rank = rank
        self.by_key: dict[str, tuple[Any, ...]] = {}
        for key, value in children(node):
            self.by_key[key] = (rank(key, value), key_order(key), key)
        self.entries: Any = SortedList(self.by_key.values())

    def refresh(self, key: str, value: Node | None) -> None:
        """Re-rank child ``key`` (``value`` None: it is gone)."""
        old = self.by_key.pop(key, None)
        if old is not None:
            self.entries.remove(old)
        if value is not None:
            entry = (self._rank(key, value), key_order(key), key)
            self.by_key[key] = entry
            self.entries.add(entry)


class ChildIndexes:
    """Every child index of one tree, by node path."""

    def __init__(self) -> None:
        self._by_path: dict[Path, dict[OrderKey, ChildIndex]] = {}

    def clear(self) -> None:
        self._by_path.clear()

    def on_write(self, path: Path, node_at: Callable[[Path], Node | None]) -> None:
        """Keep indexes current after the node at ``path`` was replaced."""
        if not self._by_path:
            return
        for indexed in list(self._by_path):
            n = len(indexed)
            if len(path) > n and path[:n] == indexed:
                key = path[n]
                value = node_at(indexed + (key,))
                for index in self._by_path[indexed].values():
                    index.refresh(key, value)
            elif indexed[: len(path)] == path:
                del self._by_path[indexed]

    def for_query(self, path: Path, query: Query, node: Node | None) -> ChildIndex | None:
        """The index ``query`` walks over ``node`` (at ``path``), or None to rank per query."""
        if not is_object(node):
            return None
        order: OrderKey = (query.order_by, query.child)
        indexes = self._by_path.get(path)
        index = indexes.get(order) if indexes else None
        if index is None:
            assert isinstance(node, dict)
            if len(node) < MIN_INDEXED_CHILDREN:
                return None
            index = ChildIndex(query.rank, node)
            self._by_path.setdefault(path, {})[order] = index
        return index


def node_child(node: Node | None, key: str) -> Node:
    found = child(node, key)
    assert found is not None
    return found
