"""``OfflineRepository``: writes that survive a missing backend and a crashed worker.

Every write first goes into the cache's durable queue (fsync'd before anything is sent), is
shown at once by the repository's listeners flagged ``has_pending_writes``, and is sent by one
background flusher per repository, in queue order, with the replay policy's backoff while the
backend is unreachable (see :mod:`firebase_sync.offline.replay` for why a replay is applied
exactly once).

``queue="auto"`` (default): a write returns once the server applied it, or as soon as the
backend is found unreachable (the write stays queued; ``WriteResult.applied`` is false).
``queue="always"``: a write returns as soon as it is on disk.

What a failed replay does to its write depends only on why it failed:

* a *definitive refusal* (:data:`DEFINITIVE`: invalid argument, permission denied, a
  conflict under ``ConflictPolicy.FAIL``, an update of a missing document, a value the model
  refuses) marks the write failed, recording the error's code and message (``pending list``
  shows them) and telling ``on_failure``;
* anything else the service or the network says (timeouts, cuts, unavailable, revoked
  credentials...) keeps the write queued and retries it with the replay backoff;
* a bug (:class:`~firebase_sync.errors.InternalError`) keeps the write queued, stops the
  flusher and is raised to whoever waits on it (:meth:`OfflineRepository.flush`, a write
  waiting for its acknowledgement).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from .._log import logger, redact
from ..adapters.firestore import FirestoreRepository
from ..adapters.realtime import RealtimeRepository
from ..errors import (
    AlreadyExists,
    FailedPrecondition,
    FirebaseSyncError,
    InternalError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unimplemented,
    ValidationFailed,
    map_exception,
)
from ..models import Document
from ..retry import RetryPolicy
from ..store import Store
from ..stream import ChangeStream
from .cache import LocalCache, PendingWrite
from .errors import WriteConflict
from .listener import OfflineListener, ServerListener
from .ops import UNKNOWN, WriteOp, apply_op, decode_entry, encode_entry
from .overlay import OverlaySubscriber, PendingWrites
from .replay import (
    ConflictHandler,
    ConflictPolicy,
    FirestoreTarget,
    Outcome,
    RealtimeTarget,
    Target,
    replay,
)

__all__ = [
    "DEFINITIVE",
    "REPLAY",
    "OfflineRepository",
    "OfflineStatistics",
    "QueueMode",
    "WriteResult",
    "failure_reason",
]

T = TypeVar("T", bound=Document)
_log = logger(__name__)
QueueMode = Literal["auto", "always"]

#: Replays never give up on a transient failure: waits grow from 0.1 s to 5 s, then stay.
REPLAY = RetryPolicy(attempts=None, initial=0.1, maximum=5.0, deadline=None)

#: The errors after which a queued write is failed for good: the server (or the model)
#: refused it, and sending it again would be refused again. ``FailedPrecondition`` covers
#: :class:`~firebase_sync.offline.errors.WriteConflict`.
DEFINITIVE: tuple[type[FirebaseSyncError], ...] = (
    InvalidArgument,
    PermissionDenied,
    FailedPrecondition,
    NotFound,
    AlreadyExists,
    Unimplemented,
    ValidationFailed,
)


def failure_reason(error: FirebaseSyncError) -> str:
    """The text recorded with a failed write: which refusal, then its message."""
    code = getattr(error, "code", None)
    if isinstance(error, WriteConflict):
        code = "CONFLICT"
    elif isinstance(error, ValidationFailed):
        code = "VALIDATION"
    return f"{code}: {error}" if code else str(error)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """A write's id, and whether the server applied it before the call returned."""

    write_id: str
    applied: bool


@dataclass(frozen=True, slots=True)
class OfflineStatistics:
    """Queue and replay counters of one offline repository."""

    queue_depth: int
    #: seconds since the oldest pending write was queued (``None``: queue empty)
    oldest_pending_age: float | None
    failed: int
    applied: int
    #: replays that found their write already applied (a crash after the server's commit)
    already_applied: int
    dropped: int
    conflicts: int
    online: bool
    last_error: str | None


class OfflineRepository(Generic[T]):
    """A Firestore or RTDB repository with a local cache and a durable pending-write queue.

    ``conflict`` decides what happens when a queued write meets a server value its writer
    did not see; ``on_failure`` is called with each write that failed for good (it stays in
    the cache, marked failed, for ``firebase-sync pending``). ``timeout`` bounds each replay
    request (default: the repository's ``deadlines.replay``). Use ``async with`` (or
    :meth:`aclose`) to stop the flusher.
    """

    def __init__(
        self,
        repo: FirestoreRepository[T] | RealtimeRepository[T],
        cache: LocalCache,
        *,
        queue: QueueMode = "auto",
        conflict: ConflictHandler = ConflictPolicy.LAST_WRITER_WINS,
        replay_policy: RetryPolicy = REPLAY,
        timeout: float | None = None,
        poll: float = 2.0,
        on_failure: Callable[[PendingWrite, FirebaseSyncError], None] | None = None,
    ) -> None:
        self.repo = repo
        self.cache = cache
        self.model: type[T] = repo.model
        self.source = repo.source
        self.source_id = str(repo.source)
        self.queue = queue
        self.conflict = conflict
        self.replay_policy = replay_policy
        self.poll = poll
        self.on_failure = on_failure
        self._target: Target = (
            FirestoreTarget(repo, timeout=timeout)
            if isinstance(repo, FirestoreRepository)
            else RealtimeTarget(repo, timeout=timeout)
        )
        self._pending = PendingWrites(cache.pending(self.source_id))
        self._subscribers: list[OverlaySubscriber[T]] = []
        self._waiters: dict[str, asyncio.Future[bool]] = {}
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self.online = True
        self._applied = self._already = self._dropped = self._conflicts = 0
        self._last_error: str | None = None
        #: a bug met by the flusher: raised by flush() and to waiting writers
        self._bug: InternalError | None = None

    async def __aenter__(self) -> OfflineRepository[T]:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- writes ---------------------------------------------------------------------------------

    async def set(self, document: T, *, merge: bool = False) -> WriteResult:
        """Queue a write of ``document`` whole (or, with ``merge``, of its fields)."""
        if not document.id:
            raise ValidationFailed("a queued write needs a document id", path=self._path(""))
        if merge:
            fields = encode_entry(document, path=self._path(document.id))
            data = [[name, "value", value] for name, value in fields.items()]
            return await self._submit(WriteOp("update", document.id, data))
        return await self._submit(WriteOp.set(document, path=self._path(document.id)))

    async def update(self, key: str, fields: Mapping[str, Any]) -> WriteResult:
        """Queue a change of some fields (dotted paths; values may be :class:`Increment`)."""
        return await self._submit(WriteOp.update(key, fields, path=self._path(key)))

    async def delete(self, key: str) -> WriteResult:
        """Queue the removal of ``key``."""
        return await self._submit(WriteOp.delete(key))

    async def _submit(self, op: WriteOp) -> WriteResult:
        known, local = self._local_value(op.key)
        # Fails here, not at replay, when the write cannot fit the model.
        apply_op(self.model, None if local is UNKNOWN else local, op, path=self._path(op.key))
        base = None
        if known and local is not UNKNOWN:
            value = None if local is None else encode_entry(local, path=self._path(op.key))
            base = {"value": value}
        write = self.cache.enqueue(self.source_id, op.key, op.kind, op.data, base)
        self._pending.add(write)
        for subscriber in list(self._subscribers):
            await subscriber.local_changed(op.key)
        self.start()
        self._wakeup.set()
        if self.queue == "always" or not self.online:
            return WriteResult(write.write_id, False)
        waiter = asyncio.get_running_loop().create_future()
        self._waiters[write.write_id] = waiter
        try:
            return WriteResult(write.write_id, await waiter)
        finally:
            self._waiters.pop(write.write_id, None)

    def _local_value(self, key: str) -> tuple[bool, Any]:
        """Whether the local value of ``key`` is known, and that value (queued writes in)."""
        for subscriber in self._subscribers:
            if subscriber.overlay.known:
                return True, subscriber.overlay.desired(key)[0]
        if self.cache.resume_state(self.source_id) is None:
            return False, None
        text = self.cache.entry(self.source_id, key)
        value: Any = None
        if text is not None:
            value = decode_entry(self.model, key, text, path=self._path(key))
        for write in self._pending.of(key):
            op = WriteOp(write.op, write.key, write.data)  # type: ignore[arg-type]
            value = apply_op(self.model, None if value is UNKNOWN else value, op)
        return True, value

    def _path(self, key: str) -> str:
        if isinstance(self.repo, FirestoreRepository):
            return self.repo.path_of(key) if key else self.repo.collection
        return f"{self.repo.path.rstrip('/')}/{key}" if key else self.repo.path

    # -- listening ------------------------------------------------------------------------------

    @property
    def pending(self) -> PendingWrites:
        """The writes of this source not settled yet (read them; the repository changes them)."""
        return self._pending

    def server_listener(self) -> ServerListener[T]:
        """A listener of the wrapped repository (the server side of :meth:`listener`)."""
        return self.repo.listener()

    def subscribe(self, subscriber: OverlaySubscriber[T]) -> None:
        """Report queued and settled writes to ``subscriber`` (an offline listener)."""
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: OverlaySubscriber[T]) -> None:
        """Stop sending pending-write changes to ``subscriber`` (idempotent)."""
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    def listener(self, store: Store[T] | None = None) -> OfflineListener[T]:
        """A listener of the whole source, served from the cache first; pass the ``store``
        the stream feeds so that flag-only changes reach it."""
        return OfflineListener(self, store)

    def watch(
        self, *, store: Store[T] | None = None, buffer: int = 1024, markers: bool = True
    ) -> ChangeStream[T]:
        """Listen to the source through the cache: ``async with offline.watch(store=s)``."""
        return ChangeStream(self.listener(store), store=store, buffer=buffer, markers=markers)

    # -- the flusher ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background flusher (idempotent; needs a running loop)."""
        if self._flusher is None or self._flusher.done():
            self._bug = None
            self._flusher = asyncio.get_running_loop().create_task(
                self._flush_forever(), name=f"firebase-sync flusher {self.source_id}"
            )

    async def flush(self, timeout: float | None = 30.0) -> None:  # noqa: ASYNC109
        """Wait until no write of this source is pending (failed writes do not count).

        Raises the :class:`~firebase_sync.errors.InternalError` that stopped the flusher, if
        a bug did; ``TimeoutError`` after ``timeout`` seconds.
        """
        self.start()
        async with asyncio.timeout(timeout):
            while self.cache.next_pending(self.source_id) is not None:
                if self._bug is not None:
                    raise self._bug
                self._idle.clear()
                self._wakeup.set()
                await self._idle.wait()

    async def aclose(self) -> None:
        """Stop the flusher; queued writes stay in the cache for the next start."""
        if self._flusher is not None:
            self._flusher.cancel()
            # A bug that stopped the flusher was raised to flush() and the waiters already.
            with contextlib.suppress(asyncio.CancelledError, InternalError):
                await self._flusher
            self._flusher = None
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_result(False)

    async def _flush_forever(self) -> None:
        backoff = self.replay_policy.backoff()
        while True:
            write = self.cache.next_pending(self.source_id)
            if write is None:
                self._idle.set()
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll):
                        await self._wakeup.wait()
                continue
            try:
                replayed = await replay(
                    write,
                    self._target,
                    self.model,
                    self.conflict,
                    path=self._path(write.key),
                    before_write=functools.partial(self._writing, write),
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 -- classified: retried, failed or raised
                error = map_exception(exc, path=self._path(write.key))
                self._last_error = str(error)
                if isinstance(error, InternalError):
                    self._stopped_by_bug(error)
                    raise error from exc
                if not isinstance(error, DEFINITIVE):
                    # WARNING when the backend goes away; each later retry only at INFO.
                    _log.log(
                        logging.WARNING if self.online else logging.INFO,
                        "%s: replay of write %s failed, retrying: %s",
                        self.source,
                        write.write_id,
                        redact(error),
                    )
                    self._went_offline()
                    self.cache.record_attempt(write.write_id, failure_reason(error))
                    await backoff.wait()
                    continue
                _log.error(
                    "%s: write %s failed for good: %s", self.source, write.write_id, redact(error)
                )
                self.cache.fail(write.write_id, failure_reason(error))
                if isinstance(error, WriteConflict):
                    self._conflicts += 1
                await self._settled(write, error)
                if self.on_failure is not None:
                    self.on_failure(write, error)
                continue
            backoff.reset()
            self.online = True
            self.cache.complete(write.write_id)
            outcome = replayed.outcome
            if outcome is Outcome.APPLIED:
                self._applied += 1
            elif outcome is Outcome.ALREADY_APPLIED:
                self._already += 1
            else:
                self._dropped += 1
            await self._settled(write, outcome, replayed.value)

    def _writing(self, write: PendingWrite, value: Any) -> None:
        for subscriber in list(self._subscribers):
            subscriber.overlay.writing(write, value)

    def _stopped_by_bug(self, error: InternalError) -> None:
        self._bug = error
        self._idle.set()  # wakes flush(), which raises it
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_exception(error)

    def _went_offline(self) -> None:
        self.online = False
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_result(False)

    async def _settled(
        self, write: PendingWrite, result: Outcome | FirebaseSyncError, stored: Any = UNKNOWN
    ) -> None:
        self._pending.remove(write)
        waiter = self._waiters.get(write.write_id)
        if waiter is not None and not waiter.done():
            if isinstance(result, FirebaseSyncError):
                waiter.set_exception(result)
            else:
                waiter.set_result(result is not Outcome.DROPPED)
        applied = result in (Outcome.APPLIED, Outcome.ALREADY_APPLIED)
        for subscriber in list(self._subscribers):
            subscriber.overlay.settled(write, applied=applied, stored=stored)
            await subscriber.local_changed(write.key)

    def statistics(self) -> OfflineStatistics:
        """Pending-write queue figures and replay counters, as a snapshot."""
        queue = self.cache.queue_statistics(self.source_id)
        return OfflineStatistics(
            queue_depth=queue.depth,
            oldest_pending_age=queue.oldest_age,
            failed=queue.failed,
            applied=self._applied,
            already_applied=self._already,
            dropped=self._dropped,
            conflicts=self._conflicts,
            online=self.online,
            last_error=self._last_error,
        )
