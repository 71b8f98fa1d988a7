"""The ``google.firestore.v1.Firestore`` gRPC method table.

Handlers receive raw bytes (no deserializer) so a malformed message becomes INVALID_ARGUMENT
instead of a transport error; ``ServiceError`` from state becomes the matching gRPC status.
Methods not listed here answer UNIMPLEMENTED (grpc's default for unknown methods).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import string
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import status_pb2

from emulator.errors import Code, ServiceError, invalid
from emulator.firestore.protos import firestore as _fs
from emulator.firestore.protos import write as _write
from emulator.identity import Identity, InvalidToken, identity_from_header

from .listen import End, ListenEngine
from .query import (
    Query,
    aggregate,
    aggregated_fields,
    aggregation_input,
    check_aggregation_orders,
    compile_query,
)
from .security.guard import CALLER, Guard
from .store import Database, DbKey, Store, parse_database, to_timestamp
from .transactions import Transaction, Transactions
from .values import (
    MAX_REQUEST_BYTES,
    Document,
    get_field,
    parse_field_path,
    set_field,
    validate_document_name,
    validate_id,
)
from .wire import run_query_response, serialized
from .write_stream import WriteStreams
from .writes import WriteOutcome, apply_write

SERVICE = "google.firestore.v1.Firestore"
_AUTO_ID = string.ascii_letters + string.digits  # what the SDKs draw auto-IDs from
log = logging.getLogger(__name__)

Unary = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]
Streaming = Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]


def _parse(cls: Any, raw: bytes) -> Any:
    if len(raw) > MAX_REQUEST_BYTES:
        raise invalid("request exceeds the maximum API request size of 10 MiB")
    try:
        return cls.FromString(raw)
    except (DecodeError, RuntimeWarning, ValueError) as exc:
        raise invalid(f"malformed {cls.DESCRIPTOR.name}: {exc}") from None


async def _abort(context: grpc.aio.ServicerContext, exc: BaseException) -> None:
    if isinstance(exc, ServiceError):
        await context.abort(grpc.StatusCode[exc.code.value], exc.message)
    log.exception("firestore emulator: unexpected error", exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, f"emulator error: {exc!r}")


def _caller(context: grpc.aio.ServicerContext) -> Identity:
    """The identity in the call's ``authorization`` metadata (none: unauthenticated)."""
    header = None
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            header = value if isinstance(value, str) else value.decode("latin-1")
    try:
        return identity_from_header(header)
    except InvalidToken:
        raise invalid("invalid jwt") from None


def _us(ts: Any) -> int:
    return int(ts.seconds) * 1_000_000 + int(ts.nanos) // 1000


def _version(doc: Any | None) -> int | None:
    return None if doc is None else _us(doc.update_time)


def _masked(doc: Any, mask: Any | None) -> Any:
    if mask is None:
        return doc
    out = Document()
    out.name = doc.name
    out.create_time.CopyFrom(doc.create_time)
    out.update_time.CopyFrom(doc.update_time)
    for raw in mask.field_paths:
        path = parse_field_path(raw)
        v = get_field(doc.fields, path)
        if v is not None:
            set_field(out.fields, path, v)
    return out


class FirestoreServicer:
    """RPC implementations over a ``Store``, a ``ListenEngine`` and ``Transactions``."""

    def __init__(self, store: Store, engine: ListenEngine, txns: Transactions,
                 guard: Guard | None = None) -> None:
        self.store = store
        self.engine = engine
        self.txns = txns
        self.guard = guard if guard is not None else Guard()
        engine.authorize_target = self._authorize_target
        self.write_streams = WriteStreams(self.commit, _parse,
                                          lambda context: CALLER.set(_caller(context)))

    # ------------------------------------------------------------ plumbing

    def handler(self) -> grpc.GenericRpcHandler:
        u = grpc.unary_unary_rpc_method_handler
        s = grpc.unary_stream_rpc_method_handler
        table = {
            "GetDocument": u(self._unary(_fs.GetDocumentRequest, self.get_document)),
            "ListDocuments": u(self._unary(_fs.ListDocumentsRequest, self.list_documents)),
            "CreateDocument": u(self._unary(_fs.CreateDocumentRequest, self.create_document)),
            "UpdateDocument": u(self._unary(_fs.UpdateDocumentRequest, self.update_document)),
            "DeleteDocument": u(self._unary(_fs.DeleteDocumentRequest, self.delete_document)),
            "BatchGetDocuments": s(self._stream(_fs.BatchGetDocumentsRequest, self.batch_get)),
            "BeginTransaction": u(self._unary(_fs.BeginTransactionRequest, self.begin)),
            "Commit": u(self._unary(_fs.CommitRequest, self.commit)),
            "Rollback": u(self._unary(_fs.RollbackRequest, self.rollback)),
            "RunQuery": s(self._stream(_fs.RunQueryRequest, self.run_query)),
            "RunAggregationQuery": s(
                self._stream(_fs.RunAggregationQueryRequest, self.run_aggregation)),
            "PartitionQuery": u(self._unary(_fs.PartitionQueryRequest, self.partition_query)),
            "ListCollectionIds": u(
                self._unary(_fs.ListCollectionIdsRequest, self.list_collection_ids)),
            "BatchWrite": u(self._unary(_fs.BatchWriteRequest, self.batch_write)),
            "Listen": grpc.stream_stream_rpc_method_handler(self.listen),
            "Write": grpc.stream_stream_rpc_method_handler(self.write_streams.serve),
        }
        return grpc.method_handlers_generic_handler(SERVICE, table)

    @staticmethod
    def _unary(cls: Any, fn: Callable[[Any], Any]) -> Callable[..., Awaitable[bytes]]:
        pb = cls.pb()

        async def handle(raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
            try:
                CALLER.set(_caller(context))
                result = fn(_parse(pb, raw))
                if asyncio.iscoroutine(result):
                    result = await result
                return bytes(result.SerializeToString())
            except Exception as exc:  # mapped to a status; never kills the server
                await _abort(context, exc)
                raise  # unreachable: abort raises

        return handle

    @staticmethod
    def _stream(cls: Any, fn: Callable[[Any], AsyncIterator[Any]]
                ) -> Callable[..., AsyncIterator[bytes]]:
        pb = cls.pb()

        async def handle(raw: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
            try:
                CALLER.set(_caller(context))
                async for msg in fn(_parse(pb, raw)):
                    yield msg if isinstance(msg, bytes) else msg.SerializeToString()
            except Exception as exc:
                await _abort(context, exc)

        return handle

    def _db(self, name: str) -> tuple[DbKey, Database]:
        key = parse_database(name)
        return key, self.store.database(key)

    def _txn_for(self, req: Any, key: DbKey) -> tuple[Transaction | None, bytes]:
        """The transaction a read runs in: an existing one or a ``new_transaction``."""
        which = req.WhichOneof("consistency_selector")
        if which == "transaction":
            return self.txns.get(req.transaction, key), b""
        if which == "new_transaction":
            tid = self._begin_options(key, req.new_transaction)
            return self.txns.get(tid, key), tid
        return None, b""

    def _read_time(self, req: Any) -> int | None:
        if req.WhichOneof("consistency_selector") == "read_time":
            return _us(req.read_time)
        return None

    def _begin_options(self, key: DbKey, options: Any | None) -> bytes:
        read_only = options is not None and options.WhichOneof("mode") == "read_only"
        retry = b""
        if options is not None and options.WhichOneof("mode") == "read_write":
            retry = options.read_write.retry_transaction
        return self.txns.begin(key, read_only, retry)

    def _authorize_target(self, db: Database, query: Query | None, sq: Any | None,
                          names: frozenset[str] | None) -> None:
        """Rules for a Listen target: ``get`` of each document, or ``list`` for a query."""
        if query is not None:
            self.guard.check_list(db, query.parent, query.collection_id, query.all_descendants,
                                  sq)
        for name in sorted(names or ()):
            self.guard.check_get(db, name, db.get(name))

    # ------------------------------------------------------------ reads

    async def batch_get(self, req: Any) -> AsyncIterator[Any]:
        key, db = self._db(req.database)
        txn, new_id = self._txn_for(req, key)
        at = self._read_time(req)
        mask = req.mask if req.HasField("mask") else None
        names = list(dict.fromkeys(req.documents))
        for name in names:
            validate_document_name(name)
            if not name.startswith(db.root + "/"):
                raise invalid(f"document {name} is not in database {db.root}")
        for name in names:
            self.guard.check_get(db, name, db.get_at(name, at))
        if txn is not None:
            await self.txns.before_read(txn, names)
        read_time = self.store.clock.last
        cls = _fs.BatchGetDocumentsResponse.pb()
        for i, name in enumerate(names):
            doc = db.get_at(name, at)
            if txn is not None:
                self.txns.record_doc(txn, name, _version(doc))
            resp = cls()
            if i == 0 and new_id:
                resp.transaction = new_id
            if doc is None:
                resp.missing = name
            else:
                resp.found.CopyFrom(_masked(doc, mask))
            to_timestamp(at or read_time, resp.read_time)
            yield resp
        if not names and new_id:
            resp = cls()
            resp.transaction = new_id
            yield resp

    def get_document(self, req: Any) -> Any:
        validate_document_name(req.name)
        key, db = self._db(req.name)
        txn, _ = self._txn_for(req, key)
        doc = db.get_at(req.name, self._read_time(req))
        self.guard.check_get(db, req.name, doc)
        if txn is not None:
            self.txns.record_doc(txn, req.name, _version(doc))
        if doc is None:
            raise ServiceError(Code.NOT_FOUND, f"Document not found: {req.name}")
        return _masked(doc, req.mask if req.HasField("mask") else None)

    def _query(self, parent: str, sq: Any) -> tuple[DbKey, Database, Query]:
        key, db = self._db(parent)
        if parent != db.root:
            if not parent.startswith(db.root + "/"):
                raise invalid(f"invalid parent {parent!r}")
            validate_document_name(parent, what="query parent")
        q = compile_query(parent, sq)
        self.guard.check_list(db, parent, q.collection_id, q.all_descendants, sq)
        return key, db, q

    def _results(self, db: Database, q: Query, at: int | None,
                 run: Callable[[Iterable[Any]], list[Any]] | None = None) -> list[Any]:
        docs = db.scope_at(at, q.parent, q.collection_id, q.all_descendants)
        if docs is None:
            raise invalid("read_time is older than the emulator's retained history")
        return (run or q.run)(docs)

    def _record_query(self, txn: Transaction | None, db: Database, q: Query,
                      docs: list[Any],
                      run: Callable[[Iterable[Any]], list[Any]] | None = None) -> None:
        if txn is None:
            return

        def signature(found: list[Any]) -> object:
            return [(d.name, _us(d.update_time)) for d in found]

        self.txns.record_query(txn, lambda: signature(self._results(db, q, None, run)),
                               signature(docs))

    async def run_query(self, req: Any) -> AsyncIterator[Any]:
        if req.WhichOneof("query_type") != "structured_query":
            raise invalid("RunQuery needs a structured_query")
        key, db, q = self._query(req.parent, req.structured_query)
        txn, new_id = self._txn_for(req, key)
        at = self._read_time(req)
        docs = self._results(db, q, at)
        self._record_query(txn, db, q, docs)
        stamp = Timestamp()
        to_timestamp(at or self.store.clock.last, stamp)
        read_time = serialized(stamp)
        if not docs:
            yield run_query_response(b"", read_time, new_id)
            return
        project = q.project
        yield run_query_response(serialized(project(docs[0])), read_time, new_id)
        for doc in docs[1:]:
            yield run_query_response(serialized(project(doc)), read_time)

    async def run_aggregation(self, req: Any) -> AsyncIterator[Any]:
        if req.WhichOneof("query_type") != "structured_aggregation_query":
            raise invalid("RunAggregationQuery needs a structured_aggregation_query")
        saq = req.structured_aggregation_query
        key, db, q = self._query(req.parent, saq.structured_query)
        fields = aggregated_fields(saq.aggregations)
        check_aggregation_orders(saq.structured_query, q, fields)

        def run(scope: Iterable[Any]) -> list[Any]:
            return aggregation_input(q, fields, scope)

        txn, new_id = self._txn_for(req, key)
        at = self._read_time(req)
        docs = self._results(db, q, at, run)
        self._record_query(txn, db, q, docs, run)
        resp = _fs.RunAggregationQueryResponse.pb()()
        for alias, value in aggregate(saq.aggregations, docs).items():
            resp.result.aggregate_fields[alias].CopyFrom(value)
        if new_id:
            resp.transaction = new_id
        to_timestamp(at or self.store.clock.last, resp.read_time)
        yield resp

    def partition_query(self, req: Any) -> Any:
        self._query(req.parent, req.structured_query)
        if req.partition_count <= 0:
            raise invalid("partition_count must be positive")
        return _fs.PartitionQueryResponse.pb()()  # no cursors: a single partition

    def list_documents(self, req: Any) -> Any:
        key, db = self._db(req.parent)
        if req.parent != db.root:
            validate_document_name(req.parent, what="parent")
        if not req.collection_id:
            raise invalid("ListDocuments needs a collection_id")
        coll = f"{req.parent}/{req.collection_id}"
        self.guard.check_list(db, req.parent, req.collection_id, False, None)
        at = self._read_time(req)
        mask = req.mask if req.HasField("mask") else None
        if req.show_missing:
            names = db.collection_members_at(coll, at)
        else:
            names = {f"{coll}/{i}" for i in db.collections.get(coll, {})}
            if at is not None:  # documents deleted since read_time are listed too
                depth = coll.count("/") + 1
                names |= {n for n in db.names_at(coll + "/", at) if n.count("/") == depth}
        ordered = sorted(n for n in names if n > req.page_token)
        size = req.page_size if req.page_size > 0 else 300
        page = ordered[:size]
        resp = _fs.ListDocumentsResponse.pb()()
        for name in page:
            doc = db.get_at(name, at)
            if doc is None:
                if req.show_missing:
                    resp.documents.add().name = name
                continue
            resp.documents.add().CopyFrom(_masked(doc, mask))
        if len(ordered) > size:
            resp.next_page_token = page[-1]
        return resp

    def list_collection_ids(self, req: Any) -> Any:
        _, db = self._db(req.parent)
        if req.parent != db.root:
            validate_document_name(req.parent, what="parent")
        at = self._read_time(req)
        ids = sorted(i for i in db.child_collections_at(req.parent, at) if i > req.page_token)
        size = req.page_size if req.page_size > 0 else 300
        resp = _fs.ListCollectionIdsResponse.pb()()
        resp.collection_ids.extend(ids[:size])
        if len(ids) > size:
            resp.next_page_token = ids[size - 1]
        return resp

    # ------------------------------------------------------------ writes

    def begin(self, req: Any) -> Any:
        key, _ = self._db(req.database)
        tid = self._begin_options(key, req.options if req.HasField("options") else None)
        resp = _fs.BeginTransactionResponse.pb()()
        resp.transaction = tid
        return resp

    def rollback(self, req: Any) -> Any:
        self.txns.end(req.transaction)  # any id is accepted, even unknown or aborted ones
        from google.protobuf import empty_pb2

        return empty_pb2.Empty()

    def _apply(self, key: DbKey, writes: Any) -> tuple[int, list[WriteOutcome]]:
        db = self.store.database(key)
        at = self.store.clock.tick()
        staged: dict[str, Any | None] = {}
        outcomes = [apply_write(db, staged, w, at) for w in writes]
        self.guard.check_writes(db, db.root, [(o.name, o.doc) for o in outcomes if not o.verify],
                                staged, at)
        self.store.commit(key, staged, at)
        return at, outcomes

    @staticmethod
    def _result(outcome: WriteOutcome, into: Any) -> None:
        if outcome.update_time is not None:
            to_timestamp(outcome.update_time, into.update_time)
        for v in outcome.transform_results:
            into.transform_results.add().CopyFrom(v)

    def commit(self, req: Any) -> Any:
        key, db = self._db(req.database)
        txn = None
        if req.transaction:
            txn = self.txns.get(req.transaction, key)
        try:
            if txn is not None:
                if txn.read_only and len(req.writes):
                    raise invalid("cannot write in a read-only transaction")
                self.txns.validate(txn, lambda n: _version(db.get(n)))
            at, outcomes = self._apply(key, req.writes)
        except ServiceError as exc:
            if txn is not None and exc.code is Code.ABORTED:
                self.txns.hold_for_retry(txn)
                txn = None
            raise
        finally:
            if txn is not None:
                self.txns.end(txn.id)
        resp = _fs.CommitResponse.pb()()
        to_timestamp(at, resp.commit_time)
        for o in outcomes:
            self._result(o, resp.write_results.add())
        return resp

    def batch_write(self, req: Any) -> Any:
        key, _ = self._db(req.database)
        resp = _fs.BatchWriteResponse.pb()()
        for w in req.writes:
            result = resp.write_results.add()
            status = resp.status.add()
            try:
                _, (outcome,) = self._apply(key, [w])
                self._result(outcome, result)
            except ServiceError as exc:
                status.CopyFrom(status_pb2.Status(code=grpc.StatusCode[exc.code.value].value[0],
                                                  message=exc.message))
        return resp

    def create_document(self, req: Any) -> Any:
        key, db = self._db(req.parent)
        doc_id = req.document_id or "".join(secrets.choice(_AUTO_ID) for _ in range(20))
        validate_id(doc_id)
        name = f"{req.parent}/{req.collection_id}/{doc_id}"
        w = _write.Write.pb()()
        w.update.CopyFrom(req.document)
        w.update.name = name
        w.current_document.exists = False
        self._apply(key, [w])
        return _masked(db.get(name), req.mask if req.HasField("mask") else None)

    def update_document(self, req: Any) -> Any:
        key, db = self._db(req.document.name)
        w = _write.Write.pb()()
        w.update.CopyFrom(req.document)
        if req.HasField("update_mask"):
            w.update_mask.CopyFrom(req.update_mask)
        if req.HasField("current_document"):
            w.current_document.CopyFrom(req.current_document)
        self._apply(key, [w])
        return _masked(db.get(req.document.name), req.mask if req.HasField("mask") else None)

    def delete_document(self, req: Any) -> Any:
        key, _ = self._db(req.name)
        w = _write.Write.pb()()
        w.delete = req.name
        if req.HasField("current_document"):
            w.current_document.CopyFrom(req.current_document)
        self._apply(key, [w])
        from google.protobuf import empty_pb2

        return empty_pb2.Empty()

    # ------------------------------------------------------------ listen

    async def listen(self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext
                     ) -> AsyncIterator[bytes]:
        try:
            CALLER.set(_caller(context))
        except ServiceError as exc:
            await _abort(context, exc)
        stream = self.engine.open()
        pb = _fs.ListenRequest.pb()

        async def read() -> None:
            try:
                async for raw in requests:
                    stream.handle(_parse(pb, raw))
                # The Node client stops a watch by half-closing and waits for the server
                # to finish the call.
                stream.end("OK", "")
            except ServiceError as exc:
                stream.end(exc.code, exc.message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the stream dies, the server keeps serving
                if not stream.closed:  # after an abort, reading fails by design
                    log.exception("listen request failed")
                    stream.end(Code.INTERNAL, f"emulator error: {exc!r}")

        reader = asyncio.create_task(read())
        queue = stream.queue
        try:
            while True:
                item = await queue.get()
                if isinstance(item, End):
                    code = item.code.value if isinstance(item.code, Code) else item.code
                    if code != "OK":
                        await context.abort(grpc.StatusCode[code], item.message)
                    return
                yield item  # already serialized
        finally:
            reader.cancel()
            self.engine.close(stream)
