"""Query indexes kept current as writes commit, and the planner that walks them.

An index covers one scope, a collection (``parent/coll``) or a collection group (every
collection with one ID), and one shape: *prefix* components (fields an equality, ``in`` or
``array-contains(-any)`` filter fixes; ``contains`` components index each array element) and an
optional *tail* field, the query's first order. Its entries are
``(*prefix keys, tail key, name key, name)`` for every document holding all those fields,
sorted. A fixed prefix is then one contiguous range already in result order (tail, then name),
so a query is answered by walking that range, in either direction, checking each candidate with
``Query.matches`` and stopping at offset + limit: cost follows the result, not the collection.

Single-field indexes (a tail alone, walked both ways) and the name index (no component) are
what production keeps automatically; the others are its composite indexes. The emulator needs
no index definitions: an index is built the first time a query needs it, then maintained on
every commit. Queries the planner cannot serve (OR filters, reads at an older time) fall back to a
scan; ``matches`` keeps results identical either way.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from sortedcontainers import SortedList

from .values import FieldPath, get_field, kind, name_key, sort_key, type_rank

if TYPE_CHECKING:
    from .query import Query

NAME: FieldPath = ("__name__",)
DESC = 2
# FieldFilter.Operator (as in query.py)
LT, LTE, GT, GTE, EQ, ARRAY_CONTAINS, IN, ARRAY_CONTAINS_ANY = 1, 2, 3, 4, 5, 7, 8, 9
#: collections smaller than this are scanned: building an index costs more than a scan.
MIN_INDEXED_DOCS = 200

VALUE, CONTAINS = "v", "c"
Component = tuple[str, FieldPath]
Shape = tuple[Component, ...]
#: ("c", collection path), ("g", collection id) or ALL (every document: kindless queries)
ScopeKey = tuple[str, str]
ALL: ScopeKey = ("a", "")
Entry = tuple[Any, ...]


class _Top:
    """Sorts after every key: ``(k, TOP)`` bounds everything that starts with ``k``."""

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return other is not self

    def __le__(self, other: object) -> bool:
        return other is self

    def __ge__(self, other: object) -> bool:
        return True

    def __repr__(self) -> str:
        return "TOP"


TOP = _Top()


def _component_keys(doc: Any, component: Component) -> list[Any] | None:
    mode, path = component
    v = get_field(doc.fields, path)
    if v is None:
        return None
    if mode == CONTAINS:
        if kind(v) != "array_value":
            return None
        keys = list({sort_key(e): None for e in v.array_value.values})
        return keys or None
    return [sort_key(v)]


_PREFIXES: dict[str, tuple[Any, ...]] = {}


def _name_key(name: str) -> tuple[Any, ...]:
    """``name_key(name)``, sharing the key of the collection path between its documents
    (an index holds one per entry: this is most of its memory and build time)."""
    coll, _, last = name.rpartition("/")
    prefix = _PREFIXES.get(coll)
    if prefix is None:
        if len(_PREFIXES) > 10_000:
            _PREFIXES.clear()
        prefix = _PREFIXES[coll] = name_key(coll)
    return prefix + name_key(last)


class Index:
    """The sorted entries of one shape over one scope."""

    def __init__(self, shape: Shape, docs: Iterable[Any]) -> None:
        self.shape = shape
        self.entries: Any = SortedList(e for d in docs for e in self.entries_of(d))

    def entries_of(self, doc: Any) -> list[Entry]:
        parts = []
        for component in self.shape:
            keys = _component_keys(doc, component)
            if keys is None:
                return []
            parts.append(keys)
        tail = (_name_key(doc.name), doc.name)
        if len(parts) == 1 and len(parts[0]) == 1:
            return [(parts[0][0], *tail)]
        return [(*combo, *tail) for combo in itertools.product(*parts)]

    def update(self, before: Any | None, after: Any | None) -> None:
        if before is not None:
            for e in self.entries_of(before):
                self.entries.discard(e)
        if after is not None:
            for e in self.entries_of(after):
                self.entries.add(e)


def _scope_of(name: str) -> tuple[str, str]:
    coll = name.rpartition("/")[0]
    return coll, coll.rpartition("/")[2]


class Indexes:
    """Every index of one database, found by the collection path or group of a document."""

    def __init__(self) -> None:
        self._by_scope: dict[ScopeKey, dict[Shape, Index]] = {}

    def on_put(self, name: str, before: Any | None, after: Any | None) -> None:
        """Keep indexes current for one committed document change."""
        if not self._by_scope:
            return
        coll, group = _scope_of(name)
        for key in (("c", coll), ("g", group), ALL):
            shapes = self._by_scope.get(key)
            if shapes:
                for index in shapes.values():
                    index.update(before, after)

    def get(self, scope: ScopeKey, shape: Shape, docs: Iterable[Any]) -> Index:
        """The index of ``shape`` over ``scope``, built from ``docs`` if it does not exist."""
        shapes = self._by_scope.setdefault(scope, {})
        index = shapes.get(shape)
        if index is None:
            index = shapes[shape] = Index(shape, docs)
        return index

    def has(self, scope: ScopeKey, shape: Shape) -> bool:
        return shape in self._by_scope.get(scope, {})

    def count(self) -> int:
        return sum(len(s) for s in self._by_scope.values())


# ---------------------------------------------------------------- planning


def _range_bounds(op: int, target: Any) -> tuple[Entry | None, Entry | None]:
    """(inclusive lower, exclusive upper) on a field's key for one filter; None = open."""
    k = sort_key(target)
    if op == EQ:
        return (k,), (k, TOP)
    rank = type_rank(target)
    # Range filters only match values of the operand's type class.
    floor, ceiling = ((rank,),), ((rank + 1,),)
    if op == GT:
        return (k, TOP), ceiling
    if op == GTE:
        return (k,), ceiling
    if op == LT:
        return floor, (k,)
    if op == LTE:
        return floor, (k, TOP)
    return None, None


def _tail_key(v: Any, tail_is_name: bool) -> Any:
    if tail_is_name:
        return name_key(v.reference_value) if kind(v) == "reference_value" else None
    return sort_key(v)


def _bounds(
    q: Query, conjuncts: list[tuple[FieldPath, int, Any]]
) -> tuple[Entry | None, Entry | None]:
    """Bounds on the first order's key from the filters and cursors on it (a superset)."""
    p0, d0 = q.orders[0]
    is_name = p0 == NAME
    lows: list[Entry] = []
    highs: list[Entry] = []
    for path, op, target in conjuncts:
        if path != p0 or op not in (EQ, LT, LTE, GT, GTE):
            continue
        if is_name:
            if kind(target) != "reference_value":
                continue
            k = name_key(target.reference_value)
            lo, hi = {
                EQ: ((k,), (k, TOP)),
                GT: ((k, TOP), None),
                GTE: ((k,), None),
                LT: (None, (k,)),
                LTE: (None, (k, TOP)),
            }[op]
        else:
            lo, hi = _range_bounds(op, target)
        if lo is not None:
            lows.append(lo)
        if hi is not None:
            highs.append(hi)
    for cursor, is_start in ((q.start, True), (q.end, False)):
        if cursor is None or not cursor.values:
            continue
        k = _tail_key(cursor.values[0], is_name)
        if k is None:
            continue
        # The cursor's first value bounds the walk inclusively; ``matches`` does the rest.
        if is_start == (d0 != DESC):
            lows.append((k,))
        else:
            highs.append((k, TOP))
    return (max(lows) if lows else None), (min(highs) if highs else None)


def _prefix(
    conjuncts: list[tuple[FieldPath, int, Any]], p0: FieldPath
) -> tuple[list[Component], list[list[Any]]]:
    """Prefix components and, for each, the keys a candidate may hold there."""
    fixed: dict[Component, list[Any]] = {}
    disjunction = False
    for path, op, target in conjuncts:
        if path == NAME:
            continue
        if op == EQ and path != p0:
            fixed.setdefault((VALUE, path), [sort_key(target)])
        elif op == ARRAY_CONTAINS:
            fixed.setdefault((CONTAINS, path), [sort_key(target)])
        elif op in (IN, ARRAY_CONTAINS_ANY) and not disjunction:
            component = (VALUE if op == IN else CONTAINS, path)
            if component in fixed:
                continue
            keys = sorted({sort_key(e): None for e in target.array_value.values})
            fixed[component] = keys
            disjunction = True
    components = sorted(fixed)
    return components, [fixed[c] for c in components]


def plan_run(q: Query, db: Any, min_docs: int = MIN_INDEXED_DOCS) -> list[Any] | None:
    """``q``'s results (before projection) from an index over ``db``, or None to scan."""
    conjuncts = q.conjuncts
    if conjuncts is None:
        return None
    if q.all_descendants:
        scope: ScopeKey = ("g", q.collection_id) if q.collection_id else ALL
    else:
        scope = ("c", q.collection_path)
    p0, d0 = q.orders[0]
    components, prefix_keys = _prefix(conjuncts, p0)
    shape: Shape = tuple(components) + (() if p0 == NAME else ((VALUE, p0),))
    indexes: Indexes = db.indexes
    if scope[0] == "c" and not indexes.has(scope, shape):
        if len(db.collections.get(scope[1], ())) < min_docs:
            return None
    need = None if q.limit is None else q.offset + q.limit
    if need == 0:
        return []
    index = indexes.get(scope, shape, _scope_docs(db, scope))
    low, high = _bounds(q, conjuncts)
    if scope[0] != "c" and p0 == NAME and not components:
        # Descendants of the parent are one run of the name order.
        parent = name_key(q.parent)
        low = max(low, (parent,)) if low is not None else (parent,)
        high = min(high, ((*parent, TOP),)) if high is not None else ((*parent, TOP),)
    if low is not None and high is not None and low >= high:
        return []
    reverse = d0 == DESC
    entries = index.entries
    streams = []
    for keys in itertools.product(*prefix_keys):
        lo = (*keys, *low) if low is not None else (keys or None)
        hi = (*keys, *high) if high is not None else ((*keys, TOP) if keys else None)
        streams.append(entries.irange(lo, hi, inclusive=(True, False), reverse=reverse))
    n = len(components)
    stream: Iterator[Entry]
    if len(streams) == 1:
        stream = streams[0]
    else:
        stream = heapq.merge(*streams, key=lambda e: e[n:], reverse=reverse)
    docs = db.docs
    matches = q.matches
    out: list[Any] = []
    last = None
    simple = p0 == NAME or (len(q.orders) == 2 and q.orders[1][1] == d0)
    if simple:
        for e in stream:
            name = e[-1]
            if name == last:
                continue  # the same document through two values of an any-filter
            last = name
            doc = docs[name]
            if matches(doc):
                out.append(doc)
                if need is not None and len(out) >= need:
                    break
    else:
        # Ties on the first order are broken by the later orders: sort each run of equal keys.
        group: list[Any] = []
        group_key: Any = TOP
        for e in stream:
            name = e[-1]
            if name == last:
                continue
            last = name
            if e[n] != group_key:
                if group:
                    out.extend(q.sort(group))
                    group = []
                    if need is not None and len(out) >= need:
                        break
                group_key = e[n]
            doc = docs[name]
            if matches(doc):
                group.append(doc)
        else:
            out.extend(q.sort(group))
    return out[q.offset : need]


def _scope_docs(db: Any, scope: ScopeKey) -> Iterator[Any]:
    kind_, value = scope
    if kind_ == "c":
        yield from db.collections.get(value, {}).values()
        return
    if kind_ == ALL[0]:
        yield from db.docs.values()
        return
    for coll, members in db.collections.items():
        if coll.rpartition("/")[2] == value:
            yield from members.values()


class IndexedScope:
    """The documents a query selector sees now, which a query may answer from indexes."""

    def __init__(self, db: Any, parent: str, collection_id: str, all_descendants: bool) -> None:
        self.db = db
        self.parent = parent
        self.collection_id = collection_id
        self.all_descendants = all_descendants

    def __iter__(self) -> Iterator[Any]:
        return iter(self.db.scope(self.parent, self.collection_id, self.all_descendants))

    def run_indexed(self, q: Query) -> list[Any] | None:
        return plan_run(q, self.db)
