"""The error tree and the translators of foreign exceptions at each wire (one per adapter)."""

from __future__ import annotations

import aiohttp
import grpc
import pytest
from google.api_core import exceptions as gexc

from firebase_sync import errors
from firebase_sync.adapters import _firestore_errors as firestore_wire
from firebase_sync.adapters import _rtdb_http as rtdb_wire


def aio_rpc_error(code: grpc.StatusCode, details: str = "boom") -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


@pytest.mark.parametrize(
    ("code", "expected", "retryable"),
    [
        (grpc.StatusCode.UNAVAILABLE, errors.Unavailable, True),
        (grpc.StatusCode.INTERNAL, errors.Internal, False),
        (grpc.StatusCode.DEADLINE_EXCEEDED, errors.DeadlineExceeded, True),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, errors.ResourceExhausted, True),
        (grpc.StatusCode.NOT_FOUND, errors.NotFound, False),
        (grpc.StatusCode.ALREADY_EXISTS, errors.AlreadyExists, False),
        (grpc.StatusCode.ABORTED, errors.Aborted, False),
        (grpc.StatusCode.FAILED_PRECONDITION, errors.FailedPrecondition, False),
        (grpc.StatusCode.PERMISSION_DENIED, errors.PermissionDenied, False),
        (grpc.StatusCode.INVALID_ARGUMENT, errors.InvalidArgument, False),
        (grpc.StatusCode.CANCELLED, errors.Cancelled, False),
    ],
)
def test_grpc_status_maps_to_one_class_per_code(
    code: grpc.StatusCode, expected: type[errors.ServiceError], retryable: bool
) -> None:
    mapped = firestore_wire.translate(aio_rpc_error(code, "details here"), path="products/p1")
    assert type(mapped) is expected
    assert mapped.retryable is retryable
    assert mapped.code == code.name
    assert mapped.path == "products/p1"
    assert "details here" in str(mapped) and "products/p1" in str(mapped)


def test_grpc_transport_failures_are_told_apart_by_their_details() -> None:
    refused = aio_rpc_error(
        grpc.StatusCode.UNAVAILABLE,
        "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:9: "
        "Failed to connect to remote host: Connection refused",
    )
    cut = aio_rpc_error(grpc.StatusCode.UNAVAILABLE, "Socket closed")
    reset = aio_rpc_error(grpc.StatusCode.UNAVAILABLE, "recvmsg:Connection reset by peer")
    assert type(firestore_wire.translate(refused)) is errors.ConnectError
    assert type(firestore_wire.translate(cut)) is errors.ConnectionLost
    assert type(firestore_wire.translate(reset)) is errors.ConnectionLost
    assert all(firestore_wire.translate(e).retryable for e in (refused, cut, reset))


def test_api_core_exceptions_map_by_grpc_code_then_http_code() -> None:
    translate = firestore_wire.translate
    assert isinstance(translate(gexc.NotFound("x")), errors.NotFound)
    assert isinstance(translate(gexc.AlreadyExists("x")), errors.AlreadyExists)
    assert isinstance(translate(gexc.ServiceUnavailable("x")), errors.Unavailable)
    assert isinstance(translate(gexc.TooManyRequests("x")), errors.ResourceExhausted)
    assert isinstance(translate(gexc.Conflict("x")), errors.Aborted)
    assert isinstance(translate(gexc.RetryError("x", None)), errors.DeadlineExceeded)


def test_aiohttp_failures_map_to_transport_errors() -> None:
    translate = rtdb_wire.translate
    refused = aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None),
        ConnectionRefusedError(111, "refused"),
    )
    assert type(translate(refused)) is errors.ConnectError
    assert type(translate(ConnectionRefusedError())) is errors.ConnectError
    assert type(translate(aiohttp.ServerDisconnectedError())) is errors.ConnectionLost
    assert type(translate(TimeoutError())) is errors.TransportTimeout
    assert type(translate(aiohttp.ServerTimeoutError())) is errors.TransportTimeout
    # A connect timeout: the request never left, so even a push may be re-sent.
    assert type(translate(aiohttp.ConnectionTimeoutError())) is errors.ConnectError
    # A cut mid-reply: a truncated body or a reset is transient, not a protocol error.
    truncated = aiohttp.ClientPayloadError("Response payload is not completed")
    assert type(translate(truncated)) is errors.ConnectionLost
    assert type(translate(ConnectionResetError())) is errors.ConnectionLost
    assert translate(truncated).retryable


def test_http_statuses_for_rtdb_rest() -> None:
    assert type(errors.http_error(412, "etag")) is errors.FailedPrecondition
    assert type(errors.http_error(401, "denied")) is errors.Unauthenticated
    assert type(errors.http_error(429, "")) is errors.ResourceExhausted
    assert errors.http_error(502, "").retryable
    assert not errors.http_error(418, "").retryable


@pytest.mark.parametrize(
    "translate", [errors.map_exception, firestore_wire.translate, rtdb_wire.translate]
)
def test_our_errors_pass_through_and_unknown_ones_are_bugs(translate: object) -> None:
    mine = errors.NotFound("gone")
    assert translate(mine, path="a/b") is mine and mine.path == "a/b"  # type: ignore[operator]
    bug = KeyError("price")
    mapped = translate(bug, path="p/1")  # type: ignore[operator]
    assert type(mapped) is errors.InternalError
    assert mapped.__cause__ is bug and "KeyError" in str(mapped)
    assert not mapped.retryable and not isinstance(mapped, errors.ServiceError)


def test_tree_shape() -> None:
    assert issubclass(errors.ConnectError, errors.TransportError)
    assert issubclass(errors.Unavailable, errors.ServiceError)
    for cls in (errors.TransportError, errors.ServiceError, errors.ValidationFailed):
        assert issubclass(cls, errors.FirebaseSyncError)
    assert issubclass(errors.WaitTimeout, TimeoutError)
    # every class in __all__ is drawn in the module docstring
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        if name[0].isupper():
            assert name in doc, name


def test_validation_failed_names_document_and_field() -> None:
    error = errors.ValidationFailed("not a number", path="products/p1", field="price")
    assert error.errors == (("price", "not a number"),)
    assert str(error) == "products/p1 field 'price': not a number"
