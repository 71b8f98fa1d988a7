"""What a change stream carries: changes, per-source sync markers, reconnect notices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, Literal, TypeAlias, TypeVar

from .errors import FirebaseSyncError, ValidationFailed

__all__ = [
    "Batch",
    "Change",
    "ChangeKind",
    "ChangeMetadata",
    "Event",
    "InvalidDocument",
    "Reconnecting",
    "Source",
    "Synced",
]

T = TypeVar("T")
Database = Literal["firestore", "rtdb"]


class ChangeKind(StrEnum):
    """What happened to an entry."""

    ADDED = "added"
    MODIFIED = "modified"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class Source:
    """Where changes come from: a database and a path (collection, group or RTDB path).

    ``query`` distinguishes several listeners on the same path (its description, or "").
    """

    database: Database
    path: str
    query: str = ""

    def __str__(self) -> str:
        text = f"{self.database}:{self.path}"
        return f"{text}?{self.query}" if self.query else text


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class ChangeMetadata:
    """When and how a change was seen.

    ``read_time`` is the server's time for the consistent state the change belongs to
    (Firestore's snapshot read time; ``None`` for RTDB, which streams no server time).
    ``received_at`` is the local time the state arrived. ``from_cache`` is true for states
    replayed from a local cache rather than the server. ``resumed`` is true for changes found
    while catching up after a reconnect (or an RTDB full re-send). ``has_pending_writes`` is
    true while the value includes local writes the server has not acknowledged yet.
    """

    read_time: dt.datetime | None = None
    received_at: dt.datetime = field(default_factory=_now)
    from_cache: bool = False
    resumed: bool = False
    has_pending_writes: bool = False


@dataclass(frozen=True, slots=True)
class Change(Generic[T]):
    """One entry added, modified or removed: ``before`` and ``after`` as typed values."""

    source: Source
    key: str
    kind: ChangeKind
    before: T | None
    after: T | None
    metadata: ChangeMetadata

    @property
    def value(self) -> T:
        """``after``, or ``before`` for a removal."""
        value = self.after if self.after is not None else self.before
        assert value is not None, "a change always has a before or an after"
        return value


@dataclass(frozen=True, slots=True)
class Synced:
    """A source reached a consistent state: after its initial sync and after every reconnect.

    Everything the source had to deliver up to that state was delivered before this marker.
    """

    source: Source
    resumed: bool
    entries: int
    metadata: ChangeMetadata


@dataclass(frozen=True, slots=True)
class Reconnecting:
    """A source lost its connection and will try again after ``delay`` seconds."""

    source: Source
    attempt: int
    delay: float
    error: FirebaseSyncError


@dataclass(frozen=True, slots=True)
class InvalidDocument:
    """A document or child arrived that does not fit the model; the stream goes on.

    ``path`` names it in its database and ``error`` says which fields failed. The store keeps
    the last valid value it held for ``key`` (if any) until a valid version or a removal
    arrives, so a reader can tell stale from missing; see :attr:`stale`.
    """

    source: Source
    key: str
    path: str
    error: ValidationFailed
    metadata: ChangeMetadata
    #: true when the store (and the listener's view) still hold an older, valid value
    stale: bool = False


Event: TypeAlias = "Change[Any] | Synced | Reconnecting | InvalidDocument"


@dataclass(frozen=True, slots=True)
class Batch(Generic[T]):
    """The changes of one consistent snapshot from one source, to be applied atomically.

    ``synced`` is set when the batch completes an initial sync or a resync; ``invalid``
    reports the documents of the snapshot that failed validation (not in ``changes``).
    """

    source: Source
    changes: tuple[Change[T], ...]
    synced: Synced | None = None
    invalid: tuple[InvalidDocument, ...] = ()
