"""Listening to Firestore natively on asyncio: the Listen RPC, no threads.

One bidirectional Listen call per listener, opened on the gRPC channel of the client's async
transport (so emulator routing and credentials are the client's own). Responses are read as
raw protobufs and fed to :class:`~firebase_sync._wire.firestore_listen.ListenMachine`; each
consistent snapshot becomes one :class:`~firebase_sync.change.Batch`.

When the stream fails with a resumable status, the listener reports it, waits (the one
reconnect driver, :func:`~firebase_sync.retry.keep_listening`: first retry at once, then
jittered backoff, reset once a sync succeeds) and reopens with the last resume token; the
machine turns the server's catch-up into only the real differences. A stream must answer
within ``deadlines.first_byte`` of being opened (a held backend is a retryable timeout);
while it waits, the call waits for the channel to reconnect (``wait_for_ready``), so it opens
as soon as the backend is back. After the first response a Listen stream may stay silent for
long (nothing changes), so silence is not a failure here: a connection that dies silently is
found by gRPC's keepalive pings (every 30 s on the client library's production channel).
Permanent errors, bugs (:class:`~firebase_sync.errors.InternalError`) and too many
consecutive failures are raised (and so reach the stream's consumer).

:meth:`FirestoreListener.resume_from` starts the listener from a state saved by an earlier
run (the offline cache): the first stream already carries a resume token, so the server sends
only what changed since that state, or ``RESET`` and everything when it cannot.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import grpc

from .._wire.documents import load_document
from .._wire.firestore_listen import (
    DEFAULT_TARGET_ID,
    DocumentDelta,
    ListenMachine,
    ListenResponsePb,
    listen_request,
)
from .._wire.firestore_values import decode_fields
from ..change import Batch, Change, ChangeKind, ChangeMetadata, InvalidDocument, Source
from ..errors import (
    Aborted,
    Cancelled,
    ConnectionLost,
    FirebaseSyncError,
    Internal,
    InvalidArgument,
    TransportTimeout,
    Unauthenticated,
    Unknown,
    ValidationFailed,
)
from ..models import Document
from ..retry import keep_listening
from . import _compat
from ._firestore_errors import translate

if TYPE_CHECKING:
    from ..retry import Backoff
    from ..stream import Sink
    from .firestore import FirestoreQuery, FirestoreRepository

__all__ = ["FirestoreListener"]

T = TypeVar("T", bound=Document)

_LISTEN_METHOD = "/google.firestore.v1.Firestore/Listen"
# Statuses after which the official client reopens a Listen stream (besides transient ones).
# CANCELLED included: a server going down ends its streams with it (our own cancellations
# never reach this check, they raise CancelledError).
_RESUMABLE = (Aborted, Cancelled, Internal, Unknown, Unauthenticated, ConnectionLost)


def is_resumable(error: FirebaseSyncError) -> bool:
    """True if a Listen stream that failed with ``error`` should be reopened."""
    return bool(error.retryable) or isinstance(error, _RESUMABLE)


class FirestoreListener(Generic[T]):
    """Listens to one query of a :class:`FirestoreRepository` for a change stream."""

    def __init__(self, repo: FirestoreRepository[T], query: FirestoreQuery[T]) -> None:
        if query.spec.limit_to_last is not None:
            raise InvalidArgument("limit_to_last queries cannot be listened to; use limit")
        self.repo = repo
        self.query = query
        self.source = Source("firestore", repo.source.path, query.description)
        self.machine = ListenMachine([DEFAULT_TARGET_ID])
        #: the decoded view, by key: the ``before`` of the next change
        self.view: dict[str, T] = {}
        self._root = f"{repo.database_name}/documents/"

    def resume_from(
        self, resume_token: bytes, read_time: dt.datetime | None, view: Mapping[str, T]
    ) -> None:
        """Start from a saved state: ``view`` (every document of the query, by key) as of
        ``resume_token``. Call before :meth:`run`; raises ``ValueError`` after it started.

        The saved state must be whole and exact: the server sends changes relative to it, so
        a document missing from ``view`` is not sent again until it changes.
        """
        names = [self._root + self.repo.path_of(key) for key in view]
        self.machine.resume_from(resume_token, read_time, names)
        self.view = dict(view)

    @property
    def resume_point(self) -> tuple[bytes | None, dt.datetime | None]:
        """The resume token and read time of the last consistent snapshot delivered."""
        return self.machine.resume_token, self.machine.read_time

    def _request(self, resume_token: bytes | None) -> Any:
        return listen_request(
            self.repo.database_name,
            self.repo.query_parent,
            _compat.structured_query(self.query.build()),
            target_id=DEFAULT_TARGET_ID,
            resume_token=resume_token,
        )

    def _open(self) -> grpc.aio.StreamStreamCall:
        client = self.repo.client
        method = _compat.grpc_channel(client).stream_stream(
            _LISTEN_METHOD,
            request_serializer=lambda request: request.SerializeToString(),
            response_deserializer=ListenResponsePb.FromString,
        )
        # wait_for_ready: while the channel reconnects, the call waits for it (within the
        # first-byte deadline) instead of failing at once, so it opens as soon as it can.
        call: grpc.aio.StreamStreamCall = method(
            metadata=_compat.rpc_metadata(client), wait_for_ready=True
        )
        return call

    async def run(self, sink: Sink[T]) -> None:
        """Listen until cancelled; raise when the failure is permanent or retries run out."""
        await keep_listening(
            lambda backoff: self._session(sink, backoff),
            policy=self.repo.reconnect,
            report=sink.reconnecting,
            resumable=is_resumable,
        )

    async def _session(self, sink: Sink[T], backoff: Backoff) -> FirebaseSyncError:
        """One Listen call, until it breaks; returns why it ended."""
        token = self.machine.begin_stream()
        request = self._request(token)
        call = self._open()
        delivering = False
        first_byte = self.repo.deadlines.first_byte
        answered = False
        try:
            # The request side stays open: half-closing it would end the listen.
            async with asyncio.timeout(first_byte):
                await call.write(request)
                sink.syncing()
            while True:
                if answered:
                    response = await call.read()
                else:
                    try:
                        async with asyncio.timeout(first_byte):
                            response = await call.read()
                    except TimeoutError:
                        return TransportTimeout(
                            f"no listen response within the {first_byte:g} s first-byte deadline",
                            path=self.source.path,
                        )
                    answered = True
                if response is grpc.aio.EOF:
                    return ConnectionLost(
                        "the server ended the listen stream", path=self.source.path
                    )
                for snapshot in self.machine.feed(response):
                    # The machine has already moved past this snapshot (and a resume would
                    # skip it): a failure to hand it on ends the listener, never a reconnect.
                    delivering = True
                    await sink.batch(self._batch(snapshot, sink))
                    delivering = False
                    if snapshot.synced:
                        backoff.reset()
                if self.machine.restart_required:
                    return ConnectionLost("existence filter mismatch: resyncing")
        except asyncio.CancelledError:
            raise
        except FirebaseSyncError as exc:
            if delivering or not is_resumable(exc):
                raise
            return exc
        except TimeoutError:
            return TransportTimeout(
                f"the listen stream did not open within {first_byte:g} s", path=self.source.path
            )
        except Exception as exc:  # noqa: BLE001 -- translated; a bug is raised at once
            if delivering:
                raise
            error = translate(exc, path=self.source.path)
            if not is_resumable(error):
                raise error from exc
            error.__cause__ = exc
            return error
        finally:
            call.cancel()
            # A traceback kept alive elsewhere would otherwise pin the call, and with it the
            # channel's connection, after the channel is closed.
            del call

    def _batch(self, snapshot: Any, sink: Sink[T]) -> Batch[T]:
        metadata = ChangeMetadata(read_time=snapshot.read_time, resumed=snapshot.resumed)
        changes: list[Change[T]] = []
        invalid: list[InvalidDocument] = []
        for delta in snapshot.changes:
            try:
                change = self._change(delta, metadata)
            except ValidationFailed as error:
                path = delta.name.removeprefix(self._root)
                key = self.repo.key_of(path)
                invalid.append(
                    InvalidDocument(self.source, key, path, error, metadata, key in self.view)
                )
                continue
            if change is not None:
                changes.append(change)
        synced = None
        if snapshot.synced:
            synced = sink.synced_marker(
                resumed=snapshot.resumed, entries=snapshot.size, metadata=metadata
            )
        return Batch(self.source, tuple(changes), synced, tuple(invalid))

    def _change(self, delta: DocumentDelta, metadata: ChangeMetadata) -> Change[T] | None:
        """The change for ``delta``; None for the removal of a document never valid."""
        path = delta.name.removeprefix(self._root)
        key = self.repo.key_of(path)
        before = self.view.get(key)
        after = None
        if delta.document is not None:
            data = decode_fields(delta.document.fields, database=self.repo.database_name, path=path)
            # Raises ValidationFailed before the view changes: it keeps the last valid value.
            after = load_document(self.repo.model, key, data, path=path)
            self.view[key] = after
        elif before is None:
            return None
        else:
            del self.view[key]
        kind = delta.kind
        if kind is ChangeKind.MODIFIED and before is None:
            kind = ChangeKind.ADDED
        return Change(self.source, key, kind, before, after, metadata)
