"""The local cache file: one SQLite database (standard library, WAL mode) per worker.

It holds three things:

* ``entries``: the last server-confirmed value of every entry of every source, as the JSON
  the RTDB codec writes (the same text serves both databases);
* ``sources``: each source's resume state (Firestore resume token and read time; for RTDB the
  children in ``entries`` are the last known tree of the path) and when it last synced;
* ``pending``: the durable queue of writes not yet acknowledged by the server.

The file is recognised by ``PRAGMA application_id`` and versioned by ``PRAGMA user_version``.
Opening anything else raises a :class:`~firebase_sync.offline.errors.CacheError` subclass; the
file is never wiped or rewritten to get past an error.

Queue operations commit with ``synchronous=FULL`` (the WAL is fsync'd before the call
returns); cache refreshes use ``NORMAL`` (still consistent after a crash, and rebuilt from the
server anyway). Calls are short and made on the caller's thread: an enqueue blocks for one disk
flush, which is the durability the caller asked for.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import CacheCorrupted, CacheError, CacheVersionMismatch, ForeignCacheFile

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "LocalCache",
    "PendingWrite",
    "QueueStatistics",
    "ResumeState",
]

#: "fsyc" as a big-endian 32-bit integer: marks the file as a firebase-sync cache.
APPLICATION_ID = 0x66737963
SCHEMA_VERSION = 1
_SQLITE_MAGIC = b"SQLite format 3\x00"

WriteState = Literal["pending", "failed"]

_SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (source, key)
) WITHOUT ROWID;
CREATE TABLE sources (
    source TEXT PRIMARY KEY,
    resume_token BLOB,
    read_time TEXT,
    synced_at REAL NOT NULL
);
CREATE TABLE pending (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    write_id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    op TEXT NOT NULL,
    data TEXT NOT NULL,
    base TEXT,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT
);
CREATE INDEX pending_by_source ON pending (source, state, seq);
"""

_PENDING_COLUMNS = (
    "seq, write_id, source, key, op, data, base, created, attempts, state, last_error"
)


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """One queued write, as stored.

    ``data`` is the operation's JSON (see :mod:`firebase_sync.offline.ops`); ``base`` the
    JSON of the value the writer saw (``None``: unknown), used to detect conflicts.
    """

    seq: int
    write_id: str
    source: str
    key: str
    op: str
    data: Any
    base: Any
    created: float
    attempts: int
    state: WriteState
    last_error: str | None

    def age(self, now: float | None = None) -> float:
        """Seconds since the write was queued."""
        return max(0.0, (time.time() if now is None else now) - self.created)


@dataclass(frozen=True, slots=True)
class ResumeState:
    """Where a source was when it last synced."""

    source: str
    resume_token: bytes | None
    read_time: dt.datetime | None
    synced_at: float


@dataclass(frozen=True, slots=True)
class QueueStatistics:
    """Queue depth (pending writes), failed writes, and the oldest pending write's age."""

    depth: int
    failed: int
    oldest_age: float | None


class LocalCache:
    """An open cache file; ``close()`` it (or use ``with``).

    Raises :class:`CacheCorrupted`, :class:`ForeignCacheFile` or
    :class:`CacheVersionMismatch` when the file cannot be used; ``verify=False`` skips the
    page check (``PRAGMA quick_check``) made at opening.
    """

    def __init__(self, path: str | os.PathLike[str], *, verify: bool = True) -> None:
        self.path = Path(path)
        _check_header(self.path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise CacheCorrupted(f"cannot open the cache: {exc}", path=str(self.path)) from exc
        # One connection, used from the loop thread and (for the CLI) from others.
        self._lock = threading.RLock()
        try:
            with self._guard():
                self._prepare(verify)
        except BaseException:
            self._db.close()
            raise
        self.client_id: str = self._meta("client_id")

    # -- opening ------------------------------------------------------------------------------

    def _prepare(self, verify: bool) -> None:
        db = self._db
        db.execute("PRAGMA busy_timeout = 10000")
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if app_id == 0 and version == 0:
            tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise ForeignCacheFile(
                    "this SQLite file is not a firebase-sync cache", path=str(self.path)
                )
            self._create()
            return self._configure()
        if app_id != APPLICATION_ID:
            raise ForeignCacheFile(
                f"this SQLite file belongs to another application (id {app_id:#x})",
                path=str(self.path),
            )
        if version != SCHEMA_VERSION:
            newer = "a newer" if version > SCHEMA_VERSION else "an older"
            raise CacheVersionMismatch(
                f"cache schema version {version} ({newer} firebase-sync); this one reads "
                f"version {SCHEMA_VERSION}",
                path=str(self.path),
                found=version,
                expected=SCHEMA_VERSION,
            )
        if verify:
            problems = [row[0] for row in db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise CacheCorrupted(
                    f"the cache is damaged: {'; '.join(problems[:3])}", path=str(self.path)
                )
        self._configure()

    def _create(self) -> None:
        self._db.execute("PRAGMA journal_mode = WAL")
        # One script, one transaction: a crash leaves either no schema or the whole of it.
        self._db.executescript(
            "BEGIN IMMEDIATE;"
            + _SCHEMA
            + f"INSERT INTO meta VALUES ('client_id', '{uuid.uuid4().hex}');"
            + f"PRAGMA application_id = {APPLICATION_ID};"
            + f"PRAGMA user_version = {SCHEMA_VERSION};"
            + "COMMIT;"
        )

    def _configure(self) -> None:
        mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise CacheError(f"cannot use WAL mode (got {mode})", path=str(self.path))
        self._db.execute("PRAGMA synchronous = FULL")

    def _meta(self, name: str) -> str:
        with self._guard():
            row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise CacheCorrupted(f"the cache has no {name}", path=str(self.path))
        return str(row[0])

    @contextlib.contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        """Serialise access and turn SQLite's damage reports into :class:`CacheCorrupted`."""
        with self._lock:
            try:
                yield self._db
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                    raise CacheError(f"the cache is busy: {exc}", path=str(self.path)) from exc
                raise CacheCorrupted(f"the cache is damaged: {exc}", path=str(self.path)) from exc

    @contextlib.contextmanager
    def _transaction(self, *, durable: bool) -> Iterator[sqlite3.Connection]:
        with self._guard() as db:
            db.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        """Close the file (idempotent)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> LocalCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- entries and resume state -------------------------------------------------------------

    def entries(self, source: str) -> list[tuple[str, str]]:
        """``(key, JSON)`` of every cached entry of ``source``."""
        with self._guard() as db:
            rows = db.execute("SELECT key, value FROM entries WHERE source = ?", (source,))
            return [(str(key), str(value)) for key, value in rows]

    def entry(self, source: str, key: str) -> str | None:
        """The cached JSON of one entry, or ``None``."""
        with self._guard() as db:
            row = db.execute(
                "SELECT value FROM entries WHERE source = ? AND key = ?", (source, key)
            ).fetchone()
        return None if row is None else str(row[0])

    def save(
        self,
        source: str,
        upserts: Iterable[tuple[str, str]] = (),
        removals: Iterable[str] = (),
        *,
        synced: bool = False,
        resume_token: bytes | None = None,
        read_time: dt.datetime | None = None,
    ) -> None:
        """Record one server snapshot of ``source`` in one transaction.

        ``synced`` records the source as synced (now, with its resume state).
        """
        with self._transaction(durable=False) as db:
            db.executemany(
                "INSERT OR REPLACE INTO entries VALUES (?, ?, ?)",
                ((source, key, value) for key, value in upserts),
            )
            db.executemany(
                "DELETE FROM entries WHERE source = ? AND key = ?",
                ((source, key) for key in removals),
            )
            if synced:
                db.execute(
                    "INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?)",
                    (
                        source,
                        resume_token,
                        None if read_time is None else read_time.isoformat(),
                        time.time(),
                    ),
                )

    def resume_state(self, source: str) -> ResumeState | None:
        """The source's state at its last sync, or ``None`` if it never synced."""
        with self._guard() as db:
            row = db.execute(
                "SELECT resume_token, read_time, synced_at FROM sources WHERE source = ?",
                (source,),
            ).fetchone()
        if row is None:
            return None
        token, read_time, synced_at = row
        when = None if read_time is None else dt.datetime.fromisoformat(read_time)
        return ResumeState(source, None if token is None else bytes(token), when, synced_at)

    # -- the pending-write queue --------------------------------------------------------------

    def enqueue(
        self, source: str, key: str, op: str, data: Any, base: Any, *, write_id: str | None = None
    ) -> PendingWrite:
        """Append a write to the queue; on return it is on disk (fsync'd)."""
        write_id = write_id or uuid.uuid4().hex
        created = time.time()
        payload = json.dumps(data, separators=(",", ":"))
        base_text = None if base is None else json.dumps(base, separators=(",", ":"))
        with self._transaction(durable=True) as db:
            cursor = db.execute(
                "INSERT INTO pending (write_id, source, key, op, data, base, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (write_id, source, key, op, payload, base_text, created),
            )
            seq = cursor.lastrowid
        assert seq is not None
        return PendingWrite(seq, write_id, source, key, op, data, base, created, 0, "pending", None)

    def pending(
        self, source: str | None = None, *, states: Sequence[WriteState] = ("pending",)
    ) -> list[PendingWrite]:
        """Queued writes (of ``source``) in queue order."""
        marks = ",".join("?" for _ in states)
        query = f"SELECT {_PENDING_COLUMNS} FROM pending WHERE state IN ({marks})"
        args: list[Any] = list(states)
        if source is not None:
            query += " AND source = ?"
            args.append(source)
        with self._guard() as db:
            return [_pending_write(row) for row in db.execute(query + " ORDER BY seq", args)]

    def next_pending(self, source: str) -> PendingWrite | None:
        """The oldest pending write of ``source``."""
        with self._guard() as db:
            row = db.execute(
                f"SELECT {_PENDING_COLUMNS} FROM pending WHERE source = ? AND state = 'pending'"
                " ORDER BY seq LIMIT 1",
                (source,),
            ).fetchone()
        return None if row is None else _pending_write(row)

    def complete(self, write_id: str) -> None:
        """The server acknowledged the write: forget it (durably)."""
        with self._transaction(durable=True) as db:
            db.execute("DELETE FROM pending WHERE write_id = ?", (write_id,))

    def record_attempt(self, write_id: str, error: str) -> None:
        """A send failed transiently; the write stays pending."""
        with self._transaction(durable=False) as db:
            db.execute(
                "UPDATE pending SET attempts = attempts + 1, last_error = ? WHERE write_id = ?",
                (error, write_id),
            )

    def fail(self, write_id: str, error: str) -> None:
        """The write failed for good (or conflicted): keep it, marked failed, for a person."""
        with self._transaction(durable=True) as db:
            db.execute(
                "UPDATE pending SET state = 'failed', attempts = attempts + 1, last_error = ?"
                " WHERE write_id = ?",
                (error, write_id),
            )

    def retry(self, write_ids: Iterable[str] | None = None) -> int:
        """Put failed writes (all, or those named) back in the queue; return how many."""
        with self._transaction(durable=True) as db:
            if write_ids is None:
                cursor = db.execute("UPDATE pending SET state = 'pending' WHERE state = 'failed'")
            else:
                cursor = db.executemany(
                    "UPDATE pending SET state = 'pending' WHERE write_id = ?",
                    ((write_id,) for write_id in write_ids),
                )
            return cursor.rowcount

    def drop(self, write_ids: Iterable[str] | None = None, *, failed_only: bool = False) -> int:
        """Remove writes from the queue without sending them; return how many."""
        with self._transaction(durable=True) as db:
            if write_ids is None:
                condition = " WHERE state = 'failed'" if failed_only else ""
                return db.execute("DELETE FROM pending" + condition).rowcount
            return db.executemany(
                "DELETE FROM pending WHERE write_id = ?", ((write_id,) for write_id in write_ids)
            ).rowcount

    def queue_statistics(self, source: str | None = None) -> QueueStatistics:
        """Depth, failed count and oldest pending age (of ``source``, or of the whole queue)."""
        where, args = ("WHERE source = ?", (source,)) if source is not None else ("", ())
        with self._guard() as db:
            depth, failed, oldest = db.execute(
                "SELECT coalesce(sum(state = 'pending'), 0), coalesce(sum(state = 'failed'), 0),"
                f" min(CASE WHEN state = 'pending' THEN created END) FROM pending {where}",
                args,
            ).fetchone()
        age = None if oldest is None else max(0.0, time.time() - oldest)
        return QueueStatistics(int(depth), int(failed), age)


def _check_header(path: Path) -> None:
    try:
        with path.open("rb") as file:
            header = file.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise CacheError(f"cannot read the cache: {exc}", path=str(path)) from exc
    # An empty file is what a crash between create and first write leaves: a new cache.
    if header and header != _SQLITE_MAGIC:
        raise CacheCorrupted("not a SQLite database", path=str(path))


def _pending_write(row: Sequence[Any]) -> PendingWrite:
    seq, write_id, source, key, op, data, base, created, attempts, state, error = row
    return PendingWrite(
        seq,
        write_id,
        source,
        key,
        op,
        json.loads(data),
        None if base is None else json.loads(base),
        created,
        attempts,
        state,
        error,
    )
