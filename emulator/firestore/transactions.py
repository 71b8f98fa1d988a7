"""Optimistic transactions with age-ordered reads.

A read-write transaction records the version of everything it reads; Commit fails with
ABORTED only if one of those changed. To let contending transactions all finish within the
client's 5 attempts (the client retries without backoff, relying on ``retry_transaction`` to
keep its "spot in line"), a transactional read of a document waits briefly while an *older*
active transaction has read, or is waiting to read, the same document. Older transactions
never wait for younger ones, so there is no deadlock; the wait is bounded, so an abandoned
transaction delays others by at most ``lock_wait`` seconds, never the official emulator's 30.

A transaction that fails its Commit with ABORTED keeps its place (and what it wants to read)
until its retry begins: otherwise younger transactions read in the gap, commit first, and can
abort the same old transaction on every one of its 5 attempts.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from emulator.errors import Code, ServiceError, invalid

from .store import DbKey

#: (kind, key) -> fingerprint re-computed at commit; kind "doc" or "query".
ReadCheck = Callable[[], object]

IDLE_EXPIRY_S = 60.0


@dataclass
class Transaction:
    id: bytes
    db: DbKey
    read_only: bool
    age: int
    reads: dict[str, object] = field(default_factory=dict)
    query_checks: list[tuple[ReadCheck, object]] = field(default_factory=list)
    wanted: set[str] = field(default_factory=set)
    touched: float = field(default_factory=time.monotonic)
    #: when its Commit failed with ABORTED; it then only holds its place for the retry.
    aborted_at: float | None = None


class Transactions:
    """Live transactions by id."""

    def __init__(self, lock_wait: float = 2.0) -> None:
        self.lock_wait = lock_wait
        self._live: dict[bytes, Transaction] = {}
        self._ages: dict[bytes, int] = {}
        self._counter = itertools.count()
        self._changed = asyncio.Event()

    def begin(self, db: DbKey, read_only: bool, retry_of: bytes = b"") -> bytes:
        self._expire()
        tid = os.urandom(16)
        age = self._ages.get(retry_of) if retry_of else None
        wanted: set[str] = set()
        if age is None:
            age = next(self._counter)
        else:
            for held in [t for t in self._live.values() if t.age == age and t.aborted_at]:
                # The retry inherits what its aborted attempt wanted: younger transactions
                # keep waiting for it from now on, not only once it reads again.
                wanted |= held.wanted
                self.end(held.id)
        self._ages[tid] = age
        if len(self._ages) > 100_000:
            self._ages = {k: v for k, v in self._ages.items() if k in self._live}
        self._live[tid] = Transaction(tid, db, read_only, age, wanted=wanted)
        return tid

    def get(self, tid: bytes, db: DbKey) -> Transaction:
        txn = self._live.get(tid)
        if txn is None or txn.aborted_at is not None:
            raise ServiceError(Code.INVALID_ARGUMENT, "transaction is not valid or has expired")
        if txn.db != db:
            raise invalid("transaction belongs to another database")
        txn.touched = time.monotonic()
        return txn

    async def before_read(self, txn: Transaction, names: list[str]) -> None:
        """Wait (bounded) while an older live read-write transaction wants the same docs."""
        if txn.read_only:
            return
        txn.wanted.update(names)
        deadline = time.monotonic() + self.lock_wait
        while self._older_wants(txn, names):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return

    def _older_wants(self, txn: Transaction, names: list[str]) -> bool:
        held_since = time.monotonic() - self.lock_wait
        for other in self._live.values():
            if other is txn or other.read_only or other.age >= txn.age or other.db != txn.db:
                continue
            if other.aborted_at is not None and other.aborted_at < held_since:
                continue
            if not other.wanted.isdisjoint(names):
                return True
        return False

    def record_doc(self, txn: Transaction, name: str, version: object) -> None:
        if not txn.read_only:
            txn.reads.setdefault(name, version)

    def record_query(self, txn: Transaction, check: ReadCheck, seen: object) -> None:
        if not txn.read_only:
            txn.query_checks.append((check, seen))

    def validate(self, txn: Transaction, current_version: Callable[[str], object]) -> None:
        """Raise ABORTED if anything the transaction read has changed since."""
        for name, version in txn.reads.items():
            if current_version(name) != version:
                raise ServiceError(
                    Code.ABORTED,
                    f"Transaction aborted: {name} changed since the transaction read it",
                )
        for check, seen in txn.query_checks:
            if check() != seen:
                raise ServiceError(
                    Code.ABORTED, "Transaction aborted: a query result changed since it was read"
                )

    def hold_for_retry(self, txn: Transaction) -> None:
        """After ABORTED at Commit: keep ``txn``'s place in line until its retry begins."""
        txn.aborted_at = txn.touched = time.monotonic()

    def end(self, tid: bytes) -> None:
        if self._live.pop(tid, None) is not None:
            self._changed.set()

    def _expire(self) -> None:
        now = time.monotonic()
        stale = [t for t, x in self._live.items() if x.touched < now - IDLE_EXPIRY_S or (
            x.aborted_at is not None and x.aborted_at < now - self.lock_wait)]
        for t in stale:
            self.end(t)
