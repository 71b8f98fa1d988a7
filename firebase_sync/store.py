"""The in-memory store: typed local state that a change stream keeps current.

Each :class:`~firebase_sync.change.Batch` (one consistent snapshot from one source) is applied
atomically: readers never see half a snapshot. Batches are diffed against what the store
holds, so a re-sent snapshot changes nothing and produces no changes.

Subscribers each get a bounded buffer. The store never waits for them (applying a snapshot
must not block the stream); a subscriber that falls ``buffer`` changes behind is ended with
:class:`~firebase_sync.errors.SubscriptionOverflow` on its next read, never silently skipped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .change import Batch, Change, ChangeKind, ChangeMetadata, Source
from .errors import FirebaseSyncError, SubscriptionOverflow, WaitTimeout

__all__ = ["Entry", "Store", "StoreStatistics", "Subscription"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Entry(Generic[T]):
    """One stored value with its source, key and version (1 when added, +1 per change)."""

    source: Source
    key: str
    value: T
    version: int
    metadata: ChangeMetadata


@dataclass(frozen=True, slots=True)
class StoreStatistics:
    """The store's counters: entries, version, batches and changes applied, lag."""

    entries: int
    version: int
    batches_applied: int
    changes_applied: int
    #: seconds from the server's read time (or receipt) to application, last and worst
    last_lag: float | None
    max_lag: float
    subscribers: int


class Store(Generic[T]):
    """Typed local state keyed by (source, key)."""

    def __init__(self) -> None:
        # key -> source -> entry: reads by key stay O(1) whatever the number of sources.
        self._entries: dict[str, dict[Source, Entry[T]]] = {}
        self._size = 0
        self.version = 0
        self._batches = 0
        self._changes = 0
        self._last_lag: float | None = None
        self._max_lag = 0.0
        self._subscriptions: list[Subscription[T]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._failure: FirebaseSyncError | None = None

    # -- writing --------------------------------------------------------------------------

    def apply(self, batch: Batch[T]) -> list[Change[T]]:
        """Apply one snapshot's changes atomically; return those that changed anything.

        ``before`` of each returned change is what the store held, whatever the batch said.
        A batch after :meth:`fail` means the store is fed again: waiters no longer see the
        old failure.
        """
        self._failure = None
        effective: list[Change[T]] = []
        refreshed = False
        for change in batch.changes:
            by_source = self._entries.get(change.key)
            held = by_source.get(change.source) if by_source is not None else None
            before = held.value if held is not None else None
            if change.kind is ChangeKind.REMOVED or change.after is None:
                if held is None or by_source is None:
                    continue
                del by_source[change.source]
                if not by_source:
                    del self._entries[change.key]
                self._size -= 1
                effective.append(_rebuilt(change, ChangeKind.REMOVED, before, None))
                continue
            if held is not None and held.value == change.after:
                if by_source is not None and _flags(held.metadata) != _flags(change.metadata):
                    # Only the cache / pending-write flags moved: keep the value, emit nothing.
                    by_source[change.source] = Entry(
                        held.source, held.key, held.value, held.version, change.metadata
                    )
                    refreshed = True
                continue
            kind = ChangeKind.ADDED if held is None else ChangeKind.MODIFIED
            version = 1 if held is None else held.version + 1
            if by_source is None:
                by_source = self._entries[change.key] = {}
            if held is None:
                self._size += 1
            by_source[change.source] = Entry(
                change.source, change.key, change.after, version, change.metadata
            )
            effective.append(_rebuilt(change, kind, before, change.after))
        self._batches += 1
        if effective:
            self.version += 1
            self._changes += len(effective)
            self._record_lag(effective[-1].metadata)
            for subscription in list(self._subscriptions):
                subscription._offer(effective)
        if effective or refreshed or batch.synced is not None:
            self._wake()
        return effective

    def fail(self, error: FirebaseSyncError) -> None:
        """The stream feeding the store failed: raise ``error`` in waiters and subscribers."""
        self._failure = error
        for subscription in list(self._subscriptions):
            subscription._fail(error)
        self._wake()

    def clear(self, source: Source | None = None) -> None:
        """Forget every entry (of one source), without producing changes."""
        if source is None:
            self._entries.clear()
        else:
            for key in list(self._entries):
                by_source = self._entries[key]
                by_source.pop(source, None)
                if not by_source:
                    del self._entries[key]
        self._size = sum(len(by_source) for by_source in self._entries.values())
        self.version += 1
        self._wake()

    # -- reading --------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._size

    def __contains__(self, key: object) -> bool:
        """True if some source holds ``key``."""
        return key in self._entries

    def entry(self, key: str, *, source: Source | None = None) -> Entry[T] | None:
        """The entry for ``key`` (from ``source``); ``LookupError`` if several sources hold it."""
        by_source = self._entries.get(key)
        if by_source is None:
            return None
        if source is not None:
            return by_source.get(source)
        found = list(by_source.values())
        if len(found) > 1:
            sources = ", ".join(str(e.source) for e in found)
            raise LookupError(f"{key!r} is held by several sources ({sources}); pass source=")
        return found[0] if found else None

    def get(self, key: str, *, source: Source | None = None) -> T | None:
        """The value for ``key``, or ``None``."""
        entry = self.entry(key, source=source)
        return entry.value if entry is not None else None

    def items(self, *, source: Source | None = None) -> list[Entry[T]]:
        """All entries (of one source), in no particular order."""
        if source is None:
            return [e for by_source in self._entries.values() for e in by_source.values()]
        return [
            entry
            for by_source in self._entries.values()
            if (entry := by_source.get(source)) is not None
        ]

    def values(self, *, source: Source | None = None) -> list[T]:
        """The values of ``items()`` (of one source, if given), in no particular order."""
        return [e.value for e in self.items(source=source)]

    def query(
        self,
        where: Callable[[T], bool] | None = None,
        *,
        order_by: Callable[[T], Any] | None = None,
        descending: bool = False,
        limit: int | None = None,
        source: Source | None = None,
    ) -> list[T]:
        """Values matching ``where``, sorted by ``order_by`` (stable), at most ``limit``."""
        values: Iterable[T] = self.values(source=source)
        if where is not None:
            values = [v for v in values if where(v)]
        if order_by is not None:
            values = sorted(values, key=order_by, reverse=descending)
        result = list(values)
        return result if limit is None else result[:limit]

    def statistics(self) -> StoreStatistics:
        """Entries, version, batches and changes applied, lag and subscribers, as a snapshot."""
        return StoreStatistics(
            entries=self._size,
            version=self.version,
            batches_applied=self._batches,
            changes_applied=self._changes,
            last_lag=self._last_lag,
            max_lag=self._max_lag,
            subscribers=len(self._subscriptions),
        )

    # -- waiting ---------------------------------------------------------------------------

    def subscribe(
        self, where: Callable[[Change[T]], bool] | None = None, *, buffer: int = 10_000
    ) -> Subscription[T]:
        """An async iterator of the store's future changes (those matching ``where``)."""
        subscription = Subscription(self, where, buffer)
        self._subscriptions.append(subscription)
        return subscription

    # A bounded wait is the point of this helper (as with asyncio.wait_for).
    async def wait_for(
        self,
        predicate: Callable[[Store[T]], bool],
        timeout: float | None = 10.0,  # noqa: ASYNC109
    ) -> None:
        """Return once ``predicate(store)`` holds; it is checked now and after every change.

        Raises :class:`WaitTimeout` after ``timeout`` seconds, or the feeding stream's error.
        """
        try:
            async with asyncio.timeout(timeout):
                while not predicate(self):
                    if self._failure is not None:
                        raise self._failure
                    waiter = asyncio.get_running_loop().create_future()
                    self._waiters.append(waiter)
                    try:
                        await waiter
                    finally:
                        if waiter in self._waiters:
                            self._waiters.remove(waiter)
        except TimeoutError as exc:
            raise WaitTimeout(f"store condition not met within {timeout}s") from exc

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _record_lag(self, metadata: ChangeMetadata) -> None:
        since = metadata.read_time or metadata.received_at
        lag = max(0.0, (dt.datetime.now(dt.UTC) - since).total_seconds())
        self._last_lag = lag
        self._max_lag = max(self._max_lag, lag)

    def _unsubscribe(self, subscription: Subscription[T]) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)


def _flags(metadata: ChangeMetadata) -> tuple[bool, bool]:
    return metadata.from_cache, metadata.has_pending_writes


def _rebuilt(change: Change[T], kind: ChangeKind, before: T | None, after: T | None) -> Change[T]:
    if change.kind is kind and change.before is before and change.after is after:
        return change
    return Change(change.source, change.key, kind, before, after, change.metadata)


class Subscription(Generic[T]):
    """Changes of a store as an async iterator; ``aclose()`` (idempotent) or ``async with``."""

    def __init__(
        self, store: Store[T], where: Callable[[Change[T]], bool] | None, buffer: int
    ) -> None:
        self._store = store
        self._where = where
        self._buffer: deque[Change[T]] = deque()
        self._limit = buffer
        self._ready = asyncio.Event()
        self._error: FirebaseSyncError | None = None
        self._closed = False
        self.created = time.monotonic()

    def _offer(self, changes: list[Change[T]]) -> None:
        if self._closed or self._error is not None:
            return
        for change in changes:
            if self._where is None or self._where(change):
                if len(self._buffer) >= self._limit:
                    self._fail(SubscriptionOverflow(f"subscriber fell {self._limit} behind"))
                    return
                self._buffer.append(change)
        if self._buffer:
            self._ready.set()

    def _fail(self, error: FirebaseSyncError) -> None:
        self._error = error
        self._store._unsubscribe(self)
        self._ready.set()

    def __aiter__(self) -> AsyncIterator[Change[T]]:
        return self

    async def __anext__(self) -> Change[T]:
        while True:
            if self._error is not None and isinstance(self._error, SubscriptionOverflow):
                raise self._error  # an overflowed subscriber must not read a gapped history
            if self._buffer:
                return self._buffer.popleft()
            if self._error is not None:
                raise self._error
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()

    async def aclose(self) -> None:
        """Stop receiving changes and wake a waiting consumer (idempotent)."""
        self._closed = True
        self._store._unsubscribe(self)
        self._ready.set()

    async def __aenter__(self) -> Subscription[T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
