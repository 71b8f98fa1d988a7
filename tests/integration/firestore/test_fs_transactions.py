"""Transactions: optimistic checks, contention, read-only, rollback."""

from __future__ import annotations

import threading
import time

import pytest
from google.api_core import exceptions as gexc
from google.cloud import firestore


def test_transactional_increment(firestore_client: firestore.Client) -> None:
    ref = firestore_client.collection("t").document("counter")
    ref.set({"n": 0})

    @firestore.transactional
    def bump(txn: firestore.Transaction) -> int:
        n = ref.get(transaction=txn).to_dict()["n"]
        txn.update(ref, {"n": n + 1})
        return int(n + 1)

    assert bump(firestore_client.transaction()) == 1
    assert ref.get().to_dict() == {"n": 1}


# Optimistic: the official emulator locks what a transaction read, so the outside write waits
# for the lock and fails ("Transaction lock timeout") instead.
@pytest.mark.extension
def test_conflicting_commit_is_aborted(firestore_client: firestore.Client) -> None:
    ref = firestore_client.collection("t").document("d")
    ref.set({"n": 0})
    txn = firestore_client.transaction()
    txn._begin()
    ref.get(transaction=txn)
    ref.set({"n": 100})  # someone else writes what the transaction read
    txn.set(ref, {"n": 1})
    with pytest.raises(gexc.Aborted):
        txn._commit()
    txn._rollback()  # rolling back an aborted transaction is accepted
    assert ref.get().to_dict() == {"n": 100}


def test_unrelated_write_does_not_abort(firestore_client: firestore.Client) -> None:
    coll = firestore_client.collection("t")
    coll.document("a").set({"n": 0})
    txn = firestore_client.transaction()
    txn._begin()
    coll.document("a").get(transaction=txn)
    coll.document("b").set({"n": 5})
    txn.set(coll.document("a"), {"n": 1})
    txn._commit()
    assert coll.document("a").get().to_dict() == {"n": 1}


# Optimistic transactions: the official emulator locks (outside writes wait, contenders stall).
@pytest.mark.extension
def test_query_read_detects_phantoms(firestore_client: firestore.Client) -> None:
    coll = firestore_client.collection("t")
    coll.document("a").set({"n": 1})
    txn = firestore_client.transaction()
    txn._begin()
    assert len(list(coll.where("n", ">", 0).stream(transaction=txn))) == 1
    coll.document("b").set({"n": 2})  # a new match appears
    txn.set(coll.document("sum"), {"n": 1})
    with pytest.raises(gexc.Aborted):
        txn._commit()


# Optimistic transactions: the official emulator locks (outside writes wait, contenders stall).
@pytest.mark.extension
def test_contending_transactions_all_succeed(firestore_client: firestore.Client) -> None:
    ref = firestore_client.collection("t").document("hot")
    ref.set({"n": 0})
    errors: list[BaseException] = []

    def worker() -> None:
        @firestore.transactional
        def bump(txn: firestore.Transaction) -> None:
            n = ref.get(transaction=txn).to_dict()["n"]
            txn.update(ref, {"n": n + 1})

        try:
            bump(firestore_client.transaction())
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert ref.get().to_dict() == {"n": 16}
    assert time.monotonic() - start < 10


# Optimistic transactions: on the official emulator contenders stall on its locks.
@pytest.mark.extension
def test_contending_clients_all_commit_every_round(firestore_client: firestore.Client) -> None:
    """16 clients released at once, 5 rounds: none exhausts its 5 attempts (a younger
    transaction must not read between an aborted attempt's retry and its read)."""
    clients = [firestore.Client(project=firestore_client.project) for _ in range(16)]
    try:
        for round_ in range(5):
            ref = firestore_client.collection("t").document(f"round{round_}")
            ref.set({"n": 0})
            barrier = threading.Barrier(16)
            errors: list[BaseException] = []

            def worker(db: firestore.Client, path: str = ref.path,
                       barrier: threading.Barrier = barrier,
                       errors: list[BaseException] = errors) -> None:
                mine = db.document(path)

                @firestore.transactional
                def bump(txn: firestore.Transaction) -> None:
                    n = mine.get(transaction=txn).to_dict()["n"]
                    txn.update(mine, {"n": n + 1})

                barrier.wait(10)
                try:
                    bump(db.transaction())
                except BaseException as exc:  # collected and asserted below
                    errors.append(exc)

            threads = [threading.Thread(target=worker, args=(db,)) for db in clients]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert errors == []
            assert ref.get().to_dict() == {"n": 16}
    finally:
        for db in clients:
            db.close()  # type: ignore[no-untyped-call]


def test_read_only_transaction(firestore_client: firestore.Client) -> None:
    ref = firestore_client.collection("t").document("ro")
    ref.set({"n": 1})

    @firestore.transactional
    def read(txn: firestore.Transaction) -> int:
        return int(ref.get(transaction=txn).to_dict()["n"])

    assert read(firestore_client.transaction(read_only=True)) == 1


def test_exception_in_body_rolls_back(firestore_client: firestore.Client) -> None:
    ref = firestore_client.collection("t").document("rb")

    @firestore.transactional
    def fail(txn: firestore.Transaction) -> None:
        txn.set(ref, {"n": 1})
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail(firestore_client.transaction())
    assert not ref.get().exists


def test_transaction_get_all_and_query(firestore_client: firestore.Client) -> None:
    coll = firestore_client.collection("t")
    coll.document("x").set({"v": 1})
    coll.document("y").set({"v": 2})

    @firestore.transactional
    def body(txn: firestore.Transaction) -> int:
        docs = list(txn.get_all([coll.document("x"), coll.document("y"), coll.document("z")]))
        total = sum(d.to_dict()["v"] for d in docs if d.exists)
        total += len(list(txn.get(coll.where("v", ">", 0))))
        txn.set(coll.document("total"), {"v": total})
        return total

    assert body(firestore_client.transaction()) == 5


async def test_async_transaction(async_firestore_client: firestore.AsyncClient) -> None:
    ref = async_firestore_client.collection("t").document("async")
    await ref.set({"n": 1})

    @firestore.async_transactional
    async def bump(txn: firestore.AsyncTransaction) -> None:
        snap = await ref.get(transaction=txn)
        txn.update(ref, {"n": snap.to_dict()["n"] + 1})

    await bump(async_firestore_client.transaction())
    assert (await ref.get()).to_dict() == {"n": 2}
