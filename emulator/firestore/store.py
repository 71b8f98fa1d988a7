"""Documents per (project, database), the commit clock, and the change log used for resume.

Pure state: no gRPC. Documents are immutable once stored (writes build new messages), so
readers may hold references without copying.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from emulator.errors import invalid

from .indexes import IndexedScope, Indexes
from .values import Document, validate_document_name

DbKey = tuple[str, str]
#: (name, before, after) for every document a commit changed.
Change = tuple[str, Any | None, Any | None]
CommitObserver = Callable[[DbKey, list[Change], int], None]

#: how many changes each database keeps for resuming listeners.
HISTORY_LIMIT = 50_000


def to_timestamp(us: int, ts: Any) -> None:
    """Fill a protobuf Timestamp from integer microseconds."""
    ts.seconds, rem = divmod(us, 1_000_000)
    ts.nanos = rem * 1000


def from_timestamp(ts: Any) -> int:
    return int(ts.seconds) * 1_000_000 + int(ts.nanos) // 1000


def parse_database(name: str) -> DbKey:
    """``projects/p/databases/d[/...]`` -> (p, d)."""
    parts = name.split("/")
    if len(parts) < 4 or parts[0] != "projects" or parts[2] != "databases":
        raise invalid(f"invalid database name {name!r}")
    if not parts[1] or not parts[3]:
        raise invalid(f"invalid database name {name!r}")
    return parts[1], parts[3]


def db_root(key: DbKey) -> str:
    return f"projects/{key[0]}/databases/{key[1]}/documents"


class Clock:
    """Commit timestamps in microseconds: unique and strictly increasing."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def tick(self) -> int:
        with self._lock:
            now = time.time_ns() // 1000
            self._last = max(now, self._last + 1)
            return self._last

    @property
    def last(self) -> int:
        return self._last


@dataclass
class Database:
    """One database: documents indexed by collection path, plus a bounded change log."""

    key: DbKey
    epoch: bytes = field(default_factory=lambda: os.urandom(8))
    docs: dict[str, Any] = field(default_factory=dict)
    collections: dict[str, dict[str, Any]] = field(default_factory=dict)
    log: deque[tuple[int, str, Any | None]] = field(default_factory=deque)
    #: changes after this time are all in ``log``.
    log_floor: int = 0
    indexes: Indexes = field(default_factory=Indexes)

    @property
    def root(self) -> str:
        return db_root(self.key)

    def get(self, name: str) -> Any | None:
        return self.docs.get(name)

    def put(self, name: str, doc: Any | None, at: int) -> None:
        before = self.docs.get(name)
        coll, _, doc_id = name.rpartition("/")
        if doc is None:
            if before is None:
                return
            del self.docs[name]
            siblings = self.collections[coll]
            del siblings[doc_id]
            if not siblings:
                del self.collections[coll]
        else:
            self.docs[name] = doc
            self.collections.setdefault(coll, {})[doc_id] = doc
        self.indexes.on_put(name, before, doc)
        self.log.append((at, name, before))
        while len(self.log) > HISTORY_LIMIT:
            self.log_floor = self.log.popleft()[0]

    def scope(self, parent: str, collection_id: str, all_descendants: bool) -> Iterator[Any]:
        """Documents a query selector can see, in no particular order."""
        if not all_descendants:
            yield from self.collections.get(f"{parent}/{collection_id}", {}).values()
            return
        prefix = parent + "/"
        for coll, members in self.collections.items():
            if not coll.startswith(prefix):
                continue
            if collection_id and coll.rpartition("/")[2] != collection_id:
                continue
            yield from members.values()

    def overlay_at(self, at: int) -> dict[str, Any | None] | None:
        """Documents that differ at time ``at`` from now (name -> doc then, or None);
        None when the log no longer reaches back that far."""
        if at < self.log_floor:
            return None
        overlay: dict[str, Any | None] = {}
        for t, name, before in reversed(self.log):
            if t <= at:
                break
            overlay[name] = before
        return overlay

    def scope_at(
        self, at: int | None, parent: str, collection_id: str, all_descendants: bool
    ) -> Iterable[Any] | None:
        """Like ``scope`` but as of time ``at`` (None = now); None if history is gone."""
        if at is None:
            return IndexedScope(self, parent, collection_id, all_descendants)
        overlay = self.overlay_at(at)
        if overlay is None:
            return None
        if not overlay:
            return IndexedScope(self, parent, collection_id, all_descendants)
        out = [d for d in self.scope(parent, collection_id, all_descendants)
               if d.name not in overlay]
        prefix = parent + "/"
        for name, doc in overlay.items():
            if doc is None or not name.startswith(prefix):
                continue
            coll = name.rpartition("/")[0]
            if not all_descendants:
                if coll != f"{parent}/{collection_id}":
                    continue
            elif collection_id and coll.rpartition("/")[2] != collection_id:
                continue
            out.append(doc)
        return out

    def get_at(self, name: str, at: int | None) -> Any | None:
        if at is None:
            return self.docs.get(name)
        overlay = self.overlay_at(at)
        if overlay is None:
            raise invalid("read_time is older than the emulator's retained history")
        return overlay[name] if name in overlay else self.docs.get(name)

    def child_collections(self, parent: str) -> set[str]:
        """IDs of collections directly under ``parent`` (root or document name)."""
        prefix = parent + "/"
        out = set()
        for coll in self.collections:
            if coll.startswith(prefix):
                out.add(coll[len(prefix):].split("/", 1)[0])
        return out

    def collection_members(self, coll: str) -> set[str]:
        """Document names directly in ``coll``, including "missing" parents of subcollections."""
        prefix = coll + "/"
        names = {f"{coll}/{i}" for i in self.collections.get(coll, {})}
        for other in self.collections:
            if other.startswith(prefix):
                names.add(prefix + other[len(prefix):].split("/", 1)[0])
        return names

    def names_at(self, prefix: str, at: int | None) -> Iterator[str]:
        """Names of the documents below ``prefix`` (a path ending in "/") that existed at time
        ``at`` (None = now), in no particular order. Raises when history is gone."""
        overlay = {} if at is None else self.overlay_at(at)
        if overlay is None:
            raise invalid("read_time is older than the emulator's retained history")
        for coll, members in self.collections.items():
            if (coll + "/").startswith(prefix):
                for doc_id in members:
                    name = f"{coll}/{doc_id}"
                    if name not in overlay:
                        yield name
        for name, before in overlay.items():
            if before is not None and name.startswith(prefix):
                yield name

    def child_collections_at(self, parent: str, at: int | None) -> set[str]:
        """IDs of the collections directly under ``parent`` that held a document (at any
        depth) at time ``at``."""
        if at is None:
            return self.child_collections(parent)
        prefix = parent + "/"
        return {name[len(prefix):].split("/", 1)[0] for name in self.names_at(prefix, at)}

    def collection_members_at(self, coll: str, at: int | None) -> set[str]:
        """``collection_members`` as of time ``at``."""
        if at is None:
            return self.collection_members(coll)
        prefix = coll + "/"
        return {prefix + name[len(prefix):].split("/", 1)[0] for name in self.names_at(prefix, at)}


class Store:
    """All databases, the shared commit clock and the commit observers (listen engine)."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.lock = threading.RLock()
        self._dbs: dict[DbKey, Database] = {}
        self.observers: list[CommitObserver] = []

    def database(self, key: DbKey) -> Database:
        db = self._dbs.get(key)
        if db is None:
            db = self._dbs[key] = Database(key)
        return db

    def databases(self) -> list[Database]:
        return list(self._dbs.values())

    def commit(self, key: DbKey, staged: dict[str, Any | None], at: int) -> list[Change]:
        """Store staged documents (None = delete) at time ``at`` and notify observers."""
        with self.lock:
            db = self.database(key)
            changes: list[Change] = []
            for name, doc in staged.items():
                before = db.get(name)
                if before is None and doc is None:
                    continue
                if before is not None and doc is not None and before.update_time == doc.update_time:
                    continue  # no-op write
                db.put(name, doc, at)
                changes.append((name, before, doc))
        if changes:
            for observer in list(self.observers):
                observer(key, changes, at)
        return changes

    def reset(self, key: DbKey | None = None, collection: str | None = None) -> None:
        """Forget data: everything, one database, or one collection path under it."""
        with self.lock:
            if key is None:
                keys = list(self._dbs)
            else:
                keys = [key] if key in self._dbs else []
            for k in keys:
                db = self._dbs[k]
                if collection:
                    prefix = f"{db.root}/{collection}/"
                    staged: dict[str, Any | None] = {
                        n: None for n in db.docs if n.startswith(prefix)
                    }
                    if staged:
                        self.commit(k, staged, self.clock.tick())
                    continue
                self._dbs[k] = Database(k)
                for observer in list(self.observers):
                    observer(k, [], -1)  # -1: the database was replaced wholesale

    def load(self, key: DbKey, docs: Iterable[Any]) -> None:
        """Replace a database's contents (import); listeners see a reset."""
        with self.lock:
            db = Database(key)
            at = self.clock.tick()
            for doc in docs:
                validate_document_name(doc.name)
                db.docs[doc.name] = doc
                coll, _, doc_id = doc.name.rpartition("/")
                db.collections.setdefault(coll, {})[doc_id] = doc
            db.log_floor = at
            self._dbs[key] = db
        for observer in list(self.observers):
            observer(key, [], -1)


def resume_token(db: Database, at: int) -> bytes:
    """Opaque token: the database epoch plus the read time it stands for."""
    return db.epoch + struct.pack(">q", at)


def parse_resume_token(db: Database, token: bytes) -> int | None:
    """The read time a token stands for, or None when it belongs to another epoch."""
    if len(token) != 16 or token[:8] != db.epoch:
        return None
    (at,) = struct.unpack(">q", token[8:])
    return int(at)


def new_document() -> Any:
    return Document()
