"""The Listen engine: targets per stream, initial snapshots, live changes and resume.

Each stream owns an ``asyncio.Queue`` of outgoing serialized ``ListenResponse`` messages (or an
``End`` marker); the servicer drains it. The store calls ``ListenEngine.on_commit`` synchronously
inside Commit, so listeners are queued before Commit returns.

Per target we keep ``sent``: name -> update_time (µs) of every document the client holds for
it. Every update is a diff against ``sent``, which is why the engine never needs an
ExistenceFilter: the client's view is exactly ``sent`` after each global NO_CHANGE.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.errors import Code, ServiceError, invalid
from emulator.firestore.protos import firestore as _fs
from emulator.firestore.protos import write as _write

from .query import Query, compile_query
from .store import (
    Change,
    Database,
    DbKey,
    Store,
    from_timestamp,
    parse_database,
    parse_resume_token,
    resume_token,
    to_timestamp,
)
from .values import validate_document_name
from .wire import change_document_field, framed_document_change, serialized, target_ids_field

ListenResponse: Any = _fs.ListenResponse.pb()
DocumentDelete: Any = _write.DocumentDelete.pb()
NO_CHANGE, ADD, REMOVE, CURRENT, RESET = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class End:
    """Queued to end a stream with a status code."""

    code: Code | str
    message: str


@dataclass
class Target:
    id: int
    query: Query | None
    names: frozenset[str] | None
    sent: dict[str, int] = field(default_factory=dict)
    #: the packed ``target_ids`` field every DocumentChange for this target carries.
    ids_field: bytes = b""

    def __post_init__(self) -> None:
        self.ids_field = target_ids_field([self.id])


def _us(ts: Any) -> int:
    return int(ts.seconds) * 1_000_000 + int(ts.nanos) // 1000


class ListenStream:
    """One Listen RPC: its targets and its outgoing queue."""

    def __init__(self, engine: ListenEngine) -> None:
        self.engine = engine
        self.queue: asyncio.Queue[bytes | End] = asyncio.Queue()
        self.targets: dict[int, Target] = {}
        self.db_key: DbKey | None = None
        self._ids = itertools.count(1_000_001)
        self.closed = False

    # ------------------------------------------------------------ requests

    def handle(self, req: Any) -> None:
        """Process one ListenRequest. Raises ServiceError for a malformed request."""
        key = parse_database(req.database)
        if self.db_key is None:
            self.db_key = key
            self.engine.attach(self)
        elif key != self.db_key:
            raise invalid("all requests on a Listen stream must name the same database")
        which = req.WhichOneof("target_change")
        if which == "add_target":
            self._add(req.add_target)
        elif which == "remove_target":
            tid = req.remove_target
            if self.targets.pop(tid, None) is not None:
                self._target_change(REMOVE, [tid])
        else:
            raise invalid("ListenRequest needs add_target or remove_target")

    def _add(self, spec: Any) -> None:
        tid = spec.target_id or next(self._ids)
        if tid in self.targets:
            self._target_change(REMOVE, [tid], cause=(Code.INVALID_ARGUMENT,
                                                      f"target id {tid} is already in use"))
            return
        db = self.engine.store.database(self.db_key)  # type: ignore[arg-type]
        try:
            target = self._compile(tid, spec, db)
        except ServiceError as exc:
            self._target_change(REMOVE, [tid], cause=(exc.code, exc.message))
            return
        base: dict[str, int] | None = {}
        changed_since: set[str] = set()
        reset = False
        base_time = None
        if spec.WhichOneof("resume_type") == "resume_token":
            base_time = parse_resume_token(db, spec.resume_token)
            reset = base_time is None
        elif spec.WhichOneof("resume_type") == "read_time":
            base_time = from_timestamp(spec.read_time)
        if base_time is not None:
            overlay = db.overlay_at(base_time)
            base = None if overlay is None else self._evaluate(target, db, base_time)
            if base is None:
                reset, base = True, {}
            else:
                changed_since = {n for n in overlay or () if self._covers(target, n)}
        target.sent = base or {}
        self.targets[tid] = target
        self._target_change(ADD, [tid])
        if reset:
            self._target_change(RESET, [tid])
        now = self._evaluate_docs(target, db)
        self._emit_diff(target, now, db, changed_since)
        at = self.engine.store.clock.tick()
        token = resume_token(db, at)
        self._target_change(CURRENT, [tid], token=token, at=at)
        self._target_change(NO_CHANGE, [], token=token, at=at)
        if spec.once:
            del self.targets[tid]
            self._target_change(REMOVE, [tid])

    def _compile(self, tid: int, spec: Any, db: Database) -> Target:
        kind = spec.WhichOneof("target_type")
        if kind == "query":
            parent = spec.query.parent
            if parent != db.root and not parent.startswith(db.root + "/"):
                raise invalid(f"query parent {parent!r} is not in this database")
            if not spec.query.HasField("structured_query"):
                raise invalid("query target needs a structured_query")
            query = compile_query(parent, spec.query.structured_query)
            if self.engine.authorize_target is not None:
                self.engine.authorize_target(db, query, spec.query.structured_query, None)
            return Target(tid, query, None)
        if kind == "documents":
            for name in spec.documents.documents:
                validate_document_name(name)
                if not name.startswith(db.root + "/"):
                    raise invalid(f"document {name} is not in this database")
            names = frozenset(spec.documents.documents)
            if self.engine.authorize_target is not None:
                self.engine.authorize_target(db, None, None, names)
            return Target(tid, None, names)
        raise invalid("target needs a query or documents")

    # ------------------------------------------------------------ evaluation

    @staticmethod
    def _covers(target: Target, name: str) -> bool:
        if target.names is not None:
            return name in target.names
        assert target.query is not None
        return target.query.in_scope(name)

    def _evaluate_docs(self, target: Target, db: Database, at: int | None = None
                       ) -> dict[str, Any] | None:
        if target.names is not None:
            if at is not None and db.overlay_at(at) is None:
                return None
            out = {}
            for name in target.names:
                doc = db.get_at(name, at)
                if doc is not None:
                    out[name] = doc
            return out
        q = target.query
        assert q is not None
        docs = db.scope_at(at, q.parent, q.collection_id, q.all_descendants)
        if docs is None:
            return None
        if not q.windowed and not q.conjuncts:
            # Membership needs no order: match in place, no sort and no index to build.
            matches = q.matches
            return {d.name: d for d in docs if matches(d)}
        return {d.name: d for d in q.run(docs)}

    def _evaluate(self, target: Target, db: Database, at: int) -> dict[str, int] | None:
        docs = self._evaluate_docs(target, db, at)
        return None if docs is None else {n: _us(d.update_time) for n, d in docs.items()}

    # ------------------------------------------------------------ commits

    def on_commit(self, db: Database, changes: list[Change], at: int) -> None:
        """Queue what ``changes`` (committed at ``at``; -1 = database replaced) mean here."""
        emitted = False
        for target in list(self.targets.values()):
            if at < 0:
                emitted |= self._emit_diff(target, self._evaluate_docs(target, db), db, set())
            elif target.names is not None:
                emitted |= self._docs_target_commit(target, changes)
            else:
                emitted |= self._query_target_commit(target, changes, db)
        if emitted:
            if at < 0:
                at = self.engine.store.clock.tick()
            self._target_change(NO_CHANGE, [], token=resume_token(db, at), at=at)

    def _docs_target_commit(self, target: Target, changes: list[Change]) -> bool:
        emitted = False
        assert target.names is not None
        for name, _before, after in changes:
            if name not in target.names:
                continue
            emitted |= self._one(target, name, after)
        return emitted

    def _query_target_commit(self, target: Target, changes: list[Change], db: Database) -> bool:
        q = target.query
        assert q is not None
        relevant = [c for c in changes if q.in_scope(c[0])]
        if not relevant:
            return False
        if q.windowed:
            return self._emit_diff(target, self._evaluate_docs(target, db), db, set())
        emitted = False
        for name, _before, after in relevant:
            emitted |= self._one(target, name, after if after is not None and q.matches(after)
                                 else None, exists=after is not None)
        return emitted

    def _one(self, target: Target, name: str, doc: Any | None, exists: bool = False) -> bool:
        """Tell the client about one document for one target; False if nothing to say."""
        if doc is not None:
            us = _us(doc.update_time)
            if target.sent.get(name) == us:
                return False
            target.sent[name] = us
            self._doc_change(target, doc)
            return True
        if name in target.sent:
            del target.sent[name]
            self._doc_gone(target.id, name, exists)
            return True
        return False

    def _emit_diff(self, target: Target, now: dict[str, Any] | None, db: Database,
                   extra_gone: set[str]) -> bool:
        if now is None:
            return False
        emitted = False
        for name in (set(target.sent) | extra_gone) - set(now):
            target.sent.pop(name, None)
            self._doc_gone(target.id, name, db.get(name) is not None)
            emitted = True
        for doc in now.values():
            emitted |= self._one(target, doc.name, doc)
        return emitted

    # ------------------------------------------------------------ messages

    def _doc_change(self, target: Target, doc: Any) -> None:
        if target.query is not None and target.query.projection is not None:
            field = change_document_field(serialized(target.query.project(doc)))
        else:
            field = self.engine.document_field(self.db_key, doc)  # type: ignore[arg-type]
        self.queue.put_nowait(framed_document_change(field, target.ids_field))

    def _doc_gone(self, tid: int, name: str, exists: bool) -> None:
        msg = ListenResponse()
        part = msg.document_remove if exists else msg.document_delete
        part.document = name
        part.removed_target_ids.append(tid)
        to_timestamp(self.engine.store.clock.last, part.read_time)
        self.queue.put_nowait(serialized(msg))

    def _target_change(self, kind: int, ids: list[int], *, token: bytes = b"",
                       at: int | None = None, cause: tuple[Code, str] | None = None) -> None:
        msg = ListenResponse()
        tc = msg.target_change
        tc.target_change_type = kind
        tc.target_ids.extend(ids)
        if token:
            tc.resume_token = token
        if at is not None:
            to_timestamp(at, tc.read_time)
        if cause is not None:
            tc.cause.code = _CODE_NUMBERS[cause[0]]
            tc.cause.message = cause[1]
        self.queue.put_nowait(serialized(msg))

    def end(self, code: Code | str, message: str) -> None:
        """Ask the servicer to finish this stream with ``code``."""
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(End(code, message))


_CODE_NUMBERS = {
    Code.INVALID_ARGUMENT: 3, Code.NOT_FOUND: 5, Code.ALREADY_EXISTS: 6,
    Code.PERMISSION_DENIED: 7, Code.RESOURCE_EXHAUSTED: 8, Code.FAILED_PRECONDITION: 9,
    Code.ABORTED: 10, Code.UNIMPLEMENTED: 12, Code.INTERNAL: 13, Code.UNAVAILABLE: 14,
    Code.UNAUTHENTICATED: 16,
}


class ListenEngine:
    """All open Listen streams, fed by the store's commit observer."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._streams: dict[DbKey, set[ListenStream]] = {}
        self._all: set[ListenStream] = set()
        #: rules check for a new target (``FirestoreServicer`` installs it); raises ServiceError.
        self.authorize_target: Callable[[Database, Query | None, Any, frozenset[str] | None],
                                        None] | None = None
        #: serialized documents (framed as ``DocumentChange.document``) by database and name,
        #: with the stored version they were made from: every target and stream reuses them.
        self._serialized: dict[DbKey, dict[str, tuple[Any, bytes]]] = {}
        store.observers.append(self._on_commit)

    def document_field(self, key: DbKey, doc: Any) -> bytes:
        """``doc`` serialized for a DocumentChange, cached while it is the stored version."""
        cache = self._serialized.setdefault(key, {})
        hit = cache.get(doc.name)
        if hit is not None and hit[0] is doc:
            return hit[1]
        field = change_document_field(serialized(doc))
        cache[doc.name] = (doc, field)
        return field

    def open(self) -> ListenStream:
        stream = ListenStream(self)
        self._all.add(stream)
        return stream

    def attach(self, stream: ListenStream) -> None:
        assert stream.db_key is not None
        self._streams.setdefault(stream.db_key, set()).add(stream)

    def close(self, stream: ListenStream) -> None:
        self._all.discard(stream)
        if stream.db_key is not None:
            self._streams.get(stream.db_key, set()).discard(stream)

    def end_all(self, code: Code | str, message: str) -> int:
        """End every open stream (CANCELLED on shutdown, UNAVAILABLE to force a resume)."""
        streams = list(self._all)
        for s in streams:
            s.end(code, message)
        return len(streams)

    @property
    def stream_count(self) -> int:
        return len(self._all)

    def _on_commit(self, key: DbKey, changes: list[Change], at: int) -> None:
        cache = self._serialized.get(key)
        if cache:
            if at < 0:
                cache.clear()
            for name, _before, _after in changes:
                cache.pop(name, None)
        streams = self._streams.get(key)
        if not streams:
            return
        db = self.store.database(key)
        for s in list(streams):
            if not s.closed:
                s.on_commit(db, changes, at)
