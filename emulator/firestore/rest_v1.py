"""The Firestore REST API v1 (``/v1/projects/{p}/databases/{d}/documents...``).

Served on the emulator's one port like the official emulator does, for
``firebase/firestore/lite``, curl scripts and REST clients. Each call is mapped to the request
message the gRPC side uses (JSON body through protobuf's ``json_format``, path and query
parameters as in Google's HTTP transcoding) and handed to the same servicer method, so both
wires share one behaviour. Server-streaming methods answer a JSON array of their messages.
Errors use Google's JSON error format; every response to a browser carries CORS headers.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from emulator.aiohttp_web import web
from emulator.errors import Code, ServiceError, invalid
from emulator.firestore.protos import document as _doc
from emulator.firestore.protos import firestore as _fs
from emulator.identity import InvalidToken, identity_from_header

from .security.guard import CALLER
from .servicer import FirestoreServicer
from .values import MAX_REQUEST_BYTES
from .wire import delimited
from .writes import VERIFY_FIELD

log = logging.getLogger(__name__)

#: google.rpc.Code -> HTTP status, as Google's HTTP/JSON gateway maps them.
HTTP_STATUS = {
    "OK": 200,
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
}
CORS_METHODS = "DELETE,GET,HEAD,PATCH,POST,PUT"
BAD_PAYLOAD = "Payload isn't valid for request."
TOO_LARGE = "request exceeds the maximum API request size of 10 MiB"


@dataclass(frozen=True)
class _Rpc:
    """One ``:verb``: its request class, the field the URL path fills, and the method."""

    request: Any
    path_field: str
    root_only: bool  # the path must be the database's ``documents`` root
    streaming: bool
    done_last: bool  # the official emulator marks the last streamed message ``done``


def error_body(code: str, message: str) -> dict[str, Any]:
    """Google's JSON error object for a canonical ``code``."""
    return {"error": {"code": HTTP_STATUS.get(code, 500), "message": message, "status": code}}


def _error(code: str, message: str) -> web.Response:
    return web.json_response(error_body(code, message), status=HTTP_STATUS.get(code, 500))


@web.middleware
async def cors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Answer preflights and let any origin call (the emulator has no users to protect)."""
    origin = request.headers.get("Origin")
    if request.method == "OPTIONS":
        response: web.StreamResponse = web.Response(status=200)
        wanted = request.headers.get("Access-Control-Request-Headers")
        if origin and wanted:
            response.headers["Access-Control-Allow-Headers"] = wanted
    else:
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # aiohttp's own 404/405 answers
            if origin:
                _allow(exc.headers, origin)
            raise
    if origin:
        _allow(response.headers, origin)
    return response


def _allow(headers: Any, origin: str) -> None:
    headers["Access-Control-Allow-Origin"] = origin
    headers["Access-Control-Allow-Methods"] = CORS_METHODS
    headers["Access-Control-Allow-Credentials"] = "true"


class RestApi:
    """Routes ``/v1/...`` requests to a ``FirestoreServicer``."""

    def __init__(self, servicer: FirestoreServicer) -> None:
        s = servicer
        self._verbs: dict[str, tuple[_Rpc, Callable[[Any], Any]]] = {
            "batchGet": (
                _Rpc(_fs.BatchGetDocumentsRequest, "database", True, True, False),
                s.batch_get,
            ),
            "beginTransaction": (
                _Rpc(_fs.BeginTransactionRequest, "database", True, False, False),
                s.begin,
            ),
            "commit": (_Rpc(_fs.CommitRequest, "database", True, False, False), s.commit),
            "rollback": (_Rpc(_fs.RollbackRequest, "database", True, False, False), s.rollback),
            "batchWrite": (
                _Rpc(_fs.BatchWriteRequest, "database", True, False, False),
                s.batch_write,
            ),
            "runQuery": (_Rpc(_fs.RunQueryRequest, "parent", False, True, True), s.run_query),
            "runAggregationQuery": (
                _Rpc(_fs.RunAggregationQueryRequest, "parent", False, True, True),
                s.run_aggregation,
            ),
            "partitionQuery": (
                _Rpc(_fs.PartitionQueryRequest, "parent", False, False, False),
                s.partition_query,
            ),
            "listCollectionIds": (
                _Rpc(_fs.ListCollectionIdsRequest, "parent", False, False, False),
                s.list_collection_ids,
            ),
        }
        self._servicer = servicer

    def install(self, app: web.Application) -> None:
        """Add the routes and the CORS middleware to ``app`` (before it starts)."""
        app.middlewares.append(cors)
        app.router.add_route("*", "/v1/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        try:
            _bind_caller(request)
            body = await self._dispatch(request)
        except ServiceError as exc:
            return _error(exc.code.value, exc.message)
        except _NoRoute:
            return _error(
                Code.NOT_FOUND.value, f"no REST route for {request.method} {request.rel_url.path}"
            )
        except Exception as exc:  # a malformed request never takes the server down
            log.exception("firestore emulator: REST request failed")
            return _error(Code.INTERNAL.value, f"emulator error: {exc!r}")
        return web.Response(text=json.dumps(body, indent=2), content_type="application/json")

    async def _dispatch(self, request: web.Request) -> Any:
        raw = request.rel_url.raw_path[len("/v1/") :]
        verb = ""
        head, colon, tail = raw.rpartition(":")
        if colon and "/" not in tail and tail in self._verbs:
            raw, verb = head, tail
        # Decoded before splitting, as the official emulator does: an encoded "/" separates
        # segments (no document ID may contain one).
        segments = unquote(raw).split("/")
        if (
            len(segments) < 5
            or segments[0] != "projects"
            or segments[2] != "databases"
            or segments[4] != "documents"
            or not all(segments)
        ):
            raise _NoRoute
        path = "/".join(segments)
        database = "/".join(segments[:4])
        rel = segments[5:]
        if verb:
            if request.method != "POST":
                raise _NoRoute
            rpc, fn = self._verbs[verb]
            if rpc.root_only and rel:
                raise _NoRoute
            if rel and len(rel) % 2:
                raise invalid(f"invalid parent {path!r}: not a document")
            req = await _body(request, rpc.request)
            setattr(req, rpc.path_field, database if rpc.path_field == "database" else path)
            return await _call(fn, req, rpc)
        return await self._documents(request, path, rel)

    async def _documents(self, request: web.Request, path: str, rel: list[str]) -> Any:
        """Document CRUD and ListDocuments, told apart by method and path parity."""
        s = self._servicer
        method = request.method
        if rel and len(rel) % 2 == 0:  # a document
            if method == "GET":
                req = _query(request, _fs.GetDocumentRequest)
                req.name = path
                return _dict(s.get_document(req))
            if method == "PATCH":
                req = _query(request, _fs.UpdateDocumentRequest)
                doc = await _body(request, _doc.Document)
                req.document.CopyFrom(doc)
                req.document.name = path
                return _dict(s.update_document(req))
            if method == "DELETE":
                req = _query(request, _fs.DeleteDocumentRequest)
                req.name = path
                return _dict(s.delete_document(req))
        elif rel:  # a collection
            parent, _, collection_id = path.rpartition("/")
            if method == "GET":
                req = _query(request, _fs.ListDocumentsRequest)
                req.parent, req.collection_id = parent, collection_id
                return _dict(s.list_documents(req))
            if method == "POST":
                req = _query(request, _fs.CreateDocumentRequest)
                req.document.CopyFrom(await _body(request, _doc.Document))
                req.document.ClearField("name")
                req.parent, req.collection_id = parent, collection_id
                return _dict(s.create_document(req))
        raise _NoRoute


def _bind_caller(request: web.Request) -> None:
    """Security rules see the identity of the ``Authorization`` header (none: signed out)."""
    try:
        CALLER.set(identity_from_header(request.headers.get("Authorization")))
    except InvalidToken:
        raise invalid("invalid jwt") from None


class _NoRoute(Exception):
    """No REST method matches the request's path and HTTP method."""


async def _call(fn: Callable[[Any], Any], req: Any, rpc: _Rpc) -> Any:
    if not rpc.streaming:
        result = fn(req)
        return _dict(await result if asyncio.iscoroutine(result) else result)
    stream: AsyncIterator[Any] = fn(req)
    cls = getattr(_fs, rpc.request.__name__.replace("Request", "Response")).pb()
    out = []
    async for msg in stream:
        out.append(_dict(cls.FromString(msg) if isinstance(msg, bytes) else msg))
    if rpc.done_last and out:
        out[-1]["done"] = True  # RunAggregationQueryResponse.done is newer than our classes
    return out


def _dict(message: Any) -> dict[str, Any]:
    return dict(json_format.MessageToDict(message))


async def _body(request: web.Request, cls: Any) -> Any:
    """The JSON body as a ``cls`` message (any content type: the web SDK sends text/plain)."""
    message = cls.pb()()
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise invalid(TOO_LARGE) from None
    if not raw.strip():
        return message
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise invalid(BAD_PAYLOAD)
        verifies = _pop_verifies(data)
        json_format.ParseDict(data, message)
    except (ValueError, json_format.ParseError, TypeError):
        raise invalid(BAD_PAYLOAD) from None
    for i, name in verifies:
        message.writes[i].MergeFromString(delimited(VERIFY_FIELD, name.encode()))
    if message.ByteSize() > MAX_REQUEST_BYTES:
        raise invalid(TOO_LARGE)
    return message


def _pop_verifies(data: dict[str, Any]) -> list[tuple[int, str]]:
    """Take ``verify`` out of each write: the generated classes lack the field, so it is
    added back as its wire bytes, which the commit path reads as an unknown field."""
    writes = data.get("writes")
    if not isinstance(writes, list):
        return []
    found = []
    for i, w in enumerate(writes):
        if isinstance(w, dict) and "verify" in w:
            name = w.pop("verify")
            if not isinstance(name, str):
                raise invalid(BAD_PAYLOAD)
            found.append((i, name))
    return found


def _query(request: web.Request, cls: Any) -> Any:
    """Query parameters (``mask.fieldPaths=a&currentDocument.exists=true``) as a message."""
    message = cls.pb()()
    data: dict[str, Any] = {}
    for key in set(request.query.keys()):
        values = request.query.getall(key)
        fields = _field_chain(message.DESCRIPTOR, key.split("."))
        if fields is None:
            continue  # Google's gateway ignores unknown parameters too
        leaf = fields[-1]
        converted = [_scalar(leaf, v) for v in values]
        node = data
        for f in fields[:-1]:
            node = node.setdefault(f.json_name, {})
        if _repeated(leaf):
            node[leaf.json_name] = converted
        else:
            node[leaf.json_name] = converted[-1]
    try:
        json_format.ParseDict(data, message)
    except json_format.ParseError as exc:
        raise invalid(f"invalid query parameter: {exc}") from None
    return message


def _field_chain(descriptor: Descriptor, names: list[str]) -> list[FieldDescriptor] | None:
    chain = []
    current: Descriptor | None = descriptor
    for name in names:
        if current is None:
            return None
        field = current.fields_by_camelcase_name.get(name) or current.fields_by_name.get(name)
        if field is None:
            return None
        chain.append(field)
        current = field.message_type
    return chain


def _repeated(field: FieldDescriptor) -> bool:
    flag = getattr(field, "is_repeated", None)  # protobuf >= 6 spells ``label`` this way
    if flag is not None:
        return bool(flag)
    return bool(field.label == FieldDescriptor.LABEL_REPEATED)


def _scalar(field: FieldDescriptor, value: str) -> Any:
    if field.type == FieldDescriptor.TYPE_BOOL:
        if value not in ("true", "false"):
            raise invalid(f"invalid value {value!r} for {field.json_name}: not a bool")
        return value == "true"
    if field.type == FieldDescriptor.TYPE_BYTES:
        try:  # the URL-safe alphabet is common in query strings; the JSON mapping wants it
            return base64.b64encode(
                base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            ).decode()
        except (binascii.Error, ValueError):
            raise invalid(f"invalid base64 value for {field.json_name}") from None
    return value
