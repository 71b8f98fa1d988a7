"""Firebase data as live, typed, local state: typed repositories for Firestore and the
Realtime Database, one asyncio change stream over both, and an in-memory store it keeps current.
"""

import importlib as _importlib
import typing as _typing

from .change import (
    Batch,
    Change,
    ChangeKind,
    ChangeMetadata,
    Event,
    InvalidDocument,
    Reconnecting,
    Source,
    Synced,
)
from .errors import (
    Aborted,
    AlreadyExists,
    ConnectError,
    ConnectionLost,
    FailedPrecondition,
    FirebaseSyncError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ProtocolError,
    ResourceExhausted,
    ServiceError,
    StreamClosed,
    SubscriptionOverflow,
    TransportError,
    TransportTimeout,
    Unauthenticated,
    Unavailable,
    ValidationFailed,
    WaitTimeout,
)
from .models import Document, GeoPoint, Reference
from .offline import (
    CacheCorrupted,
    CacheError,
    CacheVersionMismatch,
    Conflict,
    ConflictPolicy,
    ForeignCacheFile,
    Increment,
    LocalCache,
    OfflineListener,
    OfflineRepository,
    OfflineStatistics,
    PendingWrite,
    Resolution,
    WriteConflict,
    WriteResult,
)
from .query import AllOf, AnyOf, Where, all_of, any_of, where
from .retry import RetryPolicy
from .store import Entry, Store, StoreStatistics, Subscription
from .stream import (
    ChangeStream,
    Listener,
    Sink,
    SourceState,
    SourceStatistics,
    StreamStatistics,
)

if _typing.TYPE_CHECKING:
    from .adapters.firestore import (
        FirestoreBatch,
        FirestoreQuery,
        FirestoreRepository,
        FirestoreTransaction,
    )
    from .adapters.firestore_listen import FirestoreListener
    from .adapters.realtime import RealtimeQuery, RealtimeRepository
    from .adapters.realtime_listen import RealtimeListener

# The adapters pull in the Google client libraries (seconds to import); load them on first use
# so that the CLI, the emulators and pure users of the store start fast.
_LAZY = {
    "FirestoreBatch": ".adapters.firestore",
    "FirestoreQuery": ".adapters.firestore",
    "FirestoreRepository": ".adapters.firestore",
    "FirestoreTransaction": ".adapters.firestore",
    "FirestoreListener": ".adapters.firestore_listen",
    "RealtimeQuery": ".adapters.realtime",
    "RealtimeRepository": ".adapters.realtime",
    "RealtimeListener": ".adapters.realtime_listen",
}


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value

__all__ = [
    "Aborted",
    "AllOf",
    "AlreadyExists",
    "AnyOf",
    "Batch",
    "CacheCorrupted",
    "CacheError",
    "CacheVersionMismatch",
    "Change",
    "ChangeKind",
    "ChangeMetadata",
    "ChangeStream",
    "Conflict",
    "ConflictPolicy",
    "ConnectError",
    "ConnectionLost",
    "Document",
    "Entry",
    "Event",
    "FailedPrecondition",
    "FirebaseSyncError",
    "FirestoreBatch",
    "FirestoreListener",
    "FirestoreQuery",
    "FirestoreRepository",
    "FirestoreTransaction",
    "ForeignCacheFile",
    "GeoPoint",
    "Increment",
    "InvalidArgument",
    "InvalidDocument",
    "Listener",
    "LocalCache",
    "NotFound",
    "OfflineListener",
    "OfflineRepository",
    "OfflineStatistics",
    "PendingWrite",
    "PermissionDenied",
    "ProtocolError",
    "RealtimeListener",
    "RealtimeQuery",
    "RealtimeRepository",
    "Reconnecting",
    "Reference",
    "Resolution",
    "ResourceExhausted",
    "RetryPolicy",
    "ServiceError",
    "Sink",
    "Source",
    "SourceState",
    "SourceStatistics",
    "Store",
    "StoreStatistics",
    "StreamClosed",
    "StreamStatistics",
    "Subscription",
    "SubscriptionOverflow",
    "Synced",
    "TransportError",
    "TransportTimeout",
    "Unauthenticated",
    "Unavailable",
    "ValidationFailed",
    "WaitTimeout",
    "Where",
    "WriteConflict",
    "WriteResult",
    "all_of",
    "any_of",
    "where",
]
