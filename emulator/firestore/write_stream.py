"""The ``Write`` streaming RPC, which the web and mobile SDKs write through.

The stream (facts checked against the official emulator):

1. The first request names the ``database`` and carries no ``writes`` and no ``stream_id``
   (resuming is not supported). The answer holds a new ``stream_id`` and a ``stream_token``.
2. Each later request carries ``writes`` and the last token; its writes are one atomic batch
   committed through the same path as ``Commit`` (so listeners see it). The answer holds a new
   token, one ``write_results`` entry per write and the ``commit_time``. The token is only an
   acknowledgement: a stale or absent one is accepted.
3. A request without writes is how a client says it is done: it is answered with a token and
   the stream ends with OK.

A refused batch ends the stream with that error's status; nothing of the batch is applied.
"""

from __future__ import annotations

import inspect
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc

from emulator.errors import ServiceError, invalid
from emulator.firestore.protos import firestore as _fs

from .store import parse_database

log = logging.getLogger(__name__)
#: ``commit(CommitRequest) -> CommitResponse`` (or an awaitable of it): the servicer's Commit.
CommitFn = Callable[[Any], Any]
Parse = Callable[[Any, bytes], Any]
#: sets the caller's identity (for security rules) from the call's metadata; may raise
#: ServiceError for a malformed token.
BindCaller = Callable[[grpc.aio.ServicerContext], object]


class WriteStreams:
    """Serves ``Write`` calls over a commit function; hands out the stream ids."""

    def __init__(self, commit: CommitFn, parse: Parse, bind_caller: BindCaller) -> None:
        self._commit = commit
        self._parse = parse
        self._bind_caller = bind_caller
        self._ids = itertools.count()

    async def serve(
        self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        """The gRPC handler: one response per request, errors as the stream's status."""
        try:
            self._bind_caller(context)
            async for response in self._run(requests):
                yield response
        except ServiceError as exc:
            await context.abort(grpc.StatusCode[exc.code.value], exc.message)
        except Exception as exc:  # a bug ends this stream, never the server
            log.exception("firestore emulator: Write stream failed")
            await context.abort(grpc.StatusCode.INTERNAL, f"emulator error: {exc!r}")

    async def _run(self, requests: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        request_cls = _fs.WriteRequest.pb()
        response_cls = _fs.WriteResponse.pb()
        commit_cls = _fs.CommitRequest.pb()
        database = ""
        tokens = itertools.count()
        async for raw in requests:
            req = self._parse(request_cls, raw)
            resp = response_cls()
            closing = False
            if not database:
                database = self._handshake(req)
                resp.stream_id = str(next(self._ids))
            elif req.stream_id:
                raise invalid("Resuming streams is not supported, do not set stream ID.")
            elif req.writes:
                done = self._commit(commit_cls(database=database, writes=req.writes))
                if inspect.isawaitable(done):  # Commit may wait (e.g. for a lock)
                    done = await done
                resp.write_results.extend(done.write_results)
                resp.commit_time.CopyFrom(done.commit_time)
            else:
                closing = True
            resp.stream_token = str(next(tokens)).encode()
            yield resp.SerializeToString()
            if closing:
                return

    @staticmethod
    def _handshake(req: Any) -> str:
        if req.stream_id:
            raise invalid("Resuming streams is not supported, do not set stream ID.")
        if not req.database:
            raise invalid("'database' must be set on an initial write request.")
        if req.writes:
            raise invalid("'writes' must not be set on an initial write request.")
        name = str(req.database)
        key = parse_database(name)
        if name != f"projects/{key[0]}/databases/{key[1]}":
            raise invalid(f"invalid database name {name!r}")
        return name
