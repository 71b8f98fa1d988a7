"""The one translator for Firestore's wire: grpc and google-api-core errors become ours.

Only errors this wire produces are translated; anything else is a bug and comes out as
:class:`~firebase_sync.errors.InternalError` (see :func:`firebase_sync.errors.map_exception`).

gRPC reports every transport failure as ``UNAVAILABLE``; its details tell them apart. When
they say the channel could not connect, the request never left:
:class:`~firebase_sync.errors.ConnectError`, so even a ``create`` may be re-sent. When they
say the connection broke (reset, socket closed, stream removed) the reply may be lost:
:class:`~firebase_sync.errors.ConnectionLost`. Any other ``UNAVAILABLE`` is the service's own
:class:`~firebase_sync.errors.Unavailable`. All three are retryable.
"""

from __future__ import annotations

import grpc
from google.api_core import exceptions as gexc

from ..errors import (
    ConnectError,
    ConnectionLost,
    DeadlineExceeded,
    FirebaseSyncError,
    TransportTimeout,
    Unknown,
    http_error,
    map_exception,
    service_error,
)

__all__ = ["translate"]

# What grpc core writes in UNAVAILABLE details when no connection could be made...
_NOT_CONNECTED = ("failed to connect", "connection refused", "dns resolution failed")
# ... and when an established connection broke.
_BROKEN = (
    "socket closed",
    "connection reset",
    "broken pipe",
    "stream removed",
    "end of tcp stream",
    "goaway",
    "connection aborted",
)


def _unavailable(details: str, path: str | None) -> FirebaseSyncError:
    lowered = details.lower()
    if any(marker in lowered for marker in _NOT_CONNECTED):
        return ConnectError(details, path=path)
    if any(marker in lowered for marker in _BROKEN):
        return ConnectionLost(details, path=path)
    return service_error("UNAVAILABLE", details, path=path)


def _from_status(code: str, details: str, path: str | None) -> FirebaseSyncError:
    if code == "UNAVAILABLE":
        return _unavailable(details, path)
    return service_error(code, details, path=path)


def translate(exc: BaseException, *, path: str | None = None) -> FirebaseSyncError:
    """Our error for an exception met on the Firestore wire (unknown ones: InternalError)."""
    if isinstance(exc, FirebaseSyncError):
        return map_exception(exc, path=path)
    message = str(exc) or type(exc).__name__
    if isinstance(exc, grpc.aio.AioRpcError):
        return _from_status(exc.code().name, exc.details() or message, path)
    if isinstance(exc, grpc.RpcError) and callable(getattr(exc, "code", None)):
        return _from_status(exc.code().name, message, path)
    if isinstance(exc, gexc.GoogleAPICallError):
        if exc.grpc_status_code is not None:
            return _from_status(exc.grpc_status_code.name, exc.message or message, path)
        if exc.code is not None:
            return http_error(int(exc.code), exc.message or message, path=path)
        return Unknown(message, path=path)
    if isinstance(exc, gexc.RetryError):
        return DeadlineExceeded(message, path=path)
    if isinstance(exc, TimeoutError):
        return TransportTimeout(message, path=path)
    return map_exception(exc, path=path)
