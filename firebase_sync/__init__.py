"""Firebase data as live, typed, local state: typed repositories for Firestore and the
Realtime Database, one asyncio change stream over both, and an in-memory store it keeps current.
"""

from .adapters.firestore import (
    FirestoreBatch,
    FirestoreQuery,
    FirestoreRepository,
    FirestoreTransaction,
)
from .adapters.firestore_listen import FirestoreListener
from .adapters.realtime import RealtimeQuery, RealtimeRepository
from .adapters.realtime_listen import RealtimeListener
from .change import Batch, Change, ChangeKind, ChangeMetadata, Event, Reconnecting, Source, Synced
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

__all__ = [
    "Aborted",
    "AllOf",
    "AlreadyExists",
    "AnyOf",
    "Batch",
    "Change",
    "ChangeKind",
    "ChangeMetadata",
    "ChangeStream",
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
    "GeoPoint",
    "InvalidArgument",
    "Listener",
    "NotFound",
    "PermissionDenied",
    "ProtocolError",
    "RealtimeListener",
    "RealtimeQuery",
    "RealtimeRepository",
    "Reconnecting",
    "Reference",
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
    "all_of",
    "any_of",
    "where",
]
