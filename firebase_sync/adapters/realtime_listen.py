"""Listening to the Realtime Database natively on asyncio: one SSE response, no threads.

The stream is read in chunks (not a character at a time), parsed by
:class:`~firebase_sync._wire.sse.SseParser` and applied to an
:class:`~firebase_sync._wire.rtdb_events.RtdbView`; only children whose value really changed
become changes, so the full ``put`` the server sends on every (re)connect costs no
duplicate events.

**Queries.** Firebase's REST streaming documentation (the REST guide's "Streaming from the
REST API" and the 2014 announcement) describes a stream as the equivalent of one listener on
a *location*: it documents ``Accept: text/event-stream``, ``auth`` and the five event types,
and lists ``orderBy`` / ``startAt`` / ``endAt`` / ``equalTo`` / ``limitToFirst`` /
``limitToLast`` only for reads with ``GET``; nothing says a stream honours them (and
firebase-admin never sends them on ``listen()``). So by default the listener streams the
path and keeps the query's window with :class:`~firebase_sync._wire.rtdb_order.QueryWindow`,
updated from the changed children only (a bisect per change, the window read as a slice):
``limit_to_first(10)`` over 100,000 children never re-sorts them per event. With
``server_filter=True`` the query parameters are sent on the stream too, for servers known to
filter streams (the embedded emulator does): the server then streams only the window, and
the same window logic re-checks it.

``keep-alive`` only feeds the idle timer (no byte for ``deadlines.idle`` seconds means a dead
connection); the response and its first event must come within ``deadlines.first_byte``;
``auth_revoked`` reconnects with a refreshed token and counts as a failure for the backoff;
``cancel`` (access revoked by rules) is permanent and raised. Reconnects go through the one
driver, :func:`~firebase_sync.retry.keep_listening`.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Generic, TypeVar

import aiohttp

from .._wire.rtdb_events import Absent, ChildChange, RtdbView
from .._wire.rtdb_order import QueryWindow, RtdbQuerySpec
from .._wire.sse import SseParser
from ..change import Batch, Change, ChangeKind, ChangeMetadata, InvalidDocument, Source
from ..errors import (
    ConnectionLost,
    FirebaseSyncError,
    PermissionDenied,
    ProtocolError,
    TransportTimeout,
    Unauthenticated,
    ValidationFailed,
    http_error,
)
from ..models import Document
from ..retry import keep_listening
from ._rtdb_http import translate

if TYPE_CHECKING:
    from ..retry import Backoff
    from ..stream import Sink
    from .realtime import RealtimeRepository

__all__ = ["RealtimeListener"]

T = TypeVar("T", bound=Document)


class _Revoked(Unauthenticated):
    """The server revoked the credential: reconnect with a fresh token (after the backoff)."""


class RealtimeListener(Generic[T]):
    """Listens to the children of a :class:`RealtimeRepository` path (optionally a query)."""

    def __init__(
        self,
        repo: RealtimeRepository[T],
        spec: RtdbQuerySpec | None = None,
        *,
        idle_timeout: float | None = None,
        server_filter: bool = False,
    ) -> None:
        self.repo = repo
        self.spec = spec
        deadlines = repo.endpoint.deadlines
        self.idle_timeout = deadlines.idle if idle_timeout is None else idle_timeout
        self.server_filter = server_filter
        self.source = Source("rtdb", repo.path, spec.describe() if spec else "")
        self.tree = RtdbView()
        #: the decoded children currently in view: the ``before`` of the next change
        self.view: dict[str, T] = {}
        self._window = QueryWindow(spec) if spec is not None else None
        self._refresh = False
        self.connections = 0

    async def run(self, sink: Sink[T]) -> None:
        """Listen until cancelled; raise when the failure is permanent or retries run out."""
        await keep_listening(
            lambda backoff: self._session(sink, backoff),
            policy=self.repo.reconnect,
            report=sink.reconnecting,
            resumable=lambda error: error.retryable or isinstance(error, _Revoked),
        )

    async def _session(self, sink: Sink[T], backoff: Backoff) -> FirebaseSyncError:
        """One SSE connection, until it breaks; returns why it ended."""
        endpoint = self.repo.endpoint
        deadlines = endpoint.deadlines
        path = self.repo.path
        refresh, self._refresh = self._refresh, False
        params = endpoint.params(
            self.spec.params() if self.spec is not None and self.server_filter else None
        )
        timeout = aiohttp.ClientTimeout(
            total=None, connect=deadlines.connect, sock_read=self.idle_timeout
        )
        try:
            async with asyncio.timeout(deadlines.first_byte) as first_byte:
                headers = {
                    "Accept": "text/event-stream",
                    "Cache-Control": "no-cache",
                    "Authorization": await endpoint.authorization(refresh=refresh),
                }
                async with endpoint.session.get(
                    endpoint.url(path), params=params, headers=headers, timeout=timeout
                ) as response:
                    if response.status >= 400:
                        text = (await response.read())[:200].decode(errors="replace")
                        raise http_error(response.status, text, path=path)
                    self.connections += 1
                    sink.syncing()
                    await self._consume(response, sink, backoff, first_byte)
                    return ConnectionLost("the server ended the event stream", path=path)
        except asyncio.CancelledError:
            raise
        except _Revoked as exc:
            self._refresh = True
            return exc
        except FirebaseSyncError as exc:
            if not exc.retryable:
                raise
            return exc
        except TimeoutError as exc:
            if first_byte.expired():
                return TransportTimeout(
                    f"no event within the {deadlines.first_byte:g} s first-byte deadline",
                    path=path,
                )
            error = translate(exc, path=path)
            error.__cause__ = exc
        except Exception as exc:  # noqa: BLE001 -- translated; a bug is raised below
            error = translate(exc, path=path)
            error.__cause__ = exc
        if not error.retryable:
            raise error
        return error

    async def _consume(
        self,
        response: aiohttp.ClientResponse,
        sink: Sink[T],
        backoff: Backoff,
        first_byte: asyncio.Timeout,
    ) -> None:
        parser = SseParser()
        first = True
        async for chunk in response.content.iter_any():
            # Any byte proves the stream alive; from here on only the idle deadline applies.
            first_byte.reschedule(None)
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
                    raise _Revoked(
                        "auth_revoked: the credential is no longer valid", path=self.repo.path
                    )
                # keep-alive and unknown events only prove the connection is alive

    async def _deliver(self, sink: Sink[T], changed: list[ChildChange], *, synced: bool) -> None:
        resumed = self.connections > 1 and synced
        metadata = ChangeMetadata(resumed=resumed)
        if self._window is not None:
            changed = self._window_changes(changed)
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

    def _window_changes(self, changed: list[ChildChange]) -> list[ChildChange]:
        assert self._window is not None
        diff = self._window.update((child.key, child.after) for child in changed)
        return [ChildChange(key, before, after) for key, (before, after) in diff.items()]

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
