"""Streaming a Firestore collection tree out, and documents back in, over raw gRPC.

**Out.** One collection and everything below it (subcollections at any depth, including those
under documents that do not exist) is read as pages of a kindless all-descendants query under
the collection's parent, ordered by document name: in that order a collection's tree is one
contiguous run, so paging is a cursor (``start_after`` the last name) and a limit, and no
per-document call is needed to discover subcollections. The run starts at the collection's
first member (found with ``ListDocuments(show_missing=true)``, which also sees missing parents)
and ends at the first name outside the tree. Each page is consumed as it streams in (one
document in memory at a time); a transient failure reopens the query after the last document
received, with the retry policy's backoff. The export is not a point-in-time snapshot.

**In.** Documents are written whole (``set`` semantics: existing documents are replaced,
others untouched) in commits of up to 500 writes, a few in flight; a retried commit rewrites
the same values, so it is idempotent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Iterable
from contextlib import aclosing
from typing import Any

from google.cloud.firestore_v1.async_client import AsyncClient
from google.cloud.firestore_v1.types import firestore as firestore_types
from google.cloud.firestore_v1.types import write as write_types

from .._wire.firestore_values import fields_from_json, fields_to_json
from ..adapters import _compat
from ..adapters._firestore_errors import translate
from ..errors import InvalidArgument, ValidationFailed
from ..retry import RetryPolicy, should_retry
from .progress import Progress, write_counted

__all__ = ["FirestoreTransfer"]

_SERVICE = "/google.firestore.v1.Firestore/"
_RunQueryRequest: Any = firestore_types.RunQueryRequest.pb()
_RunQueryResponse: Any = firestore_types.RunQueryResponse.pb()
_ListDocumentsRequest: Any = firestore_types.ListDocumentsRequest.pb()
_ListDocumentsResponse: Any = firestore_types.ListDocumentsResponse.pb()
_CommitRequest: Any = firestore_types.CommitRequest.pb()
_CommitResponse: Any = firestore_types.CommitResponse.pb()
_Write: Any = write_types.Write.pb()
MAX_COMMIT = 500  # Firestore's limit of writes per commit


def _serialize(message: Any) -> bytes:
    data: bytes = message.SerializeToString()
    return data


class FirestoreTransfer:
    """Export and import of collection trees through a client's gRPC channel."""

    def __init__(
        self,
        client: AsyncClient,
        *,
        page_size: int = 500,
        retry: RetryPolicy | None = None,
        commits_in_flight: int = 4,
    ) -> None:
        if page_size < 1:
            raise InvalidArgument("page_size must be positive")
        self.client = client
        self.page_size = page_size
        self.retry = retry or RetryPolicy()
        self.commits_in_flight = commits_in_flight
        self.database = _compat.database_name(client)
        self.root = f"{self.database}/documents"

    def _method(self, name: str, response: Any, *, stream: bool = False) -> Any:
        channel = _compat.grpc_channel(self.client)
        factory = channel.unary_stream if stream else channel.unary_unary
        return factory(
            _SERVICE + name,
            request_serializer=_serialize,
            response_deserializer=response.FromString,
        )

    async def _call(self, name: str, request: Any, response: Any, path: str) -> Any:
        method = self._method(name, response)
        metadata = _compat.rpc_metadata(self.client)
        return await self.retry.run(
            lambda: method(request, metadata=metadata, timeout=120), idempotent=True, path=path
        )

    # -- out ----------------------------------------------------------------------------------

    async def documents(self, collection: str) -> AsyncIterator[dict[str, Any]]:
        """Every document of ``collection``'s tree as ``{"path", "fields"}`` records, in order."""
        segments = [s for s in collection.strip("/").split("/") if s]
        if not segments or len(segments) % 2 == 0:
            raise InvalidArgument(f"not a collection path: {collection!r}")
        parent = "/".join([self.root, *segments[:-1]])
        prefix = f"{self.root}/{'/'.join(segments)}/"
        first = await self._first_member(parent, segments[-1])
        if first is None:
            return
        # aclosing: leaving early (past the tree) must cancel the query now, not at GC time.
        async with aclosing(self._tree(parent, first)) as tree:
            async for document in tree:
                if not document.name.startswith(prefix):
                    return
                yield {
                    "path": document.name[len(self.root) + 1 :],
                    "fields": fields_to_json(document.fields, database=self.database),
                }

    async def _first_member(self, parent: str, collection_id: str) -> str | None:
        request = _ListDocumentsRequest(
            parent=parent, collection_id=collection_id, page_size=1, show_missing=True
        )
        request.mask.SetInParent()  # an empty mask: names only
        response = await self._call("ListDocuments", request, _ListDocumentsResponse, parent)
        return response.documents[0].name if response.documents else None

    async def _tree(self, parent: str, first: str) -> AsyncGenerator[Any, None]:
        """Every document from ``first`` on under ``parent``, in name order, page by page."""
        cursor, before = first, True
        backoff = self.retry.backoff()
        method = self._method("RunQuery", _RunQueryResponse, stream=True)
        while True:
            received = 0
            call = method(
                self._query(parent, cursor, before), metadata=_compat.rpc_metadata(self.client)
            )
            try:
                async for response in call:
                    if response.HasField("document"):
                        received += 1
                        cursor, before = response.document.name, False
                        yield response.document
            except Exception as exc:
                error = translate(exc, path=parent)
                if received:
                    backoff.reset()  # progress was made: count only failures in a row
                if not should_retry(error, idempotent=True) or backoff.exhausted:
                    raise error from exc
                await backoff.wait()
                continue
            finally:
                call.cancel()
            if received < self.page_size:
                return
            backoff.reset()

    def _query(self, parent: str, cursor: str, before: bool) -> Any:
        request = _RunQueryRequest(parent=parent)
        query = request.structured_query
        query.from_.add().all_descendants = True
        order = query.order_by.add()
        order.field.field_path = "__name__"
        order.direction = 1  # ASCENDING
        query.start_at.values.add().reference_value = cursor
        query.start_at.before = before
        query.limit.value = self.page_size
        return request

    async def export(
        self, collection: str, write: Callable[[Any], None], progress: Progress
    ) -> int:
        """Write ``collection``'s tree with ``write(record)``; return the document count."""
        return await write_counted(self.documents(collection), write, progress)

    # -- in -----------------------------------------------------------------------------------

    async def import_(self, records: Iterable[Any], progress: Progress) -> int:
        """Write every ``{"path", "fields"}`` record; return how many were written."""
        slots = asyncio.Semaphore(self.commits_in_flight)
        pending: set[asyncio.Task[None]] = set()
        count = 0

        async def commit(writes: list[Any]) -> None:
            try:
                request = _CommitRequest(database=self.database, writes=writes)
                await self._call("Commit", request, _CommitResponse, self.root)
                progress(len(writes))
            finally:
                slots.release()

        try:
            batch: list[Any] = []
            for record in records:
                batch.append(self._write(record))
                count += 1
                if len(batch) == MAX_COMMIT:
                    await self._submit(slots, pending, commit, batch)
                    batch = []
            if batch:
                await self._submit(slots, pending, commit, batch)
            await asyncio.gather(*pending)
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        return count

    @staticmethod
    async def _submit(
        slots: asyncio.Semaphore,
        pending: set[asyncio.Task[None]],
        commit: Callable[[list[Any]], Coroutine[Any, Any, None]],
        batch: list[Any],
    ) -> None:
        await slots.acquire()  # at most ``commits_in_flight`` batches held in memory
        for task in [t for t in pending if t.done()]:
            pending.discard(task)
            task.result()  # a failed commit stops the import at once
        pending.add(asyncio.ensure_future(commit(batch)))

    def _write(self, record: Any) -> Any:
        try:
            path, fields = record["path"], record["fields"]
        except (TypeError, KeyError) as exc:
            raise ValidationFailed("a record needs 'path' and 'fields'", path=None) from exc
        segments = [s for s in str(path).split("/") if s]
        if not segments or len(segments) % 2:
            raise ValidationFailed(f"not a document path: {path!r}", path=str(path))
        write = _Write()
        write.update.name = f"{self.root}/{'/'.join(segments)}"
        for key, value in fields_from_json(fields, database=self.database, path=path).items():
            write.update.fields[key].CopyFrom(value)
        return write
