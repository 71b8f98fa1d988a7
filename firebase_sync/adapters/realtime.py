"""``RealtimeRepository[T]``: typed, async access to the children of one RTDB path.

Each child of the path is one ``T`` (its key is the ``id``). Talks REST over aiohttp to the
database a firebase-admin app names (emulator picked up like the Admin SDK does). Writes use
``print=silent``; ``push`` is not idempotent and is re-sent only when the request provably
never left. Compare-and-set (``create``, ``set_if_unchanged``, ``transaction``) goes through
ETags and is retried after a lost reply: when the retry finds the condition failed, the value
is read back from the 412 reply, and a value equal to ours means our first attempt was the
one applied (so a transaction is never applied twice). Every request runs under the
endpoint's :class:`~firebase_sync.retry.Deadlines`.

Close the repository (``await repo.aclose()`` or ``async with``) to release its HTTP session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .._wire.documents import dump_document, load_document, to_plain
from .._wire.rtdb_events import Absent
from .._wire.rtdb_json import encode_value, restore_for_model, split_path, validate_key
from .._wire.rtdb_order import RtdbQuerySpec, evaluate
from ..change import Source
from ..errors import AlreadyExists, FailedPrecondition, InvalidArgument, ProtocolError
from ..models import Document, Increment
from ..retry import LISTENER_RECONNECT, Deadlines, RetryPolicy
from ._rtdb_http import Response, RtdbEndpoint

if TYPE_CHECKING:
    import firebase_admin

    from ..store import Store
    from ..stream import ChangeStream
    from .realtime_listen import RealtimeListener

__all__ = ["RealtimeQuery", "RealtimeRepository"]

T = TypeVar("T", bound=Document)
_SILENT = {"print": "silent"}


class RealtimeRepository(Generic[T]):
    """The children of ``path`` as ``T``, keyed by child name.

    ``retry`` governs calls; ``reconnect`` how listeners reconnect; ``deadlines`` (given
    here or carried by ``endpoint``) how long each network step may take.
    """

    def __init__(
        self,
        model: type[T],
        path: str,
        *,
        app: firebase_admin.App | None = None,
        endpoint: RtdbEndpoint | None = None,
        retry: RetryPolicy | None = None,
        reconnect: RetryPolicy | None = None,
        deadlines: Deadlines | None = None,
    ) -> None:
        self.model = model
        self.path = "/" + "/".join(split_path(path))
        if endpoint is None:
            endpoint = RtdbEndpoint.from_app(app, **({"deadlines": deadlines} if deadlines else {}))
        elif deadlines is not None:
            endpoint.deadlines = deadlines
        self.endpoint = endpoint
        self.retry = retry or RetryPolicy()
        self.reconnect = reconnect or LISTENER_RECONNECT
        self.source = Source("rtdb", self.path)

    async def __aenter__(self) -> RealtimeRepository[T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release the HTTP session (listeners have their own connections)."""
        await self.endpoint.aclose()

    # -- codecs ---------------------------------------------------------------------------------

    def child_path(self, key: str) -> str:
        """The database path of child ``key`` (raises InvalidArgument for a bad key)."""
        validate_key(key, path=self.path, field=key)
        return f"{self.path.rstrip('/')}/{key}"

    def encode(self, document: T) -> Any:
        """The JSON value stored for ``document`` (its id is the key, not stored)."""
        path = self.child_path(document.id) if document.id else self.path
        return encode_value(dump_document(document, path=path), path=path)

    def decode(self, key: str, data: Any) -> T:
        """``T`` from a child's JSON (raises ValidationFailed naming the node)."""
        path = self.child_path(key)
        if not isinstance(data, Mapping):
            data = {"value": data}
        return load_document(
            self.model, key, restore_for_model(self.model, data, path=path), path=path
        )

    # -- single children --------------------------------------------------------------------

    async def get(self, key: str) -> T | None:
        """Child ``key`` as ``T``, or None if absent."""
        path = self.child_path(key)
        response = await self.retry.run(
            lambda: self.endpoint.request("GET", path), idempotent=True, path=path
        )
        data = response.json()
        return None if data is None else self.decode(key, data)

    async def get_many(self, keys: Iterable[str]) -> dict[str, T]:
        """The existing children among ``keys``, by key."""
        wanted = list(dict.fromkeys(keys))
        found = await asyncio.gather(*(self.get(key) for key in wanted))
        return {key: value for key, value in zip(wanted, found, strict=True) if value is not None}

    async def all(self) -> list[T]:
        """Every child, in key order."""
        return await self.query().get()

    async def create(self, document: T) -> T:
        """Store a new child; an empty ``id`` gets a push id. Raises AlreadyExists if taken."""
        if not document.id:
            return await self.push(document)
        path = self.child_path(document.id)
        data = self.encode(document)
        current, etag = await self.get_with_etag(document.id)
        if current is not None:
            raise AlreadyExists("the child exists", path=path)
        stored, _, _ = await self._put_if(path, etag, data)
        if not stored:
            raise AlreadyExists("the child exists", path=path)
        return document

    async def push(self, document: T) -> T:
        """Store under a new chronological push id; returns the document with that id."""
        data = encode_value(dump_document(document, path=self.path), path=self.path)
        response = await self.retry.run(
            lambda: self.endpoint.request("POST", self.path, body=data),
            idempotent=False,
            path=self.path,
        )
        return document.model_copy(update={"id": response.json()["name"]})

    async def set(self, document: T, *, merge: bool = False) -> None:
        """Replace the child (``merge=False``) or write only the model's fields into it."""
        path = self.child_path(document.id)
        data = self.encode(document)
        # A merge PATCHes the model's fields (None ones are deleted) and keeps other children.
        method = "PATCH" if merge else "PUT"
        await self.retry.run(
            lambda: self.endpoint.request(method, path, params=_SILENT, body=data),
            idempotent=True,
            path=path,
        )

    async def update(self, key: str, fields: Mapping[str, Any]) -> None:
        """Write some fields of a child; keys are dotted (or slashed) paths, ``None`` deletes,
        an :class:`~firebase_sync.models.Increment` adds on the server (and makes the update
        one that is re-sent only when the request never left)."""
        path = self.child_path(key)
        body: dict[str, Any] = {}
        idempotent = True
        for field, value in fields.items():
            segments = [s for s in field.replace(".", "/").split("/") if s]
            for segment in segments:
                validate_key(segment, path=path, field=field)
            if isinstance(value, Increment):
                body["/".join(segments)] = {".sv": {"increment": value.by}}
                idempotent = False
                continue
            plain = to_plain(value, path=path, field=field)
            body["/".join(segments)] = encode_value(plain, path=path, field=field)
        await self.retry.run(
            lambda: self.endpoint.request("PATCH", path, params=_SILENT, body=body),
            idempotent=idempotent,
            path=path,
        )

    async def delete(self, key: str) -> None:
        """Remove child ``key`` (no error if absent)."""
        path = self.child_path(key)
        await self.retry.run(
            lambda: self.endpoint.request("DELETE", path, params=_SILENT),
            idempotent=True,
            path=path,
        )

    # -- compare-and-set --------------------------------------------------------------------

    async def get_with_etag(self, key: str) -> tuple[T | None, str]:
        """The child and its ETag (for :meth:`set_if_unchanged`)."""
        path = self.child_path(key)
        response = await self.retry.run(
            lambda: self.endpoint.request("GET", path, headers={"X-Firebase-ETag": "true"}),
            idempotent=True,
            path=path,
        )
        data = response.json()
        return (None if data is None else self.decode(key, data)), _etag(response.headers)

    async def set_if_unchanged(
        self, key: str, etag: str, document: T | None
    ) -> tuple[bool, T | None, str]:
        """Write ``document`` (``None`` deletes) only if the child still has ``etag``.

        Returns ``(stored, current value, current etag)``.
        """
        path = self.child_path(key)
        data = None if document is None else self.encode(document.model_copy(update={"id": key}))
        stored, current, new_etag = await self._put_if(path, etag, data)
        value = None if current is None else self.decode(key, current)
        return stored, value, new_etag

    async def _put_if(self, path: str, etag: str, data: Any) -> tuple[bool, Any, str]:
        attempts = 0

        async def put() -> Response:
            nonlocal attempts
            attempts += 1
            return await self.endpoint.request(
                "PUT", path, body=data, headers={"if-match": etag}, ok=(412,)
            )

        # Conditional, so a retry can never overwrite another writer: safe even for a create.
        response = await self.retry.run(put, idempotent=True, path=path)
        current = response.json()
        stored = response.status != 412
        if not stored and attempts > 1 and same_tree(current, data):
            stored = True  # an earlier attempt was applied and its reply was lost
        return stored, current, _etag(response.headers)

    async def transaction(
        self,
        key: str,
        update: Callable[[T | None], T | None | Awaitable[T | None]],
        *,
        max_attempts: int = 25,
    ) -> T | None:
        """Compare-and-set loop: ``update(current)`` -> new value (``None`` deletes).

        Re-runs ``update`` with the fresh value whenever another writer got there first.
        Raises :class:`~firebase_sync.errors.Aborted`-like ``FailedPrecondition`` after
        ``max_attempts`` conflicts.
        """
        current, etag = await self.get_with_etag(key)
        for _ in range(max_attempts):
            result = update(current)
            new = await result if isinstance(result, Awaitable) else result
            stored, current, etag = await self.set_if_unchanged(key, etag, new)
            if stored:
                return new
        raise FailedPrecondition(
            f"transaction gave up after {max_attempts} conflicts", path=self.child_path(key)
        )

    # -- queries and listening ----------------------------------------------------------------

    def query(self) -> RealtimeQuery[T]:
        """A query over all children, to refine with ``order_by_*``, ranges and limits."""
        return RealtimeQuery(self, RtdbQuerySpec())

    def order_by_child(self, path: str) -> RealtimeQuery[T]:
        """Order children by the value at ``path`` inside each child."""
        return self.query().order_by_child(path)

    def order_by_key(self) -> RealtimeQuery[T]:
        """Order children by key."""
        return self.query().order_by_key()

    def order_by_value(self) -> RealtimeQuery[T]:
        """Order children by their value."""
        return self.query().order_by_value()

    def listener(
        self, query: RealtimeQuery[T] | None = None, *, server_filter: bool = False
    ) -> RealtimeListener[T]:
        """A listener of the children (or ``query``); ``server_filter`` also sends the query
        on the stream (see :mod:`firebase_sync.adapters.realtime_listen`)."""
        from .realtime_listen import RealtimeListener

        spec = None if query is None else query.spec
        return RealtimeListener(self, spec, server_filter=server_filter)

    def watch(
        self,
        query: RealtimeQuery[T] | None = None,
        *,
        store: Store[T] | None = None,
        buffer: int = 1024,
        markers: bool = True,
        server_filter: bool = False,
    ) -> ChangeStream[T]:
        """Listen to the children (or a query over them): ``async with repo.watch() as c``."""
        from ..stream import ChangeStream

        listener = self.listener(query, server_filter=server_filter)
        return ChangeStream(listener, store=store, buffer=buffer, markers=markers)


class RealtimeQuery(Generic[T]):
    """An immutable RTDB query; the server filters, and results come back in query order."""

    def __init__(self, repo: RealtimeRepository[T], spec: RtdbQuerySpec) -> None:
        self.repo = repo
        self.spec = spec

    def _with(self, **changes: Any) -> RealtimeQuery[T]:
        return RealtimeQuery(self.repo, replace(self.spec, **changes))

    def order_by_child(self, path: str) -> RealtimeQuery[T]:
        """Order children by the value at ``path`` inside each child."""
        segments = [s for s in path.replace(".", "/").split("/") if s]
        for segment in segments:
            validate_key(segment, path=self.repo.path, field=path)
        if not segments or segments[0].startswith("$"):
            raise InvalidArgument(f"invalid child path {path!r}", path=self.repo.path)
        return self._with(order_by="/".join(segments))

    def order_by_key(self) -> RealtimeQuery[T]:
        """Order children by key."""
        return self._with(order_by="$key")

    def order_by_value(self) -> RealtimeQuery[T]:
        """Order children by their value."""
        return self._with(order_by="$value")

    def start_at(self, value: Any) -> RealtimeQuery[T]:
        """Only children whose ordered value is at least ``value``."""
        return self._with(start_at=_bound(value))

    def end_at(self, value: Any) -> RealtimeQuery[T]:
        """Only children whose ordered value is at most ``value``."""
        return self._with(end_at=_bound(value))

    def equal_to(self, value: Any) -> RealtimeQuery[T]:
        """Only children whose ordered value equals ``value``."""
        return self._with(start_at=_bound(value), end_at=_bound(value))

    def limit_to_first(self, count: int) -> RealtimeQuery[T]:
        """The first ``count`` children in order (InvalidArgument if negative)."""
        if count < 0:
            raise InvalidArgument("limits cannot be negative")
        return self._with(limit_to_first=count, limit_to_last=None)

    def limit_to_last(self, count: int) -> RealtimeQuery[T]:
        """The last ``count`` children in order (InvalidArgument if negative)."""
        if count < 0:
            raise InvalidArgument("limits cannot be negative")
        return self._with(limit_to_last=count, limit_to_first=None)

    async def get(self) -> list[T]:
        """The selected children, in query order."""
        repo = self.repo
        response = await repo.retry.run(
            lambda: repo.endpoint.request("GET", repo.path, params=self.spec.params()),
            idempotent=True,
            path=repo.path,
        )
        data = response.json()
        if isinstance(data, list):
            data = {str(i): v for i, v in enumerate(data) if v is not None}
        if not isinstance(data, Mapping):
            return []
        # The reply is an unordered object; order (and re-check) by Firebase's rules.
        return [repo.decode(key, value) for key, value in evaluate(data, self.spec)]

    def listener(self, *, server_filter: bool = False) -> RealtimeListener[T]:
        """A listener of this query's window, to merge into a ``ChangeStream``."""
        return self.repo.listener(self, server_filter=server_filter)

    def watch(
        self,
        *,
        store: Store[T] | None = None,
        buffer: int = 1024,
        markers: bool = True,
        server_filter: bool = False,
    ) -> ChangeStream[T]:
        """Listen to this query: children entering, changing in and leaving the window."""
        return self.repo.watch(
            self, store=store, buffer=buffer, markers=markers, server_filter=server_filter
        )


def _bound(value: Any) -> Any:
    if value is None or value is Absent:
        raise InvalidArgument("query bounds cannot be None")
    return encode_value(to_plain(value))


def same_tree(stored: Any, sent: Any) -> bool:
    """Whether the database holds ``sent`` as ``stored`` (nulls and empty objects vanish,
    arrays come back as objects or arrays, and ``1.0`` as ``1``)."""
    return bool(_normal(stored) == _normal(sent))


def _normal(value: Any) -> Any:
    if isinstance(value, list):
        value = {str(i): v for i, v in enumerate(value)}
    if isinstance(value, Mapping):
        out = {str(k): _normal(v) for k, v in value.items()}
        out = {k: v for k, v in out.items() if v is not None}
        return out or None
    return value


def _etag(headers: Mapping[str, str]) -> str:
    for name, value in headers.items():
        if name.lower() == "etag":
            return value
    raise ProtocolError("the database sent no ETag")
