"""Sustained changes per second through one merged stream (Firestore + RTDB) into the Store.

A writer process rewrites ``--docs`` Firestore documents and as many RTDB children
``--rounds`` times, as fast as it can (Firestore: 500-write batches; RTDB: 500-child
multi-path updates; one thread per database). Two consumers take the same load in turn:
  ours  one ChangeStream over a FirestoreRepository and a RealtimeRepository listener, into a
        Store, consumed by an ``async for``;
  SDK   ``on_snapshot`` on the collection plus ``Reference.listen`` on the path (their threads).
For each we print changes delivered per second (first to last change), the writes absorbed per
second (writer start to the state of the last round everywhere), the lag after the writer
finished, and this process's CPU time per change: its inverse is the capacity of the consumer
when the writer, not the consumer, sets the pace. The emulators run in a third process.

Run: .venv/bin/python benchmarks/kit_throughput.py [--docs 1000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from _common import emulator_process

from firebase_sync import (
    Change,
    ChangeStream,
    Document,
    FirestoreRepository,
    RealtimeRepository,
    Store,
    Synced,
)

COLLECTION = "items"
PATH = "/items"
CHUNK = 500


class Item(Document):
    n: int
    name: str
    price: float


def value(j: int, n: int) -> dict[str, Any]:
    return {"n": n, "name": f"item {j:05}", "price": n + j / 4}


def database_url(project: str) -> str:
    return f"https://{project}-default-rtdb.firebaseio.com"


# -- the writer (child process) ---------------------------------------------------------------


def writer(docs: int, rounds: int, first_round: int) -> None:
    """Write rounds ``first_round``.. of both databases; print start and end per database."""
    import firebase_admin
    from firebase_admin import db
    from google.cloud import firestore

    project = os.environ["GCLOUD_PROJECT"]
    app = firebase_admin.initialize_app(options={"databaseURL": database_url(project)})
    client = firestore.Client(project=project)
    coll = client.collection(COLLECTION)
    ref = db.reference(PATH, app=app)

    def write_firestore() -> tuple[float, float]:
        start = time.monotonic()
        for n in range(first_round, first_round + rounds):
            for lo in range(0, docs, CHUNK):
                batch = client.batch()
                for j in range(lo, min(docs, lo + CHUNK)):
                    batch.set(coll.document(f"d{j:05}"), value(j, n))
                batch.commit()
        return start, time.monotonic()

    def write_rtdb() -> tuple[float, float]:
        start = time.monotonic()
        for n in range(first_round, first_round + rounds):
            for lo in range(0, docs, CHUNK):
                ref.update({f"d{j:05}": value(j, n) for j in range(lo, min(docs, lo + CHUNK))})
        return start, time.monotonic()

    with ThreadPoolExecutor(2) as pool:
        fs, rt = pool.submit(write_firestore), pool.submit(write_rtdb)
        print(json.dumps({"firestore": fs.result(), "rtdb": rt.result()}), flush=True)
    client.close()  # type: ignore[no-untyped-call]
    firebase_admin.delete_app(app)


def start_writer(docs: int, rounds: int, first_round: int) -> subprocess.Popen[str]:
    args = ["--docs", str(docs), "--rounds", str(rounds), "--first-round", str(first_round)]
    return subprocess.Popen(
        [sys.executable, __file__, *args, "--writer"], stdout=subprocess.PIPE, text=True
    )


def writer_times(child: subprocess.Popen[str]) -> dict[str, tuple[float, float]]:
    out, _ = child.communicate(timeout=600)
    return {k: (float(v[0]), float(v[1])) for k, v in json.loads(out).items()}


# -- measuring ---------------------------------------------------------------------------------


@dataclass
class Tally:
    """What a consumer saw of one load: changes, their first and last times, convergence."""

    docs: int
    first_round: int
    last_round: int
    changes: int = 0
    first: float = 0.0
    last: float = 0.0
    converged_at: float = 0.0

    def __post_init__(self) -> None:
        self.done: dict[str, set[str]] = {"firestore": set(), "rtdb": set()}

    def saw(self, database: str, key: str, n: int | None, now: float) -> None:
        if not self.changes:
            self.first = now
        self.changes += 1
        self.last = now
        if n == self.last_round:
            self.done[database].add(key)
            if not self.converged_at and all(len(k) == self.docs for k in self.done.values()):
                self.converged_at = now

    def report(self, label: str, times: dict[str, tuple[float, float]], cpu: float) -> float:
        writes = 2 * self.docs * (self.last_round + 1 - self.first_round)
        began = min(start for start, _ in times.values())
        ended = max(end for _, end in times.values())
        rate = self.changes / (self.last - self.first)
        print(
            f"{label}: {self.changes:,} changes for {writes:,} writes; "
            f"{rate:,.0f} changes/s delivered; "
            f"{writes / (self.converged_at - began):,.0f} writes/s absorbed; "
            f"lag after the writer's end {(self.converged_at - ended) * 1000:.0f} ms; "
            f"CPU {cpu * 1e6 / self.changes:.0f} us/change "
            f"(capacity ~{self.changes / cpu:,.0f} changes/s)"
        )
        return cpu / self.changes


async def ours(docs: int, rounds: int, first_round: int) -> float:
    last = first_round + rounds - 1
    tally = Tally(docs, first_round, last)
    store: Store[Item] = Store()
    async with (
        FirestoreRepository(Item, COLLECTION) as fs_repo,
        RealtimeRepository(Item, PATH) as rt_repo,
    ):
        stream = ChangeStream(fs_repo.listener(), rt_repo.listener(), store=store, buffer=4096)
        async with stream:
            synced = 0
            async for event in stream:
                synced += isinstance(event, Synced)
                if synced == 2:
                    break
            child = start_writer(docs, rounds, first_round)
            cpu = time.process_time()
            async with asyncio.timeout(600):
                async for event in stream:
                    if isinstance(event, Change):
                        after = event.after
                        tally.saw(
                            event.source.database, event.key, after and after.n, time.monotonic()
                        )
                        if tally.converged_at:
                            break
            cpu = time.process_time() - cpu
            times = await asyncio.to_thread(writer_times, child)
        assert all(e.value.n == last for e in store.items()) and len(store) == 2 * docs
    return tally.report("ours (ChangeStream -> Store)     ", times, cpu)


def sdk(docs: int, rounds: int, first_round: int, project: str) -> float:
    import firebase_admin
    from firebase_admin import db
    from google.cloud import firestore

    last = first_round + rounds - 1
    tally = Tally(docs, first_round, last)
    lock = threading.Lock()
    converged = threading.Event()
    ready = {"firestore": threading.Event(), "rtdb": threading.Event()}

    def on_snapshot(snapshot: list[Any], changes: list[Any], read_time: Any) -> None:
        if not ready["firestore"].is_set():
            ready["firestore"].set()
            return
        now = time.monotonic()
        with lock:
            for change in changes:
                data = change.document.to_dict() or {}
                tally.saw("firestore", change.document.id, data.get("n"), now)
        if tally.converged_at:
            converged.set()

    def on_event(event: db.Event) -> None:
        if not ready["rtdb"].is_set():
            ready["rtdb"].set()
            return
        now = time.monotonic()
        data = event.data if isinstance(event.data, dict) else {}
        with lock:
            if event.path == "/":
                for key, child in data.items():
                    tally.saw("rtdb", key, child.get("n") if isinstance(child, dict) else None, now)
            else:  # one child (set) or a field inside it
                tally.saw("rtdb", event.path.strip("/").split("/")[0], data.get("n"), now)
        if tally.converged_at:
            converged.set()

    app = firebase_admin.initialize_app(
        options={"databaseURL": database_url(project)}, name="kit-throughput-sdk"
    )
    client = firestore.Client(project=project)
    watch = client.collection(COLLECTION).on_snapshot(on_snapshot)
    registration = db.reference(PATH, app=app).listen(on_event)
    try:
        for event in ready.values():
            event.wait(60)
        child = start_writer(docs, rounds, first_round)
        cpu = time.process_time()
        if not converged.wait(600):
            raise RuntimeError("the SDK listeners did not converge within 600 s")
        cpu = time.process_time() - cpu
        times = writer_times(child)
    finally:
        watch.unsubscribe()
        registration.close()
        client.close()  # type: ignore[no-untyped-call]
        firebase_admin.delete_app(app)
    return tally.report("SDK (on_snapshot + listen)       ", times, cpu)


def seed(docs: int) -> None:
    """Round -1 of every document and child (so the load is modifications only)."""
    import firebase_admin
    from firebase_admin import db
    from google.cloud import firestore

    project = os.environ["GCLOUD_PROJECT"]
    app = firebase_admin.initialize_app(
        options={"databaseURL": database_url(project)}, name="kit-throughput-seed"
    )
    db.reference(PATH, app=app).set({f"d{j:05}": value(j, -1) for j in range(docs)})
    client = firestore.Client(project=project)
    for lo in range(0, docs, CHUNK):
        batch = client.batch()
        for j in range(lo, min(docs, lo + CHUNK)):
            batch.set(client.collection(COLLECTION).document(f"d{j:05}"), value(j, -1))
        batch.commit()
    client.close()  # type: ignore[no-untyped-call]
    firebase_admin.delete_app(app)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1000, help="documents and children per db")
    parser.add_argument("--rounds", type=int, default=20, help="times each is rewritten")
    parser.add_argument("--first-round", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer:
        writer(args.docs, args.rounds, args.first_round)
        return
    import firebase_admin

    with emulator_process() as emulators:
        seed(args.docs)
        # ours needs a default app for the RealtimeRepository (as a worker would have).
        firebase_admin.initialize_app(options={"databaseURL": database_url(emulators.project)})
        ours_cpu = asyncio.run(ours(args.docs, args.rounds, 0))
        sdk_cpu = sdk(args.docs, args.rounds, args.rounds, emulators.project)
        print(
            f"CPU per change, SDK/ours: {sdk_cpu / ours_cpu:.1f}x "
            "(ours delivers typed before/after values and keeps the Store)"
        )


if __name__ == "__main__":
    main()
