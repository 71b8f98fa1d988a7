"""StructuredQuery evaluation: scope, filters, implicit ordering, cursors, offset/limit,
projection, and aggregations."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import invalid
from .values import (
    INT64_MAX,
    INT64_MIN,
    Document,
    FieldPath,
    Value,
    compare,
    database_of,
    format_field_path,
    get_field,
    is_nan,
    is_number,
    kind,
    name_key,
    number,
    parse_field_path,
    query_equal,
    set_field,
    sort_key,
    type_rank,
)

NAME: FieldPath = ("__name__",)
ASC, DESC = 1, 2
# FieldFilter.Operator
LT, LTE, GT, GTE, EQ, NEQ, ARRAY_CONTAINS, IN, ARRAY_CONTAINS_ANY, NOT_IN = (
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
# UnaryFilter.Operator
IS_NAN, IS_NULL, IS_NOT_NAN, IS_NOT_NULL = 2, 3, 4, 5
INEQUALITIES = {LT, LTE, GT, GTE, NEQ, NOT_IN}
MAX_DISJUNCTIONS = 30
MAX_NOT_IN = 10
#: "A minimum of one and maximum of five aggregations per query" (StructuredAggregationQuery).
MAX_AGGREGATIONS = 5

Predicate = Callable[[Any], bool]


def field_value(doc: Any, path: FieldPath) -> Any | None:
    """The value a query sees at ``path``; ``__name__`` is the document reference."""
    if path == NAME:
        v = Value()
        v.reference_value = doc.name
        return v
    return get_field(doc.fields, path)


@dataclass
class Cursor:
    values: list[Any]
    before: bool


@dataclass
class Query:
    """A compiled StructuredQuery bound to its parent resource."""

    parent: str
    collection_id: str
    all_descendants: bool
    predicate: Predicate
    orders: list[tuple[FieldPath, int]]
    start: Cursor | None
    end: Cursor | None
    offset: int
    limit: int | None
    projection: list[FieldPath] | None
    #: the filter as (path, operator, operand) terms all of which must hold, for the index
    #: planner (``indexes.py``); None when it is not such a conjunction (an OR).
    conjuncts: list[tuple[FieldPath, int, Any]] | None = None

    @functools.cached_property
    def collection_path(self) -> str:
        return f"{self.parent}/{self.collection_id}"

    @property
    def windowed(self) -> bool:
        """Whether membership depends on other documents (offset or limit)."""
        return self.limit is not None or self.offset > 0

    def in_scope(self, name: str) -> bool:
        coll, _, _ = name.rpartition("/")
        if not self.all_descendants:
            return coll == self.collection_path
        if not name.startswith(self.parent + "/"):
            return False
        return not self.collection_id or coll.rpartition("/")[2] == self.collection_id

    def matches(self, doc: Any) -> bool:
        """Scope, filters, order-field presence and cursors; ignores offset and limit."""
        if not self.in_scope(doc.name):
            return False
        for path, _ in self.orders:
            if path != NAME and get_field(doc.fields, path) is None:
                return False
        if not self.predicate(doc):
            return False
        if self.start is not None:
            c = self._cmp_cursor(doc, self.start)
            if c < 0 or (c == 0 and not self.start.before):
                return False
        if self.end is not None:
            c = self._cmp_cursor(doc, self.end)
            if c > 0 or (c == 0 and self.end.before):
                return False
        return True

    def _cmp_cursor(self, doc: Any, cursor: Cursor) -> int:
        for (path, direction), cv in zip(self.orders, cursor.values, strict=False):
            dv = field_value(doc, path)
            assert dv is not None
            c = compare(dv, cv)
            if c:
                return -c if direction == DESC else c
        return 0

    def run(self, docs: Iterable[Any]) -> list[Any]:
        """Filter, sort, apply cursors, offset and limit (not the projection)."""
        run_indexed = getattr(docs, "run_indexed", None)  # an IndexedScope (indexes.py)
        if run_indexed is not None:
            planned: list[Any] | None = run_indexed(self)
            if planned is not None:
                return planned
        hits = self.sort([d for d in docs if self.matches(d)])
        end = None if self.limit is None else self.offset + self.limit
        return hits[self.offset:end]

    def sort(self, hits: list[Any]) -> list[Any]:
        """Sort matching documents in query order, in place; returns ``hits``."""
        # One stable key sort per order, last order first: the C sort with precomputed keys
        # is far cheaper than a Python comparator on large results.
        for path, direction in reversed(self.orders):
            if path == NAME:
                hits.sort(key=lambda d: name_key(d.name), reverse=direction == DESC)
            else:
                hits.sort(key=_field_key(path), reverse=direction == DESC)
        return hits

    def project(self, doc: Any) -> Any:
        if self.projection is None:
            return doc
        out = Document()
        out.name = doc.name
        out.create_time.CopyFrom(doc.create_time)
        out.update_time.CopyFrom(doc.update_time)
        for path in self.projection:
            if path == NAME:
                continue
            v = get_field(doc.fields, path)
            if v is not None:
                set_field(out.fields, path, v)
        return out


def _field_key(path: FieldPath) -> Callable[[Any], tuple[Any, ...]]:
    def key(doc: Any) -> tuple[Any, ...]:
        return sort_key(get_field(doc.fields, path))

    return key


def compile_query(parent: str, sq: Any) -> Query:
    """Validate and compile a raw StructuredQuery. Raises INVALID_ARGUMENT."""
    if len(sq.from_) != 1:
        raise invalid("a query must select exactly one collection")
    sel = sq.from_[0]
    if not sel.all_descendants and not sel.collection_id:
        raise invalid("collection_id is required unless all_descendants is set")
    if "/" in sel.collection_id:
        raise invalid("collection_id must not contain '/'")
    inequality_fields: set[FieldPath] = set()
    predicate = None
    if sq.HasField("where"):
        if _count_not_equal(sq.where) > 1:
            raise invalid("Only a single 'NOT_EQUAL', 'NOT_IN', 'IS_NOT_NAN', or "
                          "'IS_NOT_NULL' filter allowed per query.")
        if _array_filters_per_conjunction(sq.where) > 1:
            raise invalid("A maximum of 1 'ARRAY_CONTAINS' filter is allowed per disjunction.")
        if _uses_not_in_with_disjunction(sq.where):
            raise invalid("'NOT_IN' cannot be used in the same query with 'IN', "
                          "'ARRAY_CONTAINS_ANY' or 'OR'.")
        predicate = _compile_filter(sq.where, inequality_fields, parent)
    orders: list[tuple[FieldPath, int]] = []
    for o in sq.order_by:
        path = parse_field_path(o.field.field_path)
        direction = o.direction or ASC
        if any(p == path for p, _ in orders):
            raise invalid(f"order_by {o.field.field_path} appears twice")
        orders.append((path, direction))
    last = orders[-1][1] if orders else ASC
    ordered = {p for p, _ in orders}
    for path in sorted(inequality_fields - ordered - {NAME}):
        orders.append((path, last))
    if NAME not in {p for p, _ in orders}:
        orders.append((NAME, last))
    elif orders[-1][0] != NAME:  # explicit, or followed by an inequality field's implicit order
        raise invalid("order by clause cannot contain more fields after the key")
    # Cursor values match the explicit orders only (implicit ones cannot be given values).
    explicit = orders[:len(sq.order_by)]
    start = _cursor(sq.start_at, explicit, parent) if sq.HasField("start_at") else None
    end = _cursor(sq.end_at, explicit, parent) if sq.HasField("end_at") else None
    if sq.offset < 0:
        raise invalid("offset must be non-negative")
    limit = None
    if sq.HasField("limit"):
        if sq.limit.value < 0:
            raise invalid("limit must be non-negative")
        limit = sq.limit.value
    projection = None
    if sq.HasField("select"):
        projection = [parse_field_path(f.field_path) for f in sq.select.fields]
    return Query(
        parent=parent,
        collection_id=sel.collection_id,
        all_descendants=sel.all_descendants,
        predicate=predicate or (lambda _d: True),
        orders=orders,
        start=start,
        end=end,
        offset=sq.offset,
        limit=limit,
        projection=projection,
        conjuncts=_conjuncts(sq.where, parent) if sq.HasField("where") else [],
    )


def _cursor(c: Any, orders: list[tuple[FieldPath, int]], parent: str) -> Cursor:
    if len(c.values) > len(orders):
        raise invalid("Cursor has too many values.")
    values = []
    for v, (path, _) in zip(c.values, orders, strict=False):
        if path == NAME:
            v = _name_value(v, parent)
        values.append(v)
    return Cursor(values, c.before)


def _name_value(v: Any, parent: str) -> Any:
    """A ``__name__`` operand as a full reference inside the query's database."""
    k = kind(v)
    if k == "reference_value":
        out = v
    elif k == "string_value":  # some SDKs send a relative path for __name__
        out = Value()
        out.reference_value = f"{parent}/{v.string_value}"
    else:
        raise invalid("a cursor or filter on __name__ needs a reference value")
    ref = out.reference_value
    root = database_of(parent)
    rel = ref[len(root) + 1:].split("/") if ref.startswith(root + "/") else []
    # Only the shape is checked: recursive() bounds use reserved-looking IDs
    # (__id-9223372036854775808__) and a "coll\0" collection that validate_id would refuse.
    if not rel or len(rel) % 2 or not all(rel):
        raise invalid(f"__name__ value {ref!r} is not a document in database {root!r}")
    return out


def _conjuncts(f: Any, parent: str) -> list[tuple[FieldPath, int, Any]] | None:
    """A validated filter as AND-ed field-filter terms (``__name__`` operands made full
    references); unary filters are left to the predicate. None if the filter has an OR."""
    k = f.WhichOneof("filter_type")
    if k == "composite_filter":
        if f.composite_filter.op != 1 and len(f.composite_filter.filters) > 1:
            return None
        out: list[tuple[FieldPath, int, Any]] = []
        for sub in f.composite_filter.filters:
            terms = _conjuncts(sub, parent)
            if terms is None:
                return None
            out.extend(terms)
        return out
    if k != "field_filter":
        return []
    ff = f.field_filter
    path = parse_field_path(ff.field.field_path)
    target = ff.value
    if path == NAME and ff.op in (LT, LTE, GT, GTE, EQ):
        target = _name_value(target, parent)
    return [(path, ff.op, target)]


def _filter_kinds(f: Any, into: set[int | str]) -> set[int | str]:
    """Field filter operators in the tree, plus "OR" when it holds a disjunction."""
    k = f.WhichOneof("filter_type")
    if k == "composite_filter":
        if f.composite_filter.op == 2:
            into.add("OR")
        for sub in f.composite_filter.filters:
            _filter_kinds(sub, into)
    elif k == "field_filter":
        into.add(f.field_filter.op)
    return into


def _array_filters_per_conjunction(f: Any) -> int:
    """The most ARRAY_CONTAINS / ARRAY_CONTAINS_ANY filters one term of the filter's
    disjunctive normal form holds (an AND adds its parts' counts, an OR takes the largest)."""
    k = f.WhichOneof("filter_type")
    if k == "composite_filter":
        counts = [_array_filters_per_conjunction(sub) for sub in f.composite_filter.filters]
        if not counts:
            return 0
        return max(counts) if f.composite_filter.op == 2 else sum(counts)
    return int(k == "field_filter" and f.field_filter.op in (ARRAY_CONTAINS, ARRAY_CONTAINS_ANY))


def _uses_not_in_with_disjunction(f: Any) -> bool:
    kinds = _filter_kinds(f, set())
    return NOT_IN in kinds and bool(kinds & {IN, ARRAY_CONTAINS_ANY, "OR"})


def _count_not_equal(f: Any) -> int:
    """How many NOT_EQUAL / NOT_IN / IS_NOT_NAN / IS_NOT_NULL filters the tree holds."""
    k = f.WhichOneof("filter_type")
    if k == "composite_filter":
        return sum(_count_not_equal(sub) for sub in f.composite_filter.filters)
    if k == "unary_filter":
        return int(f.unary_filter.op in (IS_NOT_NAN, IS_NOT_NULL))
    return int(k == "field_filter" and f.field_filter.op in (NEQ, NOT_IN))


def _compile_filter(f: Any, ineq: set[FieldPath], parent: str) -> Predicate:
    k = f.WhichOneof("filter_type")
    if k == "composite_filter":
        subs = [_compile_filter(s, ineq, parent) for s in f.composite_filter.filters]
        op = f.composite_filter.op
        if op == 2:  # OR
            return lambda d: any(p(d) for p in subs) if subs else True
        if op != 1:
            raise invalid("composite filter needs op AND or OR")
        return lambda d: all(p(d) for p in subs)
    if k == "field_filter":
        return _compile_field_filter(f.field_filter, ineq, parent)
    if k == "unary_filter":
        return _compile_unary(f.unary_filter, ineq)
    raise invalid("filter has no type")


def _compile_unary(u: Any, ineq: set[FieldPath]) -> Predicate:
    path = parse_field_path(u.field.field_path)
    op = u.op

    def get(d: Any) -> Any | None:
        return field_value(d, path)

    if op == IS_NAN:
        return lambda d: (v := get(d)) is not None and is_nan(v)
    if op == IS_NULL:
        return lambda d: (v := get(d)) is not None and kind(v) == "null_value"
    if op == IS_NOT_NAN:
        ineq.add(path)
        return lambda d: (v := get(d)) is not None and kind(v) != "null_value" and not is_nan(v)
    if op == IS_NOT_NULL:
        ineq.add(path)
        return lambda d: (v := get(d)) is not None and kind(v) != "null_value"
    raise invalid("unary filter has no operator")


def _compile_field_filter(ff: Any, ineq: set[FieldPath], parent: str) -> Predicate:
    path = parse_field_path(ff.field.field_path)
    op = ff.op
    target = ff.value
    if kind(target) is None:
        raise invalid("filter value is not set")
    type_rank(target)
    if path == NAME and op not in (ARRAY_CONTAINS, ARRAY_CONTAINS_ANY):
        if op in (IN, NOT_IN):
            _need_array(target, op)
        if op in (IN, NOT_IN):
            fixed = Value()
            fixed.array_value.SetInParent()
            for v in target.array_value.values:
                fixed.array_value.values.append(_name_value(v, parent))
            target = fixed
        else:
            target = _name_value(target, parent)
    if op in INEQUALITIES:
        ineq.add(path)

    def get(d: Any) -> Any | None:
        return field_value(d, path)

    if op == EQ:
        return lambda d: (v := get(d)) is not None and query_equal(v, target)
    if op == NEQ:
        return lambda d: (v := get(d)) is not None and kind(v) != "null_value" and not (
            query_equal(v, target))
    if op in (LT, LTE, GT, GTE):
        rank = type_rank(target)
        if is_nan(target):
            return lambda d: False
        ok = {LT: (-1,), LTE: (-1, 0), GT: (1,), GTE: (1, 0)}[op]
        return lambda d: (
            (v := get(d)) is not None
            and type_rank(v) == rank
            and not is_nan(v)
            and compare(v, target) in ok
        )
    if op == ARRAY_CONTAINS:
        return lambda d: (v := get(d)) is not None and kind(v) == "array_value" and any(
            query_equal(e, target) for e in v.array_value.values)
    values = _need_array(target, op)
    if op in (IN, ARRAY_CONTAINS_ANY):
        # null and NaN elements match nothing (as the official emulator; == null and
        # == NaN are IS_NULL / IS_NAN, which the SDKs send instead).
        values = [e for e in values if kind(e) != "null_value" and not is_nan(e)]
    if op == IN:
        return lambda d: (v := get(d)) is not None and any(query_equal(v, e) for e in values)
    if op == ARRAY_CONTAINS_ANY:
        return lambda d: (v := get(d)) is not None and kind(v) == "array_value" and any(
            query_equal(e, t) for e in v.array_value.values for t in values)
    if op == NOT_IN:
        if any(kind(e) == "null_value" for e in values):
            return lambda d: False
        return lambda d: (v := get(d)) is not None and kind(v) != "null_value" and not any(
            query_equal(v, e) for e in values)
    raise invalid("field filter has no operator")


def _need_array(target: Any, op: int) -> list[Any]:
    if kind(target) != "array_value":
        raise invalid("IN, NOT_IN and ARRAY_CONTAINS_ANY filters need an array value")
    values = list(target.array_value.values)
    if not values:
        raise invalid("IN, NOT_IN and ARRAY_CONTAINS_ANY filters need a non-empty array")
    # The official emulator's wording.
    if op == NOT_IN and len(values) > MAX_NOT_IN:
        raise invalid(f"'NOT_IN' supports up to {MAX_NOT_IN} comparison values.")
    if len(values) > MAX_DISJUNCTIONS:
        name = "IN" if op == IN else "ARRAY_CONTAINS_ANY"
        raise invalid(f"'{name}' supports up to {MAX_DISJUNCTIONS} comparison values.")
    return values


# ---------------------------------------------------------------- aggregations


def aggregated_fields(aggs: Iterable[Any]) -> list[FieldPath]:
    """Check an aggregation list (not empty, aliases unique) and return the fields that sum /
    avg read, in order. Raises INVALID_ARGUMENT with production's messages."""
    aggs = list(aggs)
    if not aggs:
        raise invalid("Aggregations can not be empty.")
    if len(aggs) > MAX_AGGREGATIONS:
        raise invalid(f"a query can have at most {MAX_AGGREGATIONS} aggregations")
    seen: set[str] = set()
    fields: list[FieldPath] = []
    for agg in aggs:
        if agg.alias:
            if agg.alias in seen:
                raise invalid(f"Aggregation aliases contain duplicate alias: {agg.alias}.")
            seen.add(agg.alias)
        op = agg.WhichOneof("operator")
        if op in ("sum", "avg"):
            path = parse_field_path(getattr(agg, op).field.field_path)
            if path not in fields:
                fields.append(path)
    return fields


def check_aggregation_orders(sq: Any, q: Query, fields: list[FieldPath]) -> None:
    """sum / avg order by their fields before ``__name__``: impossible when the query orders by
    ``__name__`` explicitly and not by those fields. Raises INVALID_ARGUMENT."""
    if not any(parse_field_path(o.field.field_path) == NAME for o in sq.order_by):
        return
    ordered = {path for path, _ in q.orders}
    missing = [format_field_path(f) for f in fields if f not in ordered]
    if missing:
        raise invalid(f"This query requires an index that has fields [{', '.join(missing)}] "
                      "after __name__ and Firestore does not currently support such an index. "
                      "Please try the query again with additional ordering on those fields.")


def aggregation_input(q: Query, fields: list[FieldPath], docs: Iterable[Any]) -> list[Any]:
    """The documents an aggregation reads: ``q.run(docs)``, except that with sum / avg only
    documents holding every aggregated field count, ordered by those fields (after the query's
    own orders, before ``__name__``) ahead of offset and limit, as production does."""
    if not fields:
        return q.run(docs)
    hits = [d for d in docs
            if q.matches(d) and all(get_field(d.fields, f) is not None for f in fields)]
    orders = list(q.orders)
    at = next((i for i, (path, _) in enumerate(orders) if path == NAME), len(orders))
    direction = orders[at][1] if at < len(orders) else ASC
    ordered = {path for path, _ in orders}
    orders[at:at] = [(f, direction) for f in fields if f not in ordered]
    for path, how in reversed(orders):
        if path == NAME:
            hits.sort(key=lambda d: name_key(d.name), reverse=how == DESC)
        else:
            hits.sort(key=_field_key(path), reverse=how == DESC)
    end = None if q.limit is None else q.offset + q.limit
    return hits[q.offset:end]


def aggregate(aggs: Iterable[Any], docs: list[Any]) -> dict[str, Any]:
    """Evaluate count/sum/avg over query results; unaliased ones become field_1, field_2..."""
    out: dict[str, Any] = {}
    n = 0
    for agg in aggs:
        alias = agg.alias
        if not alias:
            n += 1
            alias = f"field_{n}"
        if alias in out:
            raise invalid(f"Aggregation aliases contain duplicate alias: {alias}.")
        op = agg.WhichOneof("operator")
        v = Value()
        if op == "count":
            count = len(docs)
            if agg.count.HasField("up_to"):
                if agg.count.up_to.value <= 0:
                    raise invalid("count up_to must be positive")
                count = min(count, agg.count.up_to.value)
            v.integer_value = count
        elif op in ("sum", "avg"):
            path = parse_field_path(getattr(agg, op).field.field_path)
            nums = [number(x) for d in docs
                    if (x := get_field(d.fields, path)) is not None and is_number(x)]
            v = _sum(nums) if op == "sum" else _avg(nums)
        else:
            raise invalid("aggregation has no operator")
        out[alias] = v
    return out


def _sum(nums: list[int | float]) -> Any:
    v = Value()
    if any(isinstance(x, float) for x in nums):
        try:
            v.double_value = math.fsum(nums)
        except OverflowError:
            v.double_value = sum(float(x) for x in nums)
        except ValueError:  # inf + -inf
            v.double_value = math.nan
        return v
    total = sum(nums)
    if INT64_MIN <= total <= INT64_MAX:
        v.integer_value = int(total)
    else:
        v.double_value = float(total)
    return v


def _avg(nums: list[int | float]) -> Any:
    v = Value()
    if not nums:
        v.null_value = 0
    elif any(isinstance(x, float) for x in nums):
        v.double_value = _sum(nums).double_value / len(nums)
    else:
        v.double_value = sum(nums) / len(nums)  # int / int is correctly rounded
    return v


def describe(path: FieldPath) -> str:
    return format_field_path(path)
