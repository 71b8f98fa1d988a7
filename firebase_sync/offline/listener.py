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

Sent writes and their echo. The server's snapshot holding a replayed write (its echo) and
the flusher's report that the write was applied race: the listener's stream and the
flusher's request are separate connections, and the flusher first commits the queue to disk.

* Echo first: the write is still queued when a server value that already holds it arrives.
  Laid over that value again, it would be applied twice (an increment counted twice, a
  merged value replaced by the write's own fields). So the flusher tells the listener the
  value each attempt is about to write (:meth:`OfflineListener.writing`); a server value of
  that entry equal to one of them is taken as the echo, and from then on the write is left
  out of the overlay.
* Acknowledgement first: until the echo arrives, the value the write left on the server is
  shown (still flagged ``has_pending_writes``) so that the entry does not flick back to the
  old value. Several acknowledged writes of one entry may wait for their echoes: a server
  value equal to what one of them left ends the hold of that one and of those before it
  (the echo of an earlier write of ours is older than the later writes); any other server
  value ends every hold of the entry. Nothing is held when the echo is already in: it would
  stay, stale and flagged, until the next change of the entry.

Values are compared because both databases carry them (the marker field is dropped by the
models). A coincidental match only shows a server value early, which the echo then corrects;
the opposite mistake would stick, hence the bias.
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
        # Values the server held after each write it acknowledged, by key and in order, while
        # this listener has not seen them come back: the last is shown (and flagged) so the
        # value does not flick back to an older one meanwhile (see the module docstring).
        self._acked: dict[str, list[T | None]] = {}
        # The write being sent (id, key), the values its attempts write, and whether a server
        # value of its key equal to one of them (its echo) has arrived.
        self._sending: tuple[str, str] | None = None
        self._writing: list[Any] = []
        self._echoed = False
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
        whole = True
        for key, text in offline.cache.entries(offline.source_id):
            try:
                self.server[key] = decode_entry(offline.model, key, text)
            except ValidationFailed:
                whole = False  # written under another model: the server sync brings it back
        resume_from = getattr(self.inner, "resume_from", None)
        if state is not None and state.resume_token and whole and resume_from is not None:
            # Ask only for what changed since the cached state. Not when an entry was left
            # out: a resumed server would never send it again.
            resume_from(state.resume_token, state.read_time, self.server)
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

    def writing(self, write: PendingWrite, value: Any) -> None:
        """An attempt of ``write`` is about to store ``value`` (a model, ``None`` or
        :data:`UNKNOWN`); a server value equal to it from now on is the write's echo."""
        if self._sending != (write.write_id, write.key):
            # Attempts of one write (retries included) share what they wrote: an earlier
            # one may have been applied although its answer was lost.
            self._sending = (write.write_id, write.key)
            self._writing, self._echoed = [], False
        if value is not UNKNOWN:
            self._writing.append(value)

    def _is_echo(self, key: str, value: T | None) -> bool:
        return (
            self._sending is not None
            and self._sending[1] == key
            and any(value == written for written in self._writing)
        )

    async def settled(self, write: PendingWrite, *, applied: bool, stored: Any = UNKNOWN) -> None:
        """A queued write left the queue (``applied`` by the server, or failed/dropped);
        ``stored`` is the value it left on the server (:data:`UNKNOWN`: not known)."""
        echoed = False
        if self._sending == (write.write_id, write.key):
            echoed = self._echoed
            self._sending, self._writing, self._echoed = None, [], False
        if applied and stored is not UNKNOWN:
            if echoed or stored == self.server.get(write.key):
                self._acked.pop(write.key, None)  # the echo is in (and any earlier one's)
            else:
                self._acked.setdefault(write.key, []).append(stored)
        await self.local_changed(write.key)

    def desired(self, key: str) -> tuple[T | None, bool]:
        """The value to show for ``key`` (server value, or an acknowledged write's value not
        seen back yet, with queued writes over it), and whether writes of ours are in it."""
        held = key in self._acked
        base = self._acked[key][-1] if held else self.server.get(key)
        writes = self.offline._queued.get(key, [])
        if self._echoed and self._sending is not None and self._sending[1] == key:
            # The server value already holds the write being sent: do not apply it twice.
            writes = [w for w in writes if w.write_id != self._sending[0]]
        if not writes:
            return base, held
        return self._overlay(base, writes)[0], True

    def _release(self, key: str, server: T | None) -> None:
        """The server sent ``server`` for ``key``: end the holds it shows to be over."""
        held = self._acked.get(key)
        if held is None:
            return
        # The last match: if values repeat, rather show the server early than hold forever.
        matches = [i for i, value in enumerate(held) if value == server]
        del held[: matches[-1] + 1 if matches else len(held)]
        if not held:
            del self._acked[key]

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
            self._release(key, change.after)
            if self._is_echo(key, change.after):
                self._echoed = True
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
        # A Firestore batch is a consistent state and the machine's token is that state's
        # (the adapter delivers each snapshot before it reads on): save the token with the
        # entries, in one transaction, so a crash never pairs a token with older entries.
        machine = getattr(self.inner, "machine", None)
        token = getattr(machine, "resume_token", None)
        self.offline.cache.save(
            self.offline.source_id,
            upserts,
            removals,
            synced=batch.synced is not None or (token is not None and self._server_synced),
            resume_token=token,
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
