"""The one error the emulators' state layers raise.

State code (trees, documents, queries) raises ``ServiceError`` with a canonical status code
name and a message; only the wire layers turn it into an HTTP status (RTDB) or a gRPC status
(Firestore). Nothing else about the wire leaks into state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Code(StrEnum):
    """Canonical status codes (google.rpc.Code names) used by both emulators."""

    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    ABORTED = "ABORTED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    UNIMPLEMENTED = "UNIMPLEMENTED"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL = "INTERNAL"


@dataclass(eq=False)  # not frozen: raising sets __traceback__ and context managers touch it
class ServiceError(Exception):
    """A request the emulator refuses, as data: a canonical ``code`` and a ``message``."""

    code: Code
    message: str

    def __str__(self) -> str:
        return f"{self.code.value}: {self.message}"


def invalid(message: str) -> ServiceError:
    """Shorthand for the most common refusal."""
    return ServiceError(Code.INVALID_ARGUMENT, message)
