"""Firebase data as live, typed, local state: typed repositories for Firestore and the
Realtime Database, one asyncio change stream over both, and an in-memory store it keeps current.

Every public name is importable from here; modules load on first use, so the CLI and the
emulators never pay for the Google client libraries they do not need.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from .adapters.firestore import (
        FirestoreBatch,
        FirestoreQuery,
        FirestoreRepository,
        FirestoreTransaction,
    )
    from .adapters.firestore_listen import (
        FirestoreListener,
    )
    from .adapters.realtime import (
        RealtimeQuery,
        RealtimeRepository,
    )
    from .adapters.realtime_listen import (
        RealtimeListener,
    )
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
        InternalError,
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
    from .models import (
        Document,
        GeoPoint,
        Reference,
    )
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
    from .query import (
        AllOf,
        AnyOf,
        Where,
        all_of,
        any_of,
        where,
    )
    from .retry import (
        Deadlines,
        RetryPolicy,
    )
    from .store import (
        Entry,
        Store,
        StoreStatistics,
        Subscription,
    )
    from .stream import (
        ChangeStream,
        Listener,
        Sink,
        SourceState,
        SourceStatistics,
        StreamStatistics,
    )

#: public name -> the module that defines it
_EXPORTS = {
    "Aborted": ".errors",
    "AllOf": ".query",
    "AlreadyExists": ".errors",
    "AnyOf": ".query",
    "Batch": ".change",
    "CacheCorrupted": ".offline",
    "CacheError": ".offline",
    "CacheVersionMismatch": ".offline",
    "Change": ".change",
    "ChangeKind": ".change",
    "ChangeMetadata": ".change",
    "ChangeStream": ".stream",
    "Conflict": ".offline",
    "ConflictPolicy": ".offline",
    "ConnectError": ".errors",
    "ConnectionLost": ".errors",
    "Document": ".models",
    "Entry": ".store",
    "Event": ".change",
    "FailedPrecondition": ".errors",
    "FirebaseSyncError": ".errors",
    "FirestoreBatch": ".adapters.firestore",
    "FirestoreListener": ".adapters.firestore_listen",
    "FirestoreQuery": ".adapters.firestore",
    "FirestoreRepository": ".adapters.firestore",
    "FirestoreTransaction": ".adapters.firestore",
    "ForeignCacheFile": ".offline",
    "GeoPoint": ".models",
    "Increment": ".offline",
    "InvalidArgument": ".errors",
    "InvalidDocument": ".change",
    "Listener": ".stream",
    "LocalCache": ".offline",
    "NotFound": ".errors",
    "OfflineListener": ".offline",
    "OfflineRepository": ".offline",
    "OfflineStatistics": ".offline",
    "PendingWrite": ".offline",
    "PermissionDenied": ".errors",
    "ProtocolError": ".errors",
    "RealtimeListener": ".adapters.realtime_listen",
    "RealtimeQuery": ".adapters.realtime",
    "RealtimeRepository": ".adapters.realtime",
    "Reconnecting": ".change",
    "Reference": ".models",
    "Resolution": ".offline",
    "ResourceExhausted": ".errors",
    "RetryPolicy": ".retry",
    "Deadlines": ".retry",
    "InternalError": ".errors",
    "ServiceError": ".errors",
    "Sink": ".stream",
    "Source": ".change",
    "SourceState": ".stream",
    "SourceStatistics": ".stream",
    "Store": ".store",
    "StoreStatistics": ".store",
    "StreamClosed": ".errors",
    "StreamStatistics": ".stream",
    "Subscription": ".store",
    "SubscriptionOverflow": ".errors",
    "Synced": ".change",
    "TransportError": ".errors",
    "TransportTimeout": ".errors",
    "Unauthenticated": ".errors",
    "Unavailable": ".errors",
    "ValidationFailed": ".errors",
    "WaitTimeout": ".errors",
    "Where": ".query",
    "WriteConflict": ".offline",
    "WriteResult": ".offline",
    "all_of": ".query",
    "any_of": ".query",
    "where": ".query",
}

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
    "Deadlines",
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
    "InternalError",
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


def __getattr__(name: str) -> _typing.Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
