"""Offline support: a durable local cache and a durable, exactly-once pending-write queue.

::

    with LocalCache("worker.db") as cache:
        async with OfflineRepository(FirestoreRepository(Product, "products"), cache) as products:
            store = Store[Product]()
            async with products.watch(store=store):       # cached state at once, then live
                await products.update("p1", {"stock": Increment(-1)})   # queued, shown at once

**Cache** (:class:`LocalCache`, one SQLite file in WAL mode): each source's last
server-confirmed entries and resume state, and the pending-write queue. A listener started
without a backend serves the cached entries at once (``ChangeMetadata.from_cache``); when the
server answers, only real differences come out and the flag clears. The file carries an
application id and a schema version; a damaged, foreign or other-version file raises a
:class:`CacheError` and is never wiped.

**Pending writes** (:class:`OfflineRepository`): a write is committed to the queue with
``synchronous=FULL`` before the call returns, shown at once flagged
``ChangeMetadata.has_pending_writes``, and replayed in order by a background flusher with
backoff (:data:`REPLAY`, on tenacity) while the backend is unreachable.

**Exactly once.** Each write has an id. A replay reads the entry with its version, skips the
write if the entry's marker field (``_fsync_write``) already holds that id, and otherwise
writes the new value *and* the marker in one conditional server write (Firestore
``update_time`` or ``exists=False`` precondition; RTDB ``if-match`` ETag), re-reading when the
condition fails. A worker killed after the server committed a write but before the queue
forgot it finds the marker on restart and does not apply the write again; a request of the
dead worker still in flight makes the condition fail instead of applying twice. Details in
:mod:`firebase_sync.offline.replay`.

**Conflicts.** A queued write remembers the value its writer saw; if the server holds another
when it is replayed, :class:`ConflictPolicy` ``LAST_WRITER_WINS`` (default) applies it anyway,
``FAIL`` keeps it as failed and reports :class:`WriteConflict`, and a callback may return the
value to store or a :class:`Resolution`.

Limits: listeners cover a whole collection or path (no queries); an update only touches
fields of the model; models must ignore unknown fields (the ``Document`` default) because of
the marker field; writes of one repository are ordered, not writes across repositories.
"""

from .cache import LocalCache, PendingWrite, QueueStatistics, ResumeState
from .errors import (
    CacheCorrupted,
    CacheError,
    CacheVersionMismatch,
    ForeignCacheFile,
    WriteConflict,
)
from .listener import OfflineListener
from .ops import MARKER_FIELD, Increment
from .replay import Conflict, ConflictPolicy, Outcome, Resolution
from .repository import REPLAY, OfflineRepository, OfflineStatistics, QueueMode, WriteResult

__all__ = [
    "MARKER_FIELD",
    "REPLAY",
    "CacheCorrupted",
    "CacheError",
    "CacheVersionMismatch",
    "Conflict",
    "ConflictPolicy",
    "ForeignCacheFile",
    "Increment",
    "LocalCache",
    "OfflineListener",
    "OfflineRepository",
    "OfflineStatistics",
    "Outcome",
    "PendingWrite",
    "QueueMode",
    "QueueStatistics",
    "Resolution",
    "ResumeState",
    "WriteConflict",
    "WriteResult",
]
