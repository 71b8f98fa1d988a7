"""Firestore emulator figures with the official Python client (prints, does not assert).

Run: .venv/bin/python benchmarks/firestore_bench.py [--docs 100000]
The emulator runs in-process on a background event loop; the client talks to it over TCP.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator.firestore import FirestoreEmulator  # noqa: E402

PROJECT = "demo-bench"


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def latency(db: Any, n: int = 200) -> None:
    ref = db.collection("lat").document("x")
    got = threading.Event()
    seen: list[float] = []

    def cb(docs: list[Any], _c: Any, _t: Any) -> None:
        got.set()

    watch = ref.on_snapshot(cb)
    got.wait(5)
    for i in range(n):
        got.clear()
        t0 = time.perf_counter()
        ref.set({"i": i})
        got.wait(5)
        seen.append((time.perf_counter() - t0) * 1000)
    watch.unsubscribe()
    print(f"set() -> on_snapshot callback: p50 {statistics.median(seen):.2f} ms, "
          f"p99 {pct(seen, 0.99):.2f} ms (n={n})")


def write_rates(db: Any) -> None:
    coll = db.collection("w")
    t0 = time.perf_counter()
    for i in range(1000):
        coll.document(f"d{i}").set({"i": i})
    dt = time.perf_counter() - t0
    print(f"single set(): {1000 / dt:,.0f} writes/s")
    t0 = time.perf_counter()
    for b in range(20):
        batch = db.batch()
        for i in range(500):
            batch.set(coll.document(f"b{b}-{i}"), {"i": i})
        batch.commit()
    dt = time.perf_counter() - t0
    print(f"500-write batches: {10_000 / dt:,.0f} writes/s")


def contention(db: Any) -> None:
    from google.cloud import firestore

    ref = db.collection("tx").document("hot")
    ref.set({"n": 0})

    def worker() -> None:
        @firestore.transactional
        def bump(txn: Any) -> None:
            n = ref.get(transaction=txn).to_dict()["n"]
            txn.update(ref, {"n": n + 1})

        bump(db.transaction())

    threads = [threading.Thread(target=worker) for _ in range(16)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    print(f"16 contending transactions: {dt * 1000:.0f} ms total, n={ref.get().to_dict()['n']}")


def load(db: Any, coll_id: str, docs: int) -> None:
    coll = db.collection(coll_id)
    for start in range(0, docs, 500):
        batch = db.batch()
        for i in range(start, min(docs, start + 500)):
            batch.set(coll.document(f"d{i:06}"), {"i": i, "s": "x" * 20})
        batch.commit()


def big_snapshot_wire(host: str, docs: int) -> None:
    """Initial snapshot over a raw Listen stream: the emulator's cost alone."""
    import grpc
    from google.cloud.firestore_v1.types import firestore as fs

    req = fs.ListenRequest.pb()(database=f"projects/{PROJECT}/databases/(default)")
    target = req.add_target
    target.target_id = 1
    target.query.parent = f"projects/{PROJECT}/databases/(default)/documents"
    target.query.structured_query.from_.add().collection_id = "big"
    with grpc.insecure_channel(host) as ch:
        call = ch.stream_stream("/google.firestore.v1.Firestore/Listen",
                                request_serializer=None,
                                response_deserializer=fs.ListenResponse.pb().FromString)
        t0 = time.perf_counter()
        stream = call(iter([req.SerializeToString()]))
        count = 0
        for msg in stream:
            if msg.HasField("document_change"):
                count += 1
            elif msg.HasField("target_change") and msg.target_change.target_change_type == 0:
                break
        dt = time.perf_counter() - t0
        stream.cancel()
    print(f"initial snapshot of {count:,} docs over a raw Listen stream: {dt:.2f} s")


def client_snapshot(db: Any, coll_id: str) -> None:
    got = threading.Event()
    count = [0]

    def cb(snap_docs: list[Any], _c: Any, _t: Any) -> None:
        count[0] = len(snap_docs)
        got.set()

    t0 = time.perf_counter()
    watch = db.collection(coll_id).on_snapshot(cb)
    got.wait(300)
    dt = time.perf_counter() - t0
    watch.unsubscribe()
    print(f"initial snapshot of {count[0]:,} docs with the python client's on_snapshot: "
          f"{dt:.2f} s (its WatchDocTree copies a dict per insert: quadratic)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100_000)
    args = parser.parse_args()
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    emu = FirestoreEmulator(project=PROJECT)
    t0 = time.perf_counter()
    port = asyncio.run_coroutine_threadsafe(emu.start("127.0.0.1", 0), loop).result()
    print(f"emulator start: {(time.perf_counter() - t0) * 1000:.1f} ms")
    os.environ["FIRESTORE_EMULATOR_HOST"] = f"127.0.0.1:{port}"
    from google.cloud import firestore

    db = firestore.Client(project=PROJECT)
    latency(db)
    write_rates(db)
    contention(db)
    load(db, "small", 5_000)
    client_snapshot(db, "small")
    before = rss_mib()
    load(db, "big", args.docs)
    print(f"process RSS {before:.0f} -> {rss_mib():.0f} MiB after loading {args.docs:,} docs "
          "(client and emulator share the process)")
    big_snapshot_wire(f"127.0.0.1:{port}", args.docs)
    db.close()
    asyncio.run_coroutine_threadsafe(emu.stop(), loop).result()


if __name__ == "__main__":
    main()
