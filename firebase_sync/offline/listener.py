"""``OfflineListener``: a repository's listener behind the local cache and the pending writes.

On start it serves the cached entries at once (``from_cache``), with the source's queued
writes laid over them (``has_pending_writes``). Then it runs the repository's own listener;
each server snapshot is recorded in the cache and merged into what was shown, so only real
differences come out. At the first server sync, cached entries the server no longer holds
are removed and the ``from_cache`` flag clears on the others.

Warm resume (Firestore). Every server snapshot is saved with its resume token and read time
in one transaction. When the cache holds a token for the source, the repository's listener
starts from the cached entries and that token, so the server sends only what changed since
(deletions included) instead of the whole result; a server that no longer knows the token
sends ``RESET`` and everything, and the same reconciliation applies.

A change that only moves a flag (same value) is passed on only when the stream feeds a
store (which updates the entry's metadata and emits nothing); otherwise it is left out.

Pending writes are laid over the server values by the listener's
:class:`~firebase_sync.offline.overlay.Overlay` (pure state; how a replayed write and its echo
are told apart is explained there). The listener reaches its repository and the repository's
own listener only through the protocols below: :class:`LocalSource`, :class:`ServerListener`
and, for warm resume, :class:`ResumableListener`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

from ..change import Batch, Change, ChangeKind, ChangeMetadata, InvalidDocument, Source, Synced
from ..errors import FirebaseSyncError, ValidationFailed
from ..models import Document
from ..stream import Sink
from .cache import LocalCache
from .ops import decode_entry, encode_entry
from .overlay import Overlay, OverlaySubscriber, PendingWrites

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["LocalSource", "OfflineListener", "ResumableListener", "ServerListener"]

T = TypeVar("T", bound=Document)


class ServerListener(Protocol[T]):
    """A repository's own listener, as the offline listener uses it."""

    source: Source

    @property
    def view(self) -> Mapping[str, T]:
        """The entries the server confirmed since the listener started, by key."""
        ...

    async def run(self, sink: Sink[T]) -> None: ...


@runtime_checkable
class ResumableListener(ServerListener[T], Protocol[T]):
    """A server listener that can start from a saved state (Firestore resume tokens)."""

    def resume_from(
        self, resume_token: bytes, read_time: dt.datetime | None, view: Mapping[str, T]
    ) -> None: ...

    @property
    def resume_point(self) -> tuple[bytes | None, dt.datetime | None]:
        """The resume token and read time of the last snapshot delivered."""
        ...


class LocalSource(Protocol[T]):
    """What the offline listener uses of its :class:`OfflineRepository`."""

    @property
    def model(self) -> type[T]: ...

    @property
    def cache(self) -> LocalCache: ...

    @property
    def source_id(self) -> str: ...

    @property
    def pending(self) -> PendingWrites: ...

    def server_listener(self) -> ServerListener[T]: ...

    def subscribe(self, subscriber: OverlaySubscriber[T]) -> None: ...

    def unsubscribe(self, subscriber: OverlaySubscriber[T]) -> None: ...

    def start(self) -> None: ...


class OfflineListener(Generic[T]):
    """A :class:`~firebase_sync.stream.Listener` of an offline repository's whole source."""

    def __init__(self, offline: LocalSource[T], store: Store[T] | None = None) -> None:
        self.offline = offline
        self.inner = offline.server_listener()
        self.source = self.inner.source
        self.store = store
        self._overlay = Overlay(offline.model, offline.pending)
        self._from_cache: set[str] = set()
        self._server_synced = False
        self._shown: dict[str, tuple[T, bool, bool]] = {}
        self._sink: Sink[T] | None = None

    @property
    def overlay(self) -> Overlay[T]:
        """The local view: server values with this source's pending writes over them."""
        return self._overlay

    async def run(self, sink: Sink[T]) -> None:
        """Serve the cache, then listen; raises what the inner listener raises."""
        self._sink = sink
        self.offline.subscribe(self)
        try:
            await self._seed(sink)
            self.offline.start()
            await self.inner.run(_ServerSink(self, sink))
        finally:
            self.offline.unsubscribe(self)
            self._sink = None

    async def _seed(self, sink: Sink[T]) -> None:
        offline, overlay = self.offline, self._overlay
        state = offline.cache.resume_state(offline.source_id)
        whole = True
        for key, text in offline.cache.entries(offline.source_id):
            try:
                overlay.server[key] = decode_entry(offline.model, key, text)
            except ValidationFailed:
                whole = False  # written under another model: the server sync brings it back
        resumable = self.inner if isinstance(self.inner, ResumableListener) else None
        if state is not None and state.resume_token and whole and resumable is not None:
            # Ask only for what changed since the cached state. Not when an entry was left
            # out: a resumed server would never send it again.
            resumable.resume_from(state.resume_token, state.read_time, overlay.server)
        overlay.known = state is not None
        self._from_cache = set(overlay.server)
        metadata = ChangeMetadata(from_cache=True)
        keys = overlay.keys()
        synced = None
        if state is not None:
            synced = Synced(self.source, False, len(keys), metadata)
        await self._publish(sink, keys, metadata, synced)

    async def local_changed(self, key: str) -> None:
        """A write of ``key`` was queued or settled: show the new local value."""
        if self._sink is not None:
            await self._publish(self._sink, [key], ChangeMetadata(), None)

    async def _on_server(self, batch: Batch[T], sink: Sink[T]) -> None:
        overlay = self._overlay
        metadata = _metadata_of(batch)
        upserts: list[tuple[str, str]] = []
        removals: list[str] = []
        keys: list[str] = []
        for change in batch.changes:
            key = change.key
            if change.after is None:
                removals.append(key)
            else:
                upserts.append((key, json.dumps(encode_entry(change.after))))
            overlay.received(key, change.after)
            self._from_cache.discard(key)
            keys.append(key)
        if batch.synced is not None:
            if not self._server_synced:
                confirmed = self.inner.view
                for key in [k for k in self._from_cache if k not in confirmed]:
                    overlay.forget(key)
                    removals.append(key)
                keys.extend(self._from_cache)
                self._from_cache.clear()
                self._server_synced = True
            overlay.known = True
        # A Firestore batch is a consistent state and the listener's resume point is that
        # state's (the adapter delivers each snapshot before it reads on): save the token with
        # the entries, in one transaction, so a crash never pairs a token with older entries.
        token: bytes | None = None
        read_time: dt.datetime | None = None
        if isinstance(self.inner, ResumableListener):
            token, read_time = self.inner.resume_point
        self.offline.cache.save(
            self.offline.source_id,
            upserts,
            removals,
            synced=batch.synced is not None or (token is not None and self._server_synced),
            resume_token=token,
            read_time=read_time,
        )
        await self._publish(sink, keys, metadata, batch.synced, batch.invalid)

    async def _publish(
        self,
        sink: Sink[T],
        keys: Iterable[str],
        metadata: ChangeMetadata,
        synced: Synced | None,
        invalid: tuple[InvalidDocument, ...] = (),
    ) -> None:
        changes: list[Change[T]] = []
        variants: dict[tuple[bool, bool], ChangeMetadata] = {}
        for key in dict.fromkeys(keys):
            value, pending = self._overlay.desired(key)
            from_cache = key in self._from_cache
            flags = variants.get((from_cache, pending))
            if flags is None:
                flags = replace(metadata, from_cache=from_cache, has_pending_writes=pending)
                variants[from_cache, pending] = flags
            shown = self._shown.get(key)
            if value is None:
                if shown is not None:
                    del self._shown[key]
                    changes.append(
                        Change(self.source, key, ChangeKind.REMOVED, shown[0], None, flags)
                    )
                continue
            self._shown[key] = (value, from_cache, pending)
            if shown is None:
                changes.append(Change(self.source, key, ChangeKind.ADDED, None, value, flags))
            elif shown[0] != value or (
                self.store is not None and shown[1:] != (from_cache, pending)
            ):
                changes.append(
                    Change(self.source, key, ChangeKind.MODIFIED, shown[0], value, flags)
                )
        if changes or synced is not None or invalid:
            await sink.batch(Batch(self.source, tuple(changes), synced, invalid))


def _metadata_of(batch: Batch[Any]) -> ChangeMetadata:
    if batch.changes:
        return batch.changes[0].metadata
    if batch.synced is not None:
        return batch.synced.metadata
    return ChangeMetadata()


class _ServerSink(Sink[T]):
    """What the inner listener reports to: server batches go through the offline listener,
    everything else straight to the stream's sink."""

    # The base initialiser is skipped on purpose: every method goes to ``outer``.
    def __init__(self, listener: OfflineListener[T], outer: Sink[T]) -> None:
        self._listener = listener
        self._outer = outer
        self.source = outer.source

    async def batch(self, batch: Batch[T]) -> None:
        await self._listener._on_server(batch, self._outer)

    async def reconnecting(self, attempt: int, delay: float, error: FirebaseSyncError) -> None:
        await self._outer.reconnecting(attempt, delay, error)

    def syncing(self) -> None:
        self._outer.syncing()

    def synced_marker(self, *, resumed: bool, entries: int, metadata: ChangeMetadata) -> Synced:
        return self._outer.synced_marker(resumed=resumed, entries=entries, metadata=metadata)
