"""``ChangeStream``: several listeners merged into one async iterator of typed changes.

::

    async with ChangeStream(products.listener(), prices.listener(), store=store) as events:
        async for event in events:  # Change | Synced | Reconnecting | InvalidDocument
            ...

**Backpressure.** Events wait in one bounded buffer (``buffer`` events). When it is full,
listeners wait (``await``) before handing over more, so nothing is dropped and memory stays
bounded; a listener that waits long enough simply reads its socket later (gRPC and TCP flow
control push back on the server). With a ``store``, each consistent snapshot is applied to
the store atomically *before* its events enter the buffer, so the store is at most one
snapshot plus one buffer ahead of what the consumer has read.

**Ends.** The iterator ends (``StopAsyncIteration``) when every listener has finished or
after :meth:`ChangeStream.aclose`, which is idempotent and cancels and awaits every listener
task: nothing is left running. If a listener fails (for good: after its own retries), the
events it delivered before are still read, then its error is raised from the iterator and
the stream closes; the error also reaches the store's waiters and subscribers. A consumer
cancelled while waiting loses no event: it stays in the buffer.

**Invalid documents** do not end the stream: each one that fails its model's validation is
delivered as an :class:`~firebase_sync.change.InvalidDocument` event (after the valid changes
of the same snapshot), and the store keeps the last valid value it had for that key.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from ._log import logger, redact
from .change import Batch, Change, ChangeMetadata, Event, Reconnecting, Source, Synced
from .errors import FirebaseSyncError, StreamClosed, map_exception
from .store import Store

__all__ = [
    "ChangeStream",
    "Listener",
    "Sink",
    "SourceState",
    "SourceStatistics",
    "StreamStatistics",
]

T = TypeVar("T")
_log = logger(__name__)


class SourceState(StrEnum):
    """Where a listener is in its life."""

    STARTING = "starting"
    SYNCING = "syncing"
    SYNCED = "synced"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    CLOSED = "closed"


class Listener(Protocol[T]):
    """What a stream merges: something that listens to one source and reports to a sink.

    ``run`` delivers batches until cancelled; it handles its own reconnects (reporting them
    with :meth:`Sink.reconnecting`) and raises only when it gives up.
    """

    source: Source

    async def run(self, sink: Sink[T]) -> None:
        """Deliver the source's batches to ``sink`` until cancelled; raise what ends it."""


@dataclass(frozen=True, slots=True)
class SourceStatistics:
    """One listener's counters: events and batches delivered, reconnects, last error."""

    source: Source
    state: SourceState
    events: int
    batches: int
    reconnects: int
    last_error: str | None
    #: documents that failed validation (delivered as InvalidDocument events)
    invalid: int = 0


@dataclass(frozen=True, slots=True)
class StreamStatistics:
    """The stream's counters: events delivered and buffered, reconnects, per source."""

    events_delivered: int
    events_buffered: int
    buffer_size: int
    reconnects: int
    sources: tuple[SourceStatistics, ...]


class Sink(Generic[T]):
    """A listener's handle on its stream: hand over batches, report reconnects and state."""

    def __init__(self, stream: ChangeStream[T], source: Source) -> None:
        self._stream = stream
        self.source = source
        self.state = SourceState.STARTING
        self.events = 0
        self.batches = 0
        self.reconnects = 0
        self.invalid = 0
        self.last_error: FirebaseSyncError | None = None

    async def batch(self, batch: Batch[T]) -> None:
        """Deliver one consistent snapshot (waits while the buffer is full)."""
        changes: list[Change[T]] | tuple[Change[T], ...] = batch.changes
        if self._stream.store is not None:
            changes = self._stream.store.apply(batch)
        self.batches += 1
        if batch.synced is not None:
            self.state = SourceState.SYNCED
        for change in changes:
            await self._stream._put(change)
            self.events += 1
        for invalid in batch.invalid:
            await self._stream._put(invalid)
            self.invalid += 1
        if batch.synced is not None:
            await self._stream._put(batch.synced, marker=True)

    async def reconnecting(self, attempt: int, delay: float, error: FirebaseSyncError) -> None:
        """Report that the connection was lost and will be retried after ``delay`` seconds."""
        self.reconnects += 1
        self.last_error = error
        self.state = SourceState.RECONNECTING
        _log.warning(
            "%s: connection lost (%s), reconnecting in %.2f s (attempt %d)",
            self.source,
            redact(error),
            delay,
            attempt,
        )
        await self._stream._put(Reconnecting(self.source, attempt, delay, error), marker=True)

    def syncing(self) -> None:
        """The (re)connection is up and catching up."""
        self.state = SourceState.SYNCING

    def synced_marker(self, *, resumed: bool, entries: int, metadata: ChangeMetadata) -> Synced:
        """The ``Synced`` marker for this source (``resumed`` after a reconnect)."""
        return Synced(self.source, resumed, entries, metadata)

    def statistics(self) -> SourceStatistics:
        """Counters and state of this source, as a snapshot."""
        error = str(self.last_error) if self.last_error is not None else None
        return SourceStatistics(
            self.source, self.state, self.events, self.batches, self.reconnects, error, self.invalid
        )


class ChangeStream(Generic[T]):
    """Merge listeners into one async iterator; see the module docstring for the policies.

    With ``markers=False`` only :class:`Change` and :class:`InvalidDocument` events are
    yielded (sync markers and reconnect notices still update the statistics and the store).
    """

    def __init__(
        self,
        *listeners: Listener[T],
        buffer: int = 1024,
        store: Store[T] | None = None,
        markers: bool = True,
    ) -> None:
        if buffer < 1:
            raise ValueError("buffer must hold at least one event")
        self.store = store
        self.markers = markers
        self._listeners = listeners
        self._sinks = [Sink(self, listener.source) for listener in listeners]
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=buffer)
        self._buffer_size = buffer
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._settled: set[asyncio.Task[None]] = set()
        self._failure: FirebaseSyncError | None = None
        self._started = False
        self._closed = False
        self._delivered = 0

    def start(self) -> None:
        """Start every listener (done by ``async with`` or the first iteration).

        Raises :class:`~firebase_sync.errors.StreamClosed` if the stream was closed before it
        started: a closed stream is never reopened (make a new one).
        """
        if self._started:
            return
        if self._closed:
            raise StreamClosed("the change stream was closed before it started")
        self._started = True
        for listener, sink in zip(self._listeners, self._sinks, strict=True):
            task = asyncio.get_running_loop().create_task(
                listener.run(sink), name=f"firebase-sync listener {listener.source}"
            )
            task.add_done_callback(functools.partial(self._listener_done, sink=sink))
            self._tasks.append(task)

    async def __aenter__(self) -> ChangeStream[T]:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[Any]:
        self.start()
        return self

    async def __anext__(self) -> Any:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if not self._queue.empty():
                self._delivered += 1
                return self._queue.get_nowait()
            if self._failure is not None:
                failure = self._failure
                await self.aclose()
                raise failure
            if self._tasks and all(task.done() for task in self._tasks):
                # Done callbacks run on a later loop turn; settle outcomes now, in order.
                for task, sink in zip(self._tasks, self._sinks, strict=True):
                    self._listener_done(task, sink=sink)
                if self._failure is None:
                    raise StopAsyncIteration
                continue
            self._wakeup.clear()
            await self._wakeup.wait()

    async def aclose(self) -> None:
        """Stop every listener and end the iteration; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # Finished tasks keep their frames (and so their connections) alive: let them go.
        self._tasks.clear()
        self._settled.clear()
        for sink in self._sinks:
            if sink.state is not SourceState.FAILED:
                sink.state = SourceState.CLOSED
        self._wakeup.set()

    @property
    def closed(self) -> bool:
        """Whether the stream was closed (by ``aclose()`` or leaving ``async with``)."""
        return self._closed

    def statistics(self) -> StreamStatistics:
        """Delivery counters, buffer use and each source's statistics, as a snapshot."""
        return StreamStatistics(
            events_delivered=self._delivered,
            events_buffered=self._queue.qsize(),
            buffer_size=self._buffer_size,
            reconnects=sum(sink.reconnects for sink in self._sinks),
            sources=tuple(sink.statistics() for sink in self._sinks),
        )

    async def _put(self, event: Event, *, marker: bool = False) -> None:
        if marker and not self.markers:
            return
        await self._queue.put(event)
        self._wakeup.set()

    def _listener_done(self, task: asyncio.Task[None], *, sink: Sink[T]) -> None:
        if task.cancelled() or task in self._settled:
            return
        self._settled.add(task)
        exc = task.exception()
        if exc is None:
            sink.state = SourceState.CLOSED
        else:
            error = map_exception(exc)
            if error is not exc:
                error.__cause__ = exc
            sink.state = SourceState.FAILED
            sink.last_error = error
            _log.error("%s: listener gave up: %s", sink.source, redact(error))
            if self._failure is None:
                self._failure = error
            if self.store is not None:
                self.store.fail(error)
        self._wakeup.set()
