"""``FirestoreQuery[T]``: filters (AND/OR), order, limits, cursors, projections, aggregates.

An immutable description (:class:`QuerySpec`) bound to a repository; it is turned into a
google-cloud-firestore query only when run or listened to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from google.cloud.firestore_v1.async_query import AsyncQuery
from google.cloud.firestore_v1.base_document import DocumentSnapshot
from google.cloud.firestore_v1.base_query import And, BaseFilter, FieldFilter, Or

from .._wire.documents import to_plain
from .._wire.firestore_values import from_client, to_client
from ..errors import InvalidArgument
from ..models import Document
from ..query import AnyOf, Filter, Op, Where
from . import _compat

if TYPE_CHECKING:
    from ..store import Store
    from ..stream import ChangeStream
    from .firestore import FirestoreRepository
    from .firestore_listen import FirestoreListener

__all__ = ["FirestoreQuery", "QuerySpec"]

T = TypeVar("T", bound=Document)


@dataclass(frozen=True, slots=True)
class QuerySpec:
    """What a query asks for; plain data."""

    filters: tuple[Filter, ...] = ()
    orders: tuple[tuple[str, bool], ...] = ()
    limit: int | None = None
    limit_to_last: int | None = None
    start: tuple[Any, bool] | None = None  # (values, inclusive)
    end: tuple[Any, bool] | None = None
    select: tuple[str, ...] | None = None


class FirestoreQuery(Generic[T]):
    """An immutable query over a repository's collection; every refinement returns a new one."""

    def __init__(self, repo: FirestoreRepository[T], spec: QuerySpec) -> None:
        self.repo = repo
        self.spec = spec

    def _with(self, **changes: Any) -> FirestoreQuery[T]:
        return FirestoreQuery(self.repo, replace(self.spec, **changes))

    def where(
        self, field: str | Filter, op: Op | None = None, value: Any = None
    ) -> FirestoreQuery[T]:
        """Add a filter: ``where("price", "<", 10)`` or ``where(any_of(...))``."""
        if isinstance(field, str):
            if op is None:
                raise InvalidArgument("where(field, op, value) needs an operator")
            condition: Filter = Where(field, op, value)
        else:
            condition = field
        return self._with(filters=(*self.spec.filters, condition))

    def order_by(self, field: str, *, descending: bool = False) -> FirestoreQuery[T]:
        """Order by ``field`` (then by earlier orders' ties); descending if asked."""
        return self._with(orders=(*self.spec.orders, (field, descending)))

    def limit(self, count: int) -> FirestoreQuery[T]:
        """At most the first ``count`` results."""
        return self._with(limit=count, limit_to_last=None)

    def limit_to_last(self, count: int) -> FirestoreQuery[T]:
        """The last ``count`` results in the given order (needs ``order_by``; not watchable)."""
        return self._with(limit_to_last=count, limit=None)

    def start_at(self, *values: Any) -> FirestoreQuery[T]:
        """Start at these order-by values (or a mapping of field -> value), inclusive."""
        return self._with(start=(_cursor(values), True))

    def start_after(self, *values: Any) -> FirestoreQuery[T]:
        """Start after these order-by values (or a mapping of field -> value), exclusive."""
        return self._with(start=(_cursor(values), False))

    def end_at(self, *values: Any) -> FirestoreQuery[T]:
        """End at these order-by values (or a mapping of field -> value), inclusive."""
        return self._with(end=(_cursor(values), True))

    def end_before(self, *values: Any) -> FirestoreQuery[T]:
        """End before these order-by values (or a mapping of field -> value), exclusive."""
        return self._with(end=(_cursor(values), False))

    def select(self, *fields: str) -> FirestoreQuery[T]:
        """Project to ``fields``: read the results with :meth:`get_fields`."""
        return self._with(select=tuple(fields))

    @property
    def description(self) -> str:
        """A stable text form of the query (names listeners on the same collection apart)."""
        return repr(self.spec) if self.spec != QuerySpec() else ""

    def build(self) -> AsyncQuery:
        """The google-cloud-firestore query this describes."""
        repo = self.repo
        query: AsyncQuery
        if repo.group:
            query = repo.client.collection_group(repo.collection)
        else:
            query = _compat.as_query(repo.client.collection(repo.collection))
        for condition in self.spec.filters:
            query = query.where(filter=self._filter(condition))
        for field, descending in self.spec.orders:
            query = query.order_by(field, direction="DESCENDING" if descending else "ASCENDING")
        if self.spec.limit is not None:
            query = query.limit(self.spec.limit)
        if self.spec.limit_to_last is not None:
            query = query.limit_to_last(self.spec.limit_to_last)
        if self.spec.start is not None:
            values, inclusive = self.spec.start
            values = to_client(values, repo.client)
            query = query.start_at(values) if inclusive else query.start_after(values)
        if self.spec.end is not None:
            values, inclusive = self.spec.end
            values = to_client(values, repo.client)
            query = query.end_at(values) if inclusive else query.end_before(values)
        if self.spec.select is not None:
            query = query.select(list(self.spec.select))
        return query

    def _filter(self, condition: Filter) -> BaseFilter:
        if isinstance(condition, Where):
            value = to_client(to_plain(condition.value, field=condition.field), self.repo.client)
            return FieldFilter(condition.field, condition.op, value)
        parts = [self._filter(part) for part in condition.filters]
        return Or(parts) if isinstance(condition, AnyOf) else And(parts)

    async def _snapshots(self) -> list[DocumentSnapshot[Any]]:
        query = self.build()

        async def fetch() -> list[DocumentSnapshot[Any]]:
            return list(await query.get(retry=None, timeout=self.repo.deadlines.request))

        return await self.repo.call(fetch, idempotent=True, path=self.repo.collection)

    async def get(self) -> list[T]:
        """The matching documents, in query order."""
        if self.spec.select is not None:
            raise InvalidArgument("a projected query returns fields: use get_fields()")
        return [self.repo.decode(s) for s in await self._snapshots()]

    async def get_fields(self) -> list[dict[str, Any]]:
        """The matching documents as plain field dicts (with ``"id"``), for projections."""
        return [
            {"id": self.repo.key_of(s.reference.path), **from_client(s.to_dict() or {})}
            for s in await self._snapshots()
        ]

    async def count(self) -> int:
        """The number of matching documents (a server-side aggregation)."""
        return int(await self._aggregate("count", None))

    async def sum(self, field: str) -> int | float:
        """The sum of ``field`` over the matching documents (non-numbers ignored; 0 if none)."""
        result = await self._aggregate("sum", field)
        return result if isinstance(result, int | float) else 0

    async def avg(self, field: str) -> float | None:
        """The average of numeric ``field`` values, or None when no document has one."""
        result = await self._aggregate("avg", field)
        return None if result is None else float(result)

    async def _aggregate(self, kind: str, field: str | None) -> Any:
        query = self.build()
        aggregation: Any = query.count() if kind == "count" else getattr(query, kind)(field)

        async def fetch() -> Any:
            results = await aggregation.get(retry=None, timeout=self.repo.deadlines.request)
            return results[0][0].value

        return await self.repo.call(fetch, idempotent=True, path=self.repo.collection)

    def listener(self) -> FirestoreListener[T]:
        """A listener of this query's results, to merge into a ``ChangeStream``."""
        return self.repo.listener(self)

    def watch(
        self, *, store: Store[T] | None = None, buffer: int = 1024, markers: bool = True
    ) -> ChangeStream[T]:
        """Listen to this query's results (documents entering, changing, leaving)."""
        return self.repo.watch(self, store=store, buffer=buffer, markers=markers)


def _cursor(values: Sequence[Any]) -> Any:
    if len(values) == 1 and isinstance(values[0], Mapping):
        return to_plain(dict(values[0]))
    return [to_plain(v) for v in values]
