"""``FirestoreRepository[T]``: typed, async CRUD, queries, batches and transactions.

Built on ``google.cloud.firestore.AsyncClient`` (passed in, made from a firebase-admin app, or
made from the environment: ``FIRESTORE_EMULATOR_HOST`` selects the emulator). Every call goes
through the repository's :class:`~firebase_sync.retry.RetryPolicy` (the client library's own
retry is switched off, so there is one) and each attempt runs under ``deadlines.request``;
batches holding a create are not idempotent and are re-sent only when the request never left;
``create`` alone is conditional on the server and reads a lost reply back. Foreign
exceptions come out as :mod:`firebase_sync.errors`, translated by
:mod:`firebase_sync.adapters._firestore_errors`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import string
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from google.api_core import exceptions as gexc
from google.cloud.firestore_v1 import Increment as ClientIncrement
from google.cloud.firestore_v1 import async_transaction
from google.cloud.firestore_v1.async_client import AsyncClient
from google.cloud.firestore_v1.async_document import AsyncDocumentReference
from google.cloud.firestore_v1.async_transaction import AsyncTransaction
from google.cloud.firestore_v1.base_document import DocumentSnapshot

from .._wire.documents import dump_document, load_document, to_plain
from .._wire.firestore_values import from_client, is_transform, to_client
from ..change import Source
from ..errors import Aborted, AlreadyExists, InvalidArgument, TransportTimeout
from ..models import Document, Increment
from ..query import Filter, Op
from ..retry import DEADLINES, LISTENER_RECONNECT, Deadlines, RetryPolicy
from . import _compat
from ._firestore_errors import translate
from .firestore_query import FirestoreQuery, QuerySpec

if TYPE_CHECKING:
    import firebase_admin

    from ..store import Store
    from ..stream import ChangeStream
    from .firestore_listen import FirestoreListener

__all__ = [
    "FirestoreBatch",
    "FirestoreQuery",
    "FirestoreRepository",
    "FirestoreTransaction",
    "auto_id",
]

T = TypeVar("T", bound=Document)
R = TypeVar("R")
_AUTO_ID_ALPHABET = string.ascii_letters + string.digits


def auto_id() -> str:
    """A 20-character random document id, like the SDKs make."""
    return "".join(secrets.choice(_AUTO_ID_ALPHABET) for _ in range(20))


class FirestoreRepository(Generic[T]):
    """Documents of one collection (or, with ``group=True``, one collection group) as ``T``.

    ``retry`` governs calls; ``reconnect`` how listeners reconnect; ``deadlines`` how long
    each network step may take (:class:`~firebase_sync.retry.Deadlines`).

    Keys are document ids; in a collection group they are paths relative to the database
    root (``"shops/s1/products/p1"``), since ids alone may repeat.
    """

    def __init__(
        self,
        model: type[T],
        collection: str,
        *,
        client: AsyncClient | None = None,
        app: firebase_admin.App | None = None,
        database: str | None = None,
        group: bool = False,
        retry: RetryPolicy | None = None,
        reconnect: RetryPolicy | None = None,
        deadlines: Deadlines | None = None,
    ) -> None:
        self._owns_client = client is None
        if client is None:
            client = _client_for(app, database)
        self.model = model
        self.collection = collection.strip("/")
        self.group = group
        self.client = client
        self.retry = retry or RetryPolicy()
        self.reconnect = reconnect or LISTENER_RECONNECT
        self.deadlines = deadlines or DEADLINES
        # grpc's own reconnect backoff (up to 120 s) would outlast ours after an outage.
        _compat.open_channel(client, self.reconnect.maximum, self.deadlines.connect)
        kind = "group:" if group else ""
        self.source = Source("firestore", f"{kind}{self.collection}")

    async def __aenter__(self) -> FirestoreRepository[T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client's channel if the repository made the client (idempotent)."""
        if self._owns_client:
            self._owns_client = False
            await _compat.close_channel(self.client)

    async def call(
        self, fn: Callable[[], Awaitable[R]], *, idempotent: bool, path: str | None = None
    ) -> R:
        """``fn()`` under the retry policy, each attempt within ``deadlines.request``."""
        return await self.retry.run(
            fn,
            idempotent=idempotent,
            path=path,
            timeout=self.deadlines.request,
            translate=translate,
        )

    @property
    def _rpc(self) -> dict[str, Any]:
        """Keyword arguments for client calls: no client-side retry, our deadline."""
        return {"retry": None, "timeout": self.deadlines.request}

    # -- keys and codecs ----------------------------------------------------------------------

    @property
    def database_name(self) -> str:
        """``projects/P/databases/D``."""
        return _compat.database_name(self.client)

    @property
    def query_parent(self) -> str:
        """The resource name the repository's queries run under: the database's documents
        root, or the document holding the collection."""
        root = f"{self.database_name}/documents"
        parent = "" if self.group else self.collection.rpartition("/")[0]
        return f"{root}/{parent}" if parent else root

    def path_of(self, key: str) -> str:
        """Document path (relative to the database root) for ``key``."""
        return key if self.group else f"{self.collection}/{key}"

    def key_of(self, path: str) -> str:
        """The key for a document path relative to the database root."""
        return path if self.group else path.rsplit("/", 1)[-1]

    def ref(self, key: str) -> AsyncDocumentReference:
        """The SDK reference of document ``key`` (raises InvalidArgument for a bad key)."""
        if not key or (not self.group and "/" in key):
            raise InvalidArgument(f"invalid document key {key!r}", path=self.collection)
        return self.client.document(self.path_of(key))

    def encode(self, document: T) -> dict[str, Any]:
        """The client-ready data for ``document`` (raises ValidationFailed)."""
        path = self.path_of(document.id) if document.id else self.collection
        return to_client(dump_document(document, path=path), self.client)  # type: ignore[no-any-return]

    def decode(self, snapshot: DocumentSnapshot[Any]) -> T:
        """``T`` from a client snapshot (raises ValidationFailed naming the document)."""
        path = snapshot.reference.path
        data = from_client(snapshot.to_dict() or {})
        return load_document(self.model, self.key_of(path), data, path=path)

    def _no_group(self, operation: str) -> None:
        if self.group:
            raise InvalidArgument(f"{operation} needs a collection, not a collection group")

    # -- single documents ---------------------------------------------------------------------

    async def get(self, key: str) -> T | None:
        """The document ``key``, or ``None`` if it does not exist."""
        ref = self.ref(key)
        snapshot = await self.call(lambda: ref.get(**self._rpc), idempotent=True, path=ref.path)
        return self.decode(snapshot) if snapshot.exists else None

    async def get_many(self, keys: Iterable[str]) -> dict[str, T]:
        """The existing documents among ``keys``, by key (one round trip)."""
        refs = [self.ref(key) for key in keys]
        if not refs:
            return {}

        async def fetch() -> list[DocumentSnapshot[Any]]:
            return [s async for s in self.client.get_all(refs, **self._rpc)]

        snapshots = await self.call(fetch, idempotent=True, path=self.collection)
        found = (self.decode(s) for s in snapshots if s.exists)
        return {document.id: document for document in found}

    async def create(self, document: T) -> T:
        """Store a new document; an empty ``id`` gets a random one. Returns it with its id.

        Raises :class:`~firebase_sync.errors.AlreadyExists` if the key is taken.

        A create is conditional on the server (the document must not exist), so it is safely
        re-sent after a lost reply; when the re-sent one finds the document, it is read back,
        and a stored value equal to ``document`` means the first attempt was applied.
        """
        self._no_group("create")
        if not document.id:
            document = document.model_copy(update={"id": auto_id()})
        ref = self.ref(document.id)
        data = self.encode(document)
        attempts = 0

        async def send() -> Any:
            nonlocal attempts
            attempts += 1
            return await ref.create(data, **self._rpc)

        try:
            await self.call(send, idempotent=True, path=ref.path)
        except AlreadyExists:
            if attempts > 1 and await self.get(document.id) == document:
                return document  # our lost first attempt
            raise
        return document

    async def set(self, document: T, *, merge: bool = False) -> None:
        """Write ``document`` whole (``merge=False``) or merge its fields into the stored one."""
        ref = self.ref(document.id)
        data = self.encode(document)
        await self.call(
            lambda: ref.set(data, merge=merge, **self._rpc), idempotent=True, path=ref.path
        )

    async def update(self, key: str, fields: Mapping[str, Any]) -> None:
        """Change some fields of an existing document; keys are dotted field paths.

        Values may be server transforms: :class:`~firebase_sync.models.Increment`, or the
        client library's (``DELETE_FIELD``, ``ArrayUnion``...); an update holding an
        increment is re-sent only when the request never left. Raises
        :class:`~firebase_sync.errors.NotFound` if the document does not exist.
        """
        ref = self.ref(key)
        data = self._encode_fields(fields, ref.path)
        await self.call(
            lambda: ref.update(data, **self._rpc), idempotent=_idempotent(fields), path=ref.path
        )

    async def delete(self, key: str) -> None:
        """Delete ``key`` (nothing happens if it does not exist)."""
        ref = self.ref(key)
        await self.call(lambda: ref.delete(**self._rpc), idempotent=True, path=ref.path)

    def _encode_fields(self, fields: Mapping[str, Any], path: str) -> dict[str, Any]:
        out = {}
        for field, value in fields.items():
            plain = value if is_transform(value) else to_plain(value, path=path, field=field)
            out[field] = to_client(plain, self.client)
        return out

    # -- queries, batches, transactions ------------------------------------------------------

    def query(self) -> FirestoreQuery[T]:
        """A query over the whole collection; refine it with ``where``, ``order_by``..."""
        return FirestoreQuery(self, QuerySpec())

    def where(
        self, field: str | Filter, op: Op | None = None, value: Any = None
    ) -> FirestoreQuery[T]:
        """Shorthand for ``query().where(...)``."""
        return self.query().where(field, op, value)

    async def all(self) -> list[T]:
        """Every document of the collection."""
        return await self.query().get()

    def batch(self) -> FirestoreBatch[T]:
        """An atomic batch of writes, committed when the ``async with`` block ends cleanly."""
        return FirestoreBatch(self)

    async def transaction(
        self, body: Callable[[FirestoreTransaction[T]], Awaitable[R]], *, max_attempts: int = 5
    ) -> R:
        """Run ``body`` in a transaction, re-running it when the commit is ABORTED.

        Reads go through the transaction; writes are buffered and committed together after
        ``body`` returns. Raises :class:`~firebase_sync.errors.Aborted` when every attempt
        conflicted, or whatever ``body`` raises (the transaction is rolled back). A transient
        failure is raised (typed, retryable) and never re-runs ``body`` by itself: the commit
        may have been applied. The whole transaction runs within
        ``deadlines.request * max_attempts`` (then :class:`TransportTimeout`).
        """
        transaction = self.client.transaction(max_attempts=max_attempts)

        @async_transaction.async_transactional
        async def run(tx: AsyncTransaction) -> R:
            return await body(FirestoreTransaction(self, tx))

        limit = self.deadlines.request * max_attempts
        try:
            async with asyncio.timeout(limit) as scope:
                return await run(transaction)
        except ValueError as exc:
            conflict = _compat.transaction_conflict(exc)
            if conflict is not None:
                raise Aborted(str(exc), path=self.collection) from conflict
            raise
        except gexc.GoogleAPIError as exc:
            raise translate(exc, path=self.collection) from exc
        except TimeoutError as exc:
            if scope.expired():
                raise TransportTimeout(
                    f"the transaction did not finish within {limit:g} s", path=self.collection
                ) from exc
            raise

    # -- listening ------------------------------------------------------------------------------

    def listener(self, query: FirestoreQuery[T] | None = None) -> FirestoreListener[T]:
        """A listener for a :class:`~firebase_sync.stream.ChangeStream` (whole collection or
        ``query``)."""
        from .firestore_listen import FirestoreListener

        return FirestoreListener(self, query or self.query())

    def watch(
        self,
        query: FirestoreQuery[T] | None = None,
        *,
        store: Store[T] | None = None,
        buffer: int = 1024,
        markers: bool = True,
    ) -> ChangeStream[T]:
        """Listen to the collection (or ``query``): ``async with repo.watch() as changes``."""
        from ..stream import ChangeStream

        return ChangeStream(self.listener(query), store=store, buffer=buffer, markers=markers)


def _client_for(app: firebase_admin.App | None, database: str | None) -> AsyncClient:
    """The client for ``app`` (or the environment); the emulator needs no credential."""
    options: dict[str, Any] = {"database": database} if database else {}
    if os.environ.get("FIRESTORE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        project = app.project_id if app is not None else None
        anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call]
        return AsyncClient(project=project, credentials=anonymous, **options)
    if app is not None:
        from firebase_admin import firestore_async

        client: AsyncClient = firestore_async.client(app, database_id=database)
        return client
    return AsyncClient(**options)


class _Writes(Generic[T]):
    """The writes a batch and a transaction share: queued on ``writer``, sent together."""

    def __init__(self, repo: FirestoreRepository[T], writer: Any) -> None:
        self.repo = repo
        self._writer = writer
        #: false once a write is not safe to send twice (a create, an increment)
        self._idempotent = True

    def create(self, document: T) -> T:
        """Create ``document`` (an empty ``id`` gets a random one); returns it with its id."""
        if not document.id:
            document = document.model_copy(update={"id": auto_id()})
        self._writer.create(self.repo.ref(document.id), self.repo.encode(document))
        self._idempotent = False
        return document

    def set(self, document: T, *, merge: bool = False) -> None:
        """Write ``document`` whole, or merge its fields into the stored one."""
        self._writer.set(self.repo.ref(document.id), self.repo.encode(document), merge=merge)

    def update(self, key: str, fields: Mapping[str, Any]) -> None:
        """Change some fields of an existing document (dotted paths; transforms allowed)."""
        ref = self.repo.ref(key)
        self._writer.update(ref, self.repo._encode_fields(fields, ref.path))
        self._idempotent = self._idempotent and _idempotent(fields)

    def delete(self, key: str) -> None:
        """Delete ``key``."""
        self._writer.delete(self.repo.ref(key))


class FirestoreBatch(_Writes[T]):
    """Writes committed atomically on leaving ``async with`` (dropped if the block raises)."""

    def __init__(self, repo: FirestoreRepository[T]) -> None:
        super().__init__(repo, repo.client.batch())

    async def commit(self) -> None:
        """Send the writes in one atomic commit (re-sent only when that is safe)."""
        await self.repo.call(
            lambda: self._writer.commit(**self.repo._rpc),
            idempotent=self._idempotent,
            path=self.repo.collection,
        )

    async def __aenter__(self) -> FirestoreBatch[T]:
        return self

    async def __aexit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            await self.commit()


class FirestoreTransaction(_Writes[T]):
    """Reads and buffered writes inside :meth:`FirestoreRepository.transaction`."""

    def __init__(self, repo: FirestoreRepository[T], transaction: AsyncTransaction) -> None:
        super().__init__(repo, transaction)

    async def get(self, key: str) -> T | None:
        """The document ``key`` as the transaction reads it, or ``None``."""
        snapshot = await self.repo.ref(key).get(transaction=self._writer, **self.repo._rpc)
        return self.repo.decode(snapshot) if snapshot.exists else None


def _idempotent(fields: Mapping[str, Any]) -> bool:
    """False when an update holds an increment: applied twice, it counts twice."""
    return not any(isinstance(value, Increment | ClientIncrement) for value in fields.values())
