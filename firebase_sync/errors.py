"""Every error the kit raises, and the one place foreign exceptions become ours.

::

    FirebaseSyncError                      root; ``retryable`` says whether trying again may help
    ├── TransportError                     the request may not have reached the service
    │   ├── ConnectError        retryable  could not connect: the request was never sent
    │   ├── ConnectionLost      retryable  the connection dropped: the request may have applied
    │   ├── TransportTimeout    retryable  no reply in time (the request may have been applied)
    │   └── ProtocolError                  the peer broke the wire protocol
    ├── ServiceError                       the service answered with a canonical status (``code``)
    │   ├── InvalidArgument
    │   ├── NotFound
    │   ├── AlreadyExists
    │   ├── FailedPrecondition
    │   ├── Aborted                        retried by transactions, never blindly
    │   ├── PermissionDenied
    │   ├── Unauthenticated
    │   ├── ResourceExhausted   retryable
    │   ├── Unavailable         retryable
    │   ├── DeadlineExceeded    retryable
    │   ├── Cancelled
    │   ├── Internal
    │   ├── Unimplemented
    │   └── Unknown
    ├── ValidationFailed                   a document does not fit its model (``path``, ``field``)
    ├── InternalError                      a bug (ours, or a callback's): never retried, never
    │                                      taken for an outage, raised to the consumer at once
    ├── StreamClosed                       reading from or writing to a closed stream
    ├── SubscriptionOverflow               a store subscriber fell too far behind
    └── WaitTimeout                        ``Store.wait_for`` gave up (also a ``TimeoutError``)

Foreign errors are translated where they are met: each adapter has one translator for its
wire (:mod:`firebase_sync.adapters._firestore_errors` for gRPC / google-api-core,
:func:`firebase_sync.adapters._rtdb_http.translate` for aiohttp) and translates only the
errors it knows, ``raise mapped from exc`` so the original stays the ``__cause__``. Anything
else is a bug: :func:`map_exception` makes it an :class:`InternalError`. This module imports
no wire library (the layering test checks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

__all__ = [
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
    "map_exception",
    "service_error",
]


class FirebaseSyncError(Exception):
    """Root of every error the kit raises."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str = "", *, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: database path of the document or node concerned, when known
        self.path = path

    def __str__(self) -> str:
        return f"{self.message} (at {self.path})" if self.path else self.message


class TransportError(FirebaseSyncError):
    """The request failed below the service: connection, timeout or wire protocol."""


class ConnectError(TransportError):
    """Could not connect; the request was never sent (so even a push may be re-sent)."""

    retryable = True


class ConnectionLost(TransportError):
    """The connection dropped mid-request; the request may or may not have been applied."""

    retryable = True


class TransportTimeout(TransportError):
    """No reply in time; the request may or may not have been applied."""

    retryable = True


class ProtocolError(TransportError):
    """The peer sent something the protocol does not allow."""


class ServiceError(FirebaseSyncError):
    """The service refused the request with a canonical status code."""

    code: ClassVar[str] = "UNKNOWN"


class InvalidArgument(ServiceError):
    """The request was malformed or a value is not allowed."""

    code = "INVALID_ARGUMENT"


class NotFound(ServiceError):
    """The document or node does not exist."""

    code = "NOT_FOUND"


class AlreadyExists(ServiceError):
    """A create found the key already taken."""

    code = "ALREADY_EXISTS"


class FailedPrecondition(ServiceError):
    """A precondition (exists, update time, ETag) did not hold."""

    code = "FAILED_PRECONDITION"


class Aborted(ServiceError):
    """A transaction conflicted; the whole transaction (not the call) may be re-run."""

    code = "ABORTED"


class PermissionDenied(ServiceError):
    """Security rules refused the request."""

    code = "PERMISSION_DENIED"


class Unauthenticated(ServiceError):
    """The credentials are missing, invalid or revoked."""

    code = "UNAUTHENTICATED"


class ResourceExhausted(ServiceError):
    """A quota or rate limit was hit; retry later."""

    code = "RESOURCE_EXHAUSTED"
    retryable = True


class Unavailable(ServiceError):
    """The service is unavailable for now; retry later."""

    code = "UNAVAILABLE"
    retryable = True


class DeadlineExceeded(ServiceError):
    """The service did not answer within its deadline; retry later."""

    code = "DEADLINE_EXCEEDED"
    retryable = True


class Cancelled(ServiceError):
    """The request or stream was cancelled."""

    code = "CANCELLED"


class Internal(ServiceError):
    """The service failed internally."""

    code = "INTERNAL"


class Unimplemented(ServiceError):
    """The service does not support this request."""

    code = "UNIMPLEMENTED"


class Unknown(ServiceError):
    """An error with no more specific meaning."""

    code = "UNKNOWN"


class ValidationFailed(FirebaseSyncError):
    """Stored data does not fit the model, or a model cannot be stored.

    ``path`` names the document or node, ``field`` the first offending field (dotted),
    ``errors`` every problem found as ``(field, message)`` pairs.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None,
        field: str | None = None,
        errors: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message, path=path)
        self.field = field
        self.errors = tuple(errors) or ((field or "", message),)

    def __str__(self) -> str:
        where = f"{self.path}" if self.path else "<unsaved>"
        if self.field:
            where += f" field {self.field!r}"
        return f"{where}: {self.message}"


class InternalError(FirebaseSyncError):
    """A bug: an exception no translator knows (a ``KeyError`` in our code or a callback).

    Neither a service error nor retryable: retrying a bug only hides it, so listeners and the
    offline flusher raise it to the consumer at once. The original is the ``__cause__``.
    """


class StreamClosed(FirebaseSyncError):
    """The stream or subscription was closed."""


class SubscriptionOverflow(FirebaseSyncError):
    """A store subscriber did not keep up; its buffer filled and it was ended."""


class WaitTimeout(FirebaseSyncError, TimeoutError):
    """``Store.wait_for`` timed out before the predicate held."""


_BY_CODE: dict[str, type[ServiceError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        FailedPrecondition,
        Aborted,
        PermissionDenied,
        Unauthenticated,
        ResourceExhausted,
        Unavailable,
        DeadlineExceeded,
        Cancelled,
        Internal,
        Unimplemented,
        Unknown,
    )
}
# Codes with no class of their own, folded into the nearest one.
_BY_CODE["OUT_OF_RANGE"] = InvalidArgument
_BY_CODE["CONFLICT"] = Aborted
_BY_CODE["DATA_LOSS"] = Internal

_BY_HTTP_STATUS: dict[int, type[ServiceError]] = {
    400: InvalidArgument,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Aborted,
    412: FailedPrecondition,
    429: ResourceExhausted,
    499: Cancelled,
    501: Unimplemented,
    503: Unavailable,
    504: DeadlineExceeded,
}


def service_error(code: str, message: str, *, path: str | None = None) -> ServiceError:
    """Build the error for a canonical status name (``"NOT_FOUND"``...)."""
    return _BY_CODE.get(code.upper(), Unknown)(message, path=path)


def http_error(status: int, message: str, *, path: str | None = None) -> ServiceError:
    """Build the error for an HTTP status (RTDB REST).

    Every 5xx but 501 counts as :class:`Unavailable` (transient): over HTTP a 500 says no
    more than "try again", unlike gRPC's INTERNAL.
    """
    cls = _BY_HTTP_STATUS.get(status)
    if status == 401 and message.strip().lower() == "permission denied":
        cls = PermissionDenied  # the Realtime Database answers a rules refusal with a 401
    if cls is None:
        cls = Unavailable if status >= 500 else Unknown
    return cls(message or f"HTTP {status}", path=path)


def map_exception(exc: BaseException, *, path: str | None = None) -> FirebaseSyncError:
    """Our error for ``exc`` when no wire translator claimed it.

    Our own errors pass through unchanged (``path`` filled in if missing). Anything else is a
    bug and becomes :class:`InternalError` with ``exc`` as its cause. Wire errors must be
    translated by the adapter that meets them before they get here.
    """
    if isinstance(exc, FirebaseSyncError):
        if exc.path is None:
            exc.path = path
        return exc
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    error = InternalError(message, path=path)
    error.__cause__ = exc
    return error
