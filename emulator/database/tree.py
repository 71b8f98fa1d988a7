"""One namespace's data: a tree of stored nodes and the writes Firebase's REST API performs.

Every write validates and normalises all of its input before touching the tree, so a refused
write (``ServiceError``) changes nothing. Writes return a ``Write`` describing what changed, from
which ``events`` derives what each listener sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from emulator.database.indexes import ChildIndexes
from emulator.database.paths import Path, check_depth, split_relative
from emulator.database.query import Query
from emulator.database.values import (
    Json,
    Node,
    Normaliser,
    canonical,
    check_priority,
    child,
    descend,
    etag,
    priority_of,
    render,
    with_priority,
)
from emulator.errors import Code, ServiceError, invalid


@dataclass(eq=False)
class EtagMismatch(ServiceError):
    """A conditional write whose ``if-match`` ETag is stale: carries the current state."""

    etag: str = ""
    current: Json = None


@dataclass(frozen=True)
class Write:
    """What a write did, for listeners.

    ``put``: ``data`` is the rendered new value at ``path`` (``None`` when deleted).
    ``patch``: ``data`` maps each relative key path (``"a/b"``) to its rendered new value.
    """

    kind: Literal["put", "patch"]
    path: Path
    data: Json
    #: keys of a patch, parsed, in the order of ``data``
    patch_paths: tuple[Path, ...] = field(default=())


#: called with every (path, new node) a write is about to store; raises to refuse the write.
Authorize = Callable[[list[tuple[Path, "Node | None"]]], None]


class Tree:
    """The data of one namespace. Not thread-safe: callers serialise access."""

    def __init__(self, clock_ms: Callable[[], int]) -> None:
        self._root: Node | None = None
        self._clock_ms = clock_ms
        #: sorted child indexes that queries walk (``indexes.py``), kept current by ``_put``.
        self.indexes = ChildIndexes()

    # ------------------------------------------------------------------------- reads

    def node(self, path: Path) -> Node | None:
        """The stored node at ``path`` (do not mutate it)."""
        return descend(self._root, path)

    def get(self, path: Path) -> Json:
        """The rendered value at ``path``."""
        return render(self.node(path))

    def priority(self, path: Path) -> Json:
        """The priority of the node at ``path``."""
        return priority_of(self.node(path))

    def etag(self, path: Path) -> str:
        """The ETag of the node at ``path``."""
        return etag(self.node(path))

    def check_etag(self, path: Path, expected: str | None) -> None:
        """Raise ``EtagMismatch`` unless ``expected`` is ``None`` or the current ETag."""
        if expected is None:
            return
        node = self.node(path)
        current = etag(node)
        if current != expected:
            raise EtagMismatch(
                Code.FAILED_PRECONDITION, "ETag mismatch", etag=current, current=render(node)
            )

    @property
    def empty(self) -> bool:
        """Whether the namespace holds no data."""
        return self._root is None

    # ------------------------------------------------------------------------- writes

    def set(
        self,
        path: Path,
        value: Json,
        *,
        if_match: str | None = None,
        authorize: Authorize | None = None,
    ) -> Write:
        """Replace the node at ``path`` (``None`` deletes it; its priority goes with it)."""
        self.check_etag(path, if_match)
        normaliser = Normaliser(self._clock_ms())
        node = normaliser.normalise(value, len(path), self.node(path))
        if authorize is not None:
            authorize([(path, node)])
        self._put(path, node)
        return Write("put", path, render(node))

    def set_priority(
        self,
        path: Path,
        value: Json,
        *,
        if_match: str | None = None,
        authorize: Authorize | None = None,
    ) -> Write:
        """Set the priority of the node at ``path``; a missing node stays missing."""
        self.check_etag(path, if_match)
        priority = check_priority(value)
        node = with_priority(self.node(path), priority)
        if authorize is not None:
            authorize([(path, node)])
        self._put(path, node)
        return Write("put", path, render(node))

    def update(
        self,
        path: Path,
        value: Json,
        *,
        if_match: str | None = None,
        authorize: Authorize | None = None,
    ) -> Write:
        """Apply a multi-path update atomically: each key of ``value`` is a relative path.

        Raises ``INVALID_ARGUMENT`` when ``value`` is not an object, a key is invalid, or two
        keys overlap (one is an ancestor of the other).
        """
        if not isinstance(value, dict):
            raise invalid("Invalid data; PATCH requires a JSON object")
        self.check_etag(path, if_match)
        parsed: list[tuple[str, Path, bool]] = []
        for key in value:
            rel, is_priority = split_relative(key)
            if not rel and not is_priority:
                raise invalid(f"Invalid key {key!r} in update")
            check_depth(len(path) + len(rel) + (1 if is_priority else 0))
            parsed.append(("/".join(rel) + ("/.priority" if is_priority else ""), rel, is_priority))
        _check_no_overlap([(rel, p) for _, rel, p in parsed], list(value))
        normaliser = Normaliser(self._clock_ms())
        planned: list[tuple[Path, Node | None]] = []
        data: dict[str, Json] = {}
        for (name, rel, is_priority), item in zip(parsed, value.values(), strict=True):
            full = path + rel
            if is_priority:
                priority = check_priority(item)
                node = with_priority(self.node(full), priority)
                data[name] = priority
            else:
                node = normaliser.normalise(item, len(full), self.node(full))
                data[name] = render(node)
            planned.append((full, node))
        if authorize is not None:
            authorize(planned)
        for full, node in planned:
            self._put(full, node)
        return Write("patch", path, data, tuple(rel for _, rel, _ in parsed))

    def replace_root(self, root: Node | None) -> None:
        """Install an already-normalised root (import, reset)."""
        self._root = root
        self.indexes.clear()

    # ------------------------------------------------------------------------- internals

    def _put(self, path: Path, node: Node | None) -> None:
        self._root = _put(self._root, path, node)
        self.indexes.on_write(path, self.node)

    def select(self, path: Path, query: Query) -> list[tuple[str, Node]] | None:
        """``query.select`` on the node at ``path``, walking an index when it pays."""
        node = self.node(path)
        return query.select(node, self.indexes.for_query(path, query, node))


def _put(current: Node | None, path: Path, node: Node | None) -> Node | None:
    """Return ``current`` with ``node`` at ``path``, pruning emptied objects on the way up.

    Objects along the path are mutated in place (callers validated everything beforehand).
    """
    if not path:
        return node
    key, rest = path[0], path[1:]
    if isinstance(current, dict) and ".value" not in current:
        container = current
    else:
        if node is None:
            return current  # deleting below a leaf or nothing changes nothing
        # Writing below a leaf replaces it with an object, keeping the leaf's priority.
        container = {}
        priority = priority_of(current)
        if priority is not None:
            container[".priority"] = priority
    updated = _put(child(container, key), rest, node)
    if updated is None:
        container.pop(key, None)
        if all(k[0] == "." for k in container):
            return None
    else:
        container[key] = updated
    return container


def _check_no_overlap(paths: list[tuple[Path, bool]], names: list[str]) -> None:
    full = sorted(
        (rel + ((".priority",) if is_priority else ()), name)
        for (rel, is_priority), name in zip(paths, names, strict=True)
    )
    for (a, name_a), (b, name_b) in zip(full, full[1:], strict=False):
        if b[: len(a)] == a:
            raise invalid(f"Invalid data; path '{name_a}' is an ancestor of '{name_b}' in update")


def same(a: Json, b: Json) -> bool:
    """Strict JSON equality (``True`` is not ``1``)."""
    return canonical(a) == canonical(b)
