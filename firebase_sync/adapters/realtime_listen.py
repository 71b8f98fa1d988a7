"""Listening to the Realtime Database natively on asyncio: one SSE response, no threads.

The stream is read in chunks (not a character at a time), parsed by
:class:`~firebase_sync._wire.sse.SseParser` and applied to an
:class:`~firebase_sync._wire.rtdb_events.RtdbView`; only children whose value really changed
become changes, so the full ``put`` the server sends on every (re)connect costs no
duplicate events. Queries (order by key, value or child, ranges, limits) are evaluated here
over the streamed subtree: children entering and leaving the window are added and removed.

``keep-alive`` only feeds the idle timer (no byte for ``idle_timeout`` seconds means a dead
connection); ``auth_revoked`` reconnects at once with a refreshed token; ``cancel`` (access
revoked by rules) is permanent and raised. Lost connections are retried with the repository's
backoff, reset after each successful sync.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import aiohttp

from .._wire.rtdb_events import Absent, ChildChange, RtdbView
from .._wire.rtdb_order import RtdbQuerySpec, evaluate
from .._wire.sse import SseParser
from ..change import Batch, Change, ChangeKind, ChangeMetadata, InvalidDocument, Source
from ..errors import (
    ConnectionLost,
    FirebaseSyncError,
    PermissionDenied,
    ProtocolError,
    Unauthenticated,
    ValidationFailed,
    http_error,
    map_exception,
)
from ..models import Document

if TYPE_CHECKING:
    from ..retry import Backoff
    from ..stream import Sink
    from .realtime import RealtimeRepository

__all__ = ["RealtimeListener"]

T = TypeVar("T", bound=Document)


class _Revoked(Exception):
    """The server revoked the credential: reconnect now with a fresh token."""


class RealtimeListener(Generic[T]):
    """Listens to the children of a :class:`RealtimeRepository` path (optionally a query)."""

    def __init__(
        self,
        repo: RealtimeRepository[T],
        spec: RtdbQuerySpec | None = None,
        *,
        idle_timeout: float = 60.0,
    ) -> None:
        self.repo = repo
        self.spec = spec
        self.idle_timeout = idle_timeout
        self.source = Source("rtdb", repo.path, spec.describe() if spec else "")
        self.tree = RtdbView()
        #: the decoded children currently in view: the ``before`` of the next change
        self.view: dict[str, T] = {}
        self._window: dict[str, Any] = {}
        self.connections = 0

    async def run(self, sink: Sink[T]) -> None:
        """Listen until cancelled; raise when the failure is permanent or retries run out."""
        backoff = self.repo.reconnect.backoff()
        refresh = False
        while True:
            try:
                error = await self._session(sink, backoff, refresh=refresh)
                refresh = False
            except _Revoked:
                refresh = True
                await sink.reconnecting(0, 0.0, Unauthenticated("credential revoked"))
                continue
            if not error.retryable or backoff.exhausted:
                raise error
            delay = backoff.next_delay()
            await sink.reconnecting(backoff.failures, delay, error)
            await self.repo.reconnect.sleep(delay)

    async def _session(
        self, sink: Sink[T], backoff: Backoff, *, refresh: bool
    ) -> FirebaseSyncError:
        """One SSE connection, until it breaks; returns why it ended."""
        endpoint = self.repo.endpoint
        path = self.repo.path
        headers = {
            "Accept": "text/event-stream",
            "Cache-Control": "no-cache",
            "Authorization": await endpoint.authorization(refresh=refresh),
        }
        timeout = aiohttp.ClientTimeout(total=None, connect=30, sock_read=self.idle_timeout)
        try:
            async with endpoint.session.get(
                endpoint.url(path), params=endpoint.params(), headers=headers, timeout=timeout
            ) as response:
                if response.status >= 400:
                    text = (await response.read())[:200].decode(errors="replace")
                    raise http_error(response.status, text, path=path)
                self.connections += 1
                sink.syncing()
                await self._consume(response, sink, backoff)
                return ConnectionLost("the server ended the event stream", path=path)
        except (asyncio.CancelledError, _Revoked):
            raise
        except FirebaseSyncError as exc:
            if not exc.retryable:
                raise
            return exc
        except Exception as exc:  # noqa: BLE001 -- every failure is classified, none dropped
            error = map_exception(exc, path=path)
            error.__cause__ = exc
            return error

    async def _consume(
        self, response: aiohttp.ClientResponse, sink: Sink[T], backoff: Backoff
    ) -> None:
        parser = SseParser()
        first = True
        async for chunk in response.content.iter_any():
            for event in parser.feed(chunk):
                if event.event in ("put", "patch"):
                    try:
                        payload = json.loads(event.data)
                    except ValueError as exc:
                        raise ProtocolError(f"bad {event.event} data", path=self.repo.path) from exc
                    changed = self.tree.apply(event.event, payload)
                    await self._deliver(sink, changed, synced=first)
                    if first:
                        backoff.reset()
                        first = False
                elif event.event == "cancel":
                    reason = event.data if event.data != "null" else "access revoked"
                    raise PermissionDenied(f"listener cancelled: {reason}", path=self.repo.path)
                elif event.event == "auth_revoked":
                    raise _Revoked()
                # keep-alive and unknown events only prove the connection is alive

    async def _deliver(self, sink: Sink[T], changed: list[ChildChange], *, synced: bool) -> None:
        resumed = self.connections > 1 and synced
        metadata = ChangeMetadata(resumed=resumed)
        if self.spec is not None and (changed or synced):
            changed = self._window_changes()
        changes: list[Change[T]] = []
        invalid: list[InvalidDocument] = []
        for child in changed:
            try:
                change = self._change(child, metadata)
            except ValidationFailed as error:
                path = error.path or f"{self.repo.path.rstrip('/')}/{child.key}"
                stale = child.key in self.view
                invalid.append(
                    InvalidDocument(self.source, child.key, path, error, metadata, stale)
                )
                continue
            if change is not None:
                changes.append(change)
        marker = None
        if synced:
            marker = sink.synced_marker(resumed=resumed, entries=len(self.view), metadata=metadata)
        if changes or invalid or marker is not None:
            await sink.batch(Batch(self.source, tuple(changes), marker, tuple(invalid)))

    def _window_changes(self) -> list[ChildChange]:
        assert self.spec is not None
        window = dict(evaluate(self.tree.children, self.spec))
        old, self._window = self._window, window
        changed = []
        for key in _ordered_union(old, window):
            before, after = old.get(key, Absent), window.get(key, Absent)
            if before is Absent or after is Absent or before != after:
                changed.append(ChildChange(key, before, after))
        return changed

    def _change(self, child: ChildChange, metadata: ChangeMetadata) -> Change[T] | None:
        """The change for ``child``; None for the removal of a child never valid."""
        before = self.view.get(child.key)
        if child.after is Absent:
            if before is None:
                return None
            del self.view[child.key]
            return Change(self.source, child.key, ChangeKind.REMOVED, before, None, metadata)
        # Raises ValidationFailed before the view changes: it keeps the last valid value.
        after = self.repo.decode(child.key, child.after)
        self.view[child.key] = after
        kind = ChangeKind.ADDED if before is None else ChangeKind.MODIFIED
        return Change(self.source, child.key, kind, before, after, metadata)


def _ordered_union(first: dict[str, Any], second: dict[str, Any]) -> Iterable[str]:
    return dict.fromkeys([*first, *second])
