"""``OfflineListener``: a repository's listener behind the local cache and the pending writes.

On start it serves the cached entries at once (``from_cache``), with the source's queued
writes laid over them (``has_pending_writes``). Then it runs the repository's own listener;
each server snapshot is recorded in the cache and merged into what was shown, so only real
differences come out. At the first server sync, cached entries the server no longer holds
are removed and the ``from_cache`` flag clears on the others.

A change that only moves a flag (same value) is passed on only when the stream feeds a
store (which updates the entry's metadata and emits nothing); otherwise it is left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..change import Batch, Change, ChangeKind, ChangeMetadata, InvalidDocument, Synced
from ..errors import FirebaseSyncError, ValidationFailed
from ..models import Document
from ..stream import Sink
from .cache import PendingWrite
from .ops import UNKNOWN, WriteOp, apply_op, decode_entry, encode_entry

if TYPE_CHECKING:
    from ..store import Store
    from .repository import OfflineRepository

__all__ = ["OfflineListener"]

T = TypeVar("T", bound=Document)


class OfflineListener(Generic[T]):
    """A :class:`~firebase_sync.stream.Listener` of an offline repository's whole source."""

    def __init__(self, offline: OfflineRepository[T], store: Store[T] | None = None) -> None:
        self.offline = offline
        self.inner = offline.repo.listener()
        self.source = self.inner.source
        self.store = store
        #: the last server-confirmed value of each entry (cached or received)
        self.server: dict[str, T] = {}
        #: true once ``server`` is a whole state (a synced cache, or a server sync)
        self.known = False
        self._from_cache: set[str] = set()
        self._server_synced = False
        self._shown: dict[str, tuple[T, bool, bool]] = {}
        # Writes the server acknowledged but this listener has not seen come back yet: still
        # shown (and flagged) so the value does not flick back to the old one meanwhile.
        self._acked: dict[str, list[PendingWrite]] = {}
        self._sink: Sink[T] | None = None

    async def run(self, sink: Sink[T]) -> None:
        """Serve the cache, then listen; raises what the inner listener raises."""
        self._sink = sink
        self.offline._listeners.append(self)
        try:
            await self._seed(sink)
            self.offline.start()
            await self.inner.run(_ServerSink(self, sink))
        finally:
            self.offline._listeners.remove(self)
            self._sink = None

    async def _seed(self, sink: Sink[T]) -> None:
        offline = self.offline
        state = offline.cache.resume_state(offline.source_id)
        for key, text in offline.cache.entries(offline.source_id):
            try:
                self.server[key] = decode_entry(offline.model, key, text)
            except ValidationFailed:
                continue  # written under another model: the server sync will bring it back
        self.known = state is not None
        self._from_cache = set(self.server)
        metadata = ChangeMetadata(from_cache=True)
        keys = [*self.server, *offline._queued]
        synced = None
        if state is not None:
            synced = Synced(self.source, False, len(set(keys)), metadata)
        await self._publish(sink, keys, metadata, synced)

    async def local_changed(self, key: str) -> None:
        """A write of ``key`` was queued or settled: show the new local value."""
        if self._sink is not None:
            await self._publish(self._sink, [key], ChangeMetadata(), None)

    async def settled(self, write: PendingWrite, *, applied: bool) -> None:
        """A queued write left the queue (``applied`` by the server, or failed/dropped)."""
        if applied:
            held = [*self._acked.get(write.key, []), write]
            value, _ = self._overlay(self.server.get(write.key), held)
            if value != self.server.get(write.key):
                self._acked[write.key] = held
        await self.local_changed(write.key)

    def desired(self, key: str) -> tuple[T | None, bool]:
        """The value to show for ``key`` (server value with queued writes over it), and
        whether queued writes are in it."""
        server = self.server.get(key)
        writes = [*self._acked.get(key, []), *self.offline._queued.get(key, [])]
        if not writes:
            return server, False
        return self._overlay(server, writes)[0], True

    def _overlay(self, server: T | None, writes: list[PendingWrite]) -> tuple[T | None, bool]:
        value: Any = server
        try:
            for write in writes:
                if value is UNKNOWN and write.op == "update":
                    continue
                op = WriteOp(write.op, write.key, write.data)  # type: ignore[arg-type]
                value = apply_op(self.offline.model, None if value is UNKNOWN else value, op)
        except ValidationFailed:
            return server, True
        return (server if value is UNKNOWN else value), True

    async def _on_server(self, batch: Batch[T], sink: Sink[T]) -> None:
        metadata = _metadata_of(batch)
        upserts: list[tuple[str, str]] = []
        removals: list[str] = []
        keys: list[str] = []
        for change in batch.changes:
            key = change.key
            if change.after is None:
                self.server.pop(key, None)
                removals.append(key)
            else:
                self.server[key] = change.after
                upserts.append((key, json.dumps(encode_entry(change.after))))
            self._from_cache.discard(key)
            self._acked.pop(key, None)
            keys.append(key)
        if batch.synced is not None:
            if not self._server_synced:
                confirmed = getattr(self.inner, "view", {})
                for key in [k for k in self._from_cache if k not in confirmed]:
                    self.server.pop(key, None)
                    removals.append(key)
                keys.extend(self._from_cache)
                self._from_cache.clear()
                self._server_synced = True
            self.known = True
        machine = getattr(self.inner, "machine", None)
        self.offline.cache.save(
            self.offline.source_id,
            upserts,
            removals,
            synced=batch.synced is not None,
            resume_token=getattr(machine, "resume_token", None),
            read_time=getattr(machine, "read_time", None),
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
            value, pending = self.desired(key)
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
