"""The error tree and the mapping of foreign exceptions at the I/O boundary."""

from __future__ import annotations

import aiohttp
import grpc
import pytest
from firebase_admin import exceptions as fb
from google.api_core import exceptions as gexc

from firebase_sync import errors


def aio_rpc_error(code: grpc.StatusCode, details: str = "boom") -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


@pytest.mark.parametrize(
    ("code", "expected", "retryable"),
    [
        (grpc.StatusCode.UNAVAILABLE, errors.Unavailable, True),
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
    mapped = errors.map_exception(aio_rpc_error(code, "details here"), path="products/p1")
    assert type(mapped) is expected
    assert mapped.retryable is retryable
    assert mapped.code == code.name
    assert mapped.path == "products/p1"
    assert "details here" in str(mapped) and "products/p1" in str(mapped)


def test_api_core_exceptions_map_by_grpc_code_then_http_code() -> None:
    assert isinstance(errors.map_exception(gexc.NotFound("x")), errors.NotFound)
    assert isinstance(errors.map_exception(gexc.AlreadyExists("x")), errors.AlreadyExists)
    assert isinstance(errors.map_exception(gexc.ServiceUnavailable("x")), errors.Unavailable)
    assert isinstance(errors.map_exception(gexc.TooManyRequests("x")), errors.ResourceExhausted)
    assert isinstance(errors.map_exception(gexc.Conflict("x")), errors.Aborted)


def test_firebase_admin_errors_map_by_code_and_response() -> None:
    assert isinstance(
        errors.map_exception(fb.FailedPreconditionError("etag", None)), errors.FailedPrecondition
    )
    assert isinstance(errors.map_exception(fb.NotFoundError("x")), errors.NotFound)
    # No HTTP response: the SDK could not talk to the server at all.
    assert isinstance(errors.map_exception(fb.UnavailableError("x")), errors.ConnectionLost)
    assert isinstance(errors.map_exception(fb.DeadlineExceededError("x")), errors.TransportTimeout)


def test_transport_failures_map_to_transport_errors() -> None:
    refused = aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None),
        ConnectionRefusedError(111, "refused"),
    )
    assert type(errors.map_exception(refused)) is errors.ConnectError
    assert type(errors.map_exception(aiohttp.ServerDisconnectedError())) is errors.ConnectionLost
    assert type(errors.map_exception(TimeoutError())) is errors.TransportTimeout
    assert type(errors.map_exception(ConnectionRefusedError())) is errors.ConnectError
    assert isinstance(errors.map_exception(aiohttp.ClientPayloadError("x")), errors.ProtocolError)
    assert isinstance(errors.map_exception(ConnectionResetError()), errors.TransportError)


def test_http_statuses_for_rtdb_rest() -> None:
    assert type(errors.http_error(412, "etag")) is errors.FailedPrecondition
    assert type(errors.http_error(401, "denied")) is errors.Unauthenticated
    assert type(errors.http_error(429, "")) is errors.ResourceExhausted
    assert errors.http_error(502, "").retryable
    assert not errors.http_error(418, "").retryable


def test_our_errors_pass_through_and_unknown_ones_become_unknown() -> None:
    mine = errors.NotFound("gone")
    assert errors.map_exception(mine, path="a/b") is mine and mine.path == "a/b"
    assert type(errors.map_exception(ValueError("odd"))) is errors.Unknown


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
