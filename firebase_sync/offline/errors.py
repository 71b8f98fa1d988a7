"""Errors of the offline layer, under the kit's root error::

    FirebaseSyncError
    ├── CacheError                   the local cache file cannot be used (``path``: the file)
    │   ├── CacheCorrupted           not a database, or damaged pages
    │   ├── ForeignCacheFile         a valid SQLite file that is not a firebase-sync cache
    │   └── CacheVersionMismatch     a cache of another schema version (``found``, ``expected``)
    └── ServiceError
        └── FailedPrecondition
            └── WriteConflict        a queued write met a server value it did not expect

None of them is retryable, and no cache file is ever deleted or rewritten to get past one:
moving the file away (or pointing the worker elsewhere) is the caller's decision.
"""

from __future__ import annotations

from typing import Any

from ..errors import FailedPrecondition, FirebaseSyncError

__all__ = [
    "CacheCorrupted",
    "CacheError",
    "CacheVersionMismatch",
    "ForeignCacheFile",
    "WriteConflict",
]


class CacheError(FirebaseSyncError):
    """The local cache file cannot be used as it is."""


class CacheCorrupted(CacheError):
    """The file is not a SQLite database, or SQLite found damage in it."""


class ForeignCacheFile(CacheError):
    """The file is a SQLite database, but not one firebase-sync wrote."""


class CacheVersionMismatch(CacheError):
    """The cache has another schema version than this release reads."""

    def __init__(self, message: str, *, path: str | None, found: int, expected: int) -> None:
        super().__init__(message, path=path)
        self.found = found
        self.expected = expected


class WriteConflict(FailedPrecondition):
    """The server value changed since a queued write was made (conflict policy ``fail``).

    ``write_id`` names the write; ``expected`` and ``found`` are the values compared.
    """

    def __init__(
        self, message: str, *, path: str | None, write_id: str, expected: Any, found: Any
    ) -> None:
        super().__init__(message, path=path)
        self.write_id = write_id
        self.expected = expected
        self.found = found
