"""Firebase data as live, typed, local state: typed repositories for Firestore and the
Realtime Database, one asyncio change stream over both, and an in-memory store it keeps current.

Every public name is importable from here; modules load on first use, so the CLI and the
emulators never pay for the Google client libraries they do not need.

The kit logs on the standard :mod:`logging` loggers under ``firebase_sync`` (one per module:
reconnects, give-ups, replay failures; never a token) and is silent until the application
configures logging.
"""

from __future__ import annotations

import importlib as _importlib
import logging as _logging
import typing as _typing

#: The one table of the public API: defining module -> the names it exports here.
#: ``__all__`` is derived from it; the ``TYPE_CHECKING`` imports below must match it (a test
#: compares them), so that type checkers see the same names.
_EXPORTS: dict[str, tuple[str, ...]] = {
    ".adapters.firestore": (
        "FirestoreBatch",
        "FirestoreQuery",
        "FirestoreRepository",
        "FirestoreTransaction",
    ),
    ".adapters.firestore_listen": ("FirestoreListener",),
    ".adapters.realtime": (
        "RealtimeQuery",
        "RealtimeRepository",
    ),
    ".adapters.realtime_listen": ("RealtimeListener",),
    ".change": (
        "Batch",
        "Change",
        "ChangeKind",
        "ChangeMetadata",
        "Event",
        "InvalidDocument",
        "Reconnecting",
        "Source",
        "Synced",
    ),
    ".errors": (
        "Aborted",
        "AlreadyExists",
        "Cancelled",
        "ConnectError",
        "ConnectionLost",
        "DeadlineExceeded",
        "FailedPrecondition",
        "FirebaseSyncError",
        "Internal",
        "InternalError",
        "InvalidArgument",
        "NotFound",
        "PermissionDenied",
        "ProtocolError",
        "ResourceExhausted",
        "ServiceError",
        "StreamClosed",
        "SubscriptionOverflow",
        "TransportError",
        "TransportTimeout",
        "Unauthenticated",
        "Unavailable",
        "Unimplemented",
        "Unknown",
        "ValidationFailed",
        "WaitTimeout",
    ),
    ".models": (
        "Document",
        "GeoPoint",
        "Increment",
        "Reference",
    ),
    ".offline": (
        "CacheCorrupted",
        "CacheError",
        "CacheVersionMismatch",
        "Conflict",
        "ConflictPolicy",
        "ForeignCacheFile",
        "LocalCache",
        "OfflineListener",
        "OfflineRepository",
        "OfflineStatistics",
        "PendingWrite",
        "Resolution",
        "WriteConflict",
        "WriteResult",
    ),
    ".query": (
        "AllOf",
        "AnyOf",
        "Where",
        "all_of",
        "any_of",
        "where",
    ),
    ".retry": ("Deadlines", "RetryPolicy"),
    ".store": (
        "Entry",
        "Store",
        "StoreStatistics",
        "Subscription",
    ),
    ".stream": (
        "ChangeStream",
        "Listener",
        "Sink",
        "SourceState",
        "SourceStatistics",
        "StreamStatistics",
    ),
}

_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)

_logging.getLogger(__name__).addHandler(_logging.NullHandler())

if _typing.TYPE_CHECKING:
    from .adapters.firestore import (  # noqa: I001 -- one "X as X" group per module
        FirestoreBatch as FirestoreBatch,
        FirestoreQuery as FirestoreQuery,
        FirestoreRepository as FirestoreRepository,
        FirestoreTransaction as FirestoreTransaction,
    )
    from .adapters.firestore_listen import (
        FirestoreListener as FirestoreListener,
    )
    from .adapters.realtime import (
        RealtimeQuery as RealtimeQuery,
        RealtimeRepository as RealtimeRepository,
    )
    from .adapters.realtime_listen import (
        RealtimeListener as RealtimeListener,
    )
    from .change import (
        Batch as Batch,
        Change as Change,
        ChangeKind as ChangeKind,
        ChangeMetadata as ChangeMetadata,
        Event as Event,
        InvalidDocument as InvalidDocument,
        Reconnecting as Reconnecting,
        Source as Source,
        Synced as Synced,
    )
    from .errors import (
        Aborted as Aborted,
        AlreadyExists as AlreadyExists,
        Cancelled as Cancelled,
        ConnectError as ConnectError,
        ConnectionLost as ConnectionLost,
        DeadlineExceeded as DeadlineExceeded,
        FailedPrecondition as FailedPrecondition,
        FirebaseSyncError as FirebaseSyncError,
        Internal as Internal,
        InternalError as InternalError,
        InvalidArgument as InvalidArgument,
        NotFound as NotFound,
        PermissionDenied as PermissionDenied,
        ProtocolError as ProtocolError,
        ResourceExhausted as ResourceExhausted,
        ServiceError as ServiceError,
        StreamClosed as StreamClosed,
        SubscriptionOverflow as SubscriptionOverflow,
        TransportError as TransportError,
        TransportTimeout as TransportTimeout,
        Unauthenticated as Unauthenticated,
        Unavailable as Unavailable,
        Unimplemented as Unimplemented,
        Unknown as Unknown,
        ValidationFailed as ValidationFailed,
        WaitTimeout as WaitTimeout,
    )
    from .models import (
        Document as Document,
        GeoPoint as GeoPoint,
        Increment as Increment,
        Reference as Reference,
    )
    from .offline import (
        CacheCorrupted as CacheCorrupted,
        CacheError as CacheError,
        CacheVersionMismatch as CacheVersionMismatch,
        Conflict as Conflict,
        ConflictPolicy as ConflictPolicy,
        ForeignCacheFile as ForeignCacheFile,
        LocalCache as LocalCache,
        OfflineListener as OfflineListener,
        OfflineRepository as OfflineRepository,
        OfflineStatistics as OfflineStatistics,
        PendingWrite as PendingWrite,
        Resolution as Resolution,
        WriteConflict as WriteConflict,
        WriteResult as WriteResult,
    )
    from .query import (
        AllOf as AllOf,
        AnyOf as AnyOf,
        Where as Where,
        all_of as all_of,
        any_of as any_of,
        where as where,
    )
    from .retry import (
        Deadlines as Deadlines,
        RetryPolicy as RetryPolicy,
    )
    from .store import (
        Entry as Entry,
        Store as Store,
        StoreStatistics as StoreStatistics,
        Subscription as Subscription,
    )
    from .stream import (
        ChangeStream as ChangeStream,
        Listener as Listener,
        Sink as Sink,
        SourceState as SourceState,
        SourceStatistics as SourceStatistics,
        StreamStatistics as StreamStatistics,
    )


def __getattr__(name: str) -> _typing.Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
