"""Pending writes laid over server values: what an offline listener shows. Pure, no I/O.

:class:`PendingWrites` is the repository's queue of writes not yet settled, by key, in order.
:class:`Overlay` is one listener's local view: the last server-confirmed value of each entry,
the writes acknowledged by the server but not seen back yet, and the echo of the write being
sent; :meth:`Overlay.desired` is the value to show for a key. The repository owns the queue and
tells each subscriber's overlay what its flusher does (:class:`OverlaySubscriber`); the listener
tells it what the server sends.

Sent writes and their echo. The server's snapshot holding a replayed write (its echo) and
the flusher's report that the write was applied race: the listener's stream and the
flusher's request are separate connections, and the flusher first commits the queue to disk.

* Echo first: the write is still queued when a server value that already holds it arrives.
  Laid over that value again, it would be applied twice (an increment counted twice, a
  merged value replaced by the write's own fields). So the flusher reports the value each
  attempt is about to write (:meth:`Overlay.writing`); a server value of that entry equal to
  one of them is taken as the echo, and from then on the write is left out of the overlay.
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

from collections.abc import Iterable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from ..errors import ValidationFailed
from ..models import Document
from .cache import PendingWrite
from .ops import UNKNOWN, WriteOp, apply_op

__all__ = ["Overlay", "OverlaySubscriber", "PendingWrites"]

T = TypeVar("T", bound=Document)


class PendingWrites:
    """The writes of one source not settled yet, by key, in queue order."""

    def __init__(self, writes: Iterable[PendingWrite] = ()) -> None:
        self._by_key: dict[str, list[PendingWrite]] = {}
        for write in writes:
            self.add(write)

    def add(self, write: PendingWrite) -> None:
        self._by_key.setdefault(write.key, []).append(write)

    def remove(self, write: PendingWrite) -> None:
        """Forget ``write`` (applied, failed or dropped); unknown writes are ignored."""
        kept = [w for w in self._by_key.get(write.key, []) if w.write_id != write.write_id]
        if kept:
            self._by_key[write.key] = kept
        else:
            self._by_key.pop(write.key, None)

    def of(self, key: str) -> Sequence[PendingWrite]:
        """The pending writes of ``key``, oldest first."""
        return self._by_key.get(key, ())

    def keys(self) -> list[str]:
        """Every key with a pending write."""
        return list(self._by_key)


class Overlay(Generic[T]):
    """One listener's local view: server values, acknowledged writes and pending writes."""

    def __init__(self, model: type[T], pending: PendingWrites) -> None:
        self.model = model
        self.pending = pending
        #: the last server-confirmed value of each entry (cached or received)
        self.server: dict[str, T] = {}
        #: true once ``server`` is a whole state (a synced cache, or a server sync)
        self.known = False
        # Values the server held after each write it acknowledged, by key and in order, while
        # they have not come back: the last is shown (and flagged) meanwhile.
        self._acked: dict[str, list[T | None]] = {}
        # The write being sent (id, key), the values its attempts write, and whether a server
        # value of its key equal to one of them (its echo) has arrived.
        self._sending: tuple[str, str] | None = None
        self._writing: list[Any] = []
        self._echoed = False

    # -- what the flusher reports -----------------------------------------------------------

    def writing(self, write: PendingWrite, value: Any) -> None:
        """An attempt of ``write`` is about to store ``value`` (a model, ``None`` or
        :data:`~firebase_sync.offline.ops.UNKNOWN`)."""
        if self._sending != (write.write_id, write.key):
            # Attempts of one write (retries included) share what they wrote: an earlier
            # one may have been applied although its answer was lost.
            self._sending = (write.write_id, write.key)
            self._writing, self._echoed = [], False
        if value is not UNKNOWN:
            self._writing.append(value)

    def settled(self, write: PendingWrite, *, applied: bool, stored: Any = UNKNOWN) -> None:
        """``write`` left the queue (``applied`` by the server, or failed/dropped); ``stored``
        is the value it left on the server (UNKNOWN: not known)."""
        echoed = False
        if self._sending == (write.write_id, write.key):
            echoed = self._echoed
            self._sending, self._writing, self._echoed = None, [], False
        if applied and stored is not UNKNOWN:
            if echoed or stored == self.server.get(write.key):
                self._acked.pop(write.key, None)  # the echo is in (and any earlier one's)
            else:
                self._acked.setdefault(write.key, []).append(stored)

    # -- what the server sends --------------------------------------------------------------

    def received(self, key: str, value: T | None) -> None:
        """The server sent ``value`` (``None``: removed) for ``key``."""
        if value is None:
            self.server.pop(key, None)
        else:
            self.server[key] = value
        self._release(key, value)
        if self._is_echo(key, value):
            self._echoed = True

    def forget(self, key: str) -> None:
        """``key`` is not on the server (a cached entry the first sync did not confirm)."""
        self.server.pop(key, None)

    def _is_echo(self, key: str, value: T | None) -> bool:
        return (
            self._sending is not None
            and self._sending[1] == key
            and any(value == written for written in self._writing)
        )

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

    # -- what to show -------------------------------------------------------------------------

    def keys(self) -> list[str]:
        """Every key with a server value or a pending write."""
        return list(dict.fromkeys([*self.server, *self.pending.keys()]))

    def desired(self, key: str) -> tuple[T | None, bool]:
        """The value to show for ``key`` (server value, or an acknowledged write's value not
        seen back yet, with queued writes over it), and whether writes of ours are in it."""
        held = key in self._acked
        base = self._acked[key][-1] if held else self.server.get(key)
        writes = self.pending.of(key)
        if self._echoed and self._sending is not None and self._sending[1] == key:
            # The server value already holds the write being sent: do not apply it twice.
            writes = [w for w in writes if w.write_id != self._sending[0]]
        if not writes:
            return base, held
        return self._apply(base, writes), True

    def _apply(self, server: T | None, writes: Sequence[PendingWrite]) -> T | None:
        value: Any = server
        try:
            for write in writes:
                if value is UNKNOWN and write.op == "update":
                    continue
                op = WriteOp(write.op, write.key, write.data)  # type: ignore[arg-type]
                value = apply_op(self.model, None if value is UNKNOWN else value, op)
        except ValidationFailed:
            return server
        return server if value is UNKNOWN else value


class OverlaySubscriber(Protocol[T]):
    """What a repository's flusher tells a listener: through its overlay, then a nudge to
    show the entry again."""

    @property
    def overlay(self) -> Overlay[T]: ...

    async def local_changed(self, key: str) -> None: ...
