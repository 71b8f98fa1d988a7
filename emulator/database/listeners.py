"""One streaming listener: its path, optional query, and a bounded buffer of pending events.

Overflow policy: a listener with ``max_pending`` undelivered events (a client that reads slower
than the database changes) is dropped rather than buffering without bound: its buffer is
discarded and it receives ``CANCEL``, after which the stream is closed. The SDK then reconnects
and receives a fresh initial ``put``, so it resynchronises instead of silently missing events.

``offer`` may be called from any thread; items are handed to the listener's event loop.
"""

from __future__ import annotations

import asyncio
from enum import Enum

from .events import Event
from .paths import Path
from .query import Query


class Signal(Enum):
    """Stream control items: end the stream normally, or after a ``cancel`` event."""

    CLOSE = "close"
    CANCEL = "cancel"


Item = Event | Signal


class Listener:
    """A subscriber at ``path``; ``query`` (if any) filters what it sees."""

    def __init__(
        self,
        path: Path,
        query: Query | None,
        loop: asyncio.AbstractEventLoop,
        max_pending: int = 1000,
    ) -> None:
        self.path = path
        self.query = query
        #: canonical JSON of the last value a query listener was sent
        self.last_sent: str | None = None
        self.max_pending = max_pending
        self.delivered = 0
        self.overflowed = False
        self._loop = loop
        self._queue: asyncio.Queue[Item] = asyncio.Queue()
        self._finished = False

    @property
    def pending(self) -> int:
        """Items buffered and not yet taken by the stream."""
        return self._queue.qsize()

    def offer(self, item: Item) -> None:
        """Queue an event or signal; never blocks."""
        if _running_loop() is self._loop:
            self._offer_now(item)
        else:
            self._loop.call_soon_threadsafe(self._offer_now, item)

    def close(self) -> None:
        """Ask the stream to end cleanly after what is already queued."""
        self.offer(Signal.CLOSE)

    async def next(self) -> Item:
        """The next item; wait for one."""
        item = await self._queue.get()
        if isinstance(item, Event):
            self.delivered += 1
        return item

    def _offer_now(self, item: Item) -> None:
        if self._finished:
            return
        if isinstance(item, Signal):
            self._finished = True
        elif self._queue.qsize() >= self.max_pending:
            self.overflowed = self._finished = True
            while not self._queue.empty():
                self._queue.get_nowait()
            item = Signal.CANCEL
        self._queue.put_nowait(item)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
