"""Firestore emulator figures with the official Python client (prints, does not assert).

Run: .venv/bin/python benchmarks/firestore_bench.py [--docs 100000] [--skip-cold-start]

- cold start of both emulators: ``emulators:exec --only database,firestore true``, whole
  process (the measurement of ``emulator_cold_start.py``);
- ``set()`` -> ``on_snapshot`` callback latency, p50 / p99;
- writes per second: single ``set()`` and 500-write batches;
- 16 contending transactions on one document: total time (the official emulator: ~33 s);
- initial snapshot of a ``--docs`` query: time, the emulator's CPU time and its RSS.

Everything after the cold start talks to one emulator started with
``firebase-sync emulators:start --only firestore`` in its own process.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from typing import Any

from _common import summary_ms
from emulator_cold_start import measure
from firestore_big_snapshot import PROJECT, separate_emulator, snapshot_figures


def latency(db: Any, n: int = 200) -> None:
    ref = db.collection("lat").document("x")
    got = threading.Event()
    samples: list[float] = []

    def cb(_docs: list[Any], _changes: Any, _read_time: Any) -> None:
        got.set()

    watch = ref.on_snapshot(cb)
    got.wait(5)
    for i in range(n):
        got.clear()
        t0 = time.perf_counter()
        ref.set({"i": i})
        got.wait(5)
        samples.append(time.perf_counter() - t0)
    watch.unsubscribe()
    print(f"set() -> on_snapshot callback: {summary_ms(samples)}")


def write_rates(db: Any) -> None:
    coll = db.collection("w")
    t0 = time.perf_counter()
    for i in range(1000):
        coll.document(f"d{i}").set({"i": i})
    print(f"single set(): {1000 / (time.perf_counter() - t0):,.0f} writes/s (1,000 writes)")
    t0 = time.perf_counter()
    for b in range(20):
        batch = db.batch()
        for i in range(500):
            batch.set(coll.document(f"b{b}-{i}"), {"i": i})
        batch.commit()
    print(f"500-write batches: {10_000 / (time.perf_counter() - t0):,.0f} writes/s "
          "(20 batches)")


def contention(db: Any) -> None:
    from google.cloud import firestore

    ref = db.collection("tx").document("hot")
    ref.set({"n": 0})
    failures: list[BaseException] = []

    def worker() -> None:
        @firestore.transactional
        def bump(txn: Any) -> None:
            n = ref.get(transaction=txn).to_dict()["n"]
            txn.update(ref, {"n": n + 1})

        try:
            bump(db.transaction())
        except Exception as exc:  # counted in the figure, not raised
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    print(f"16 contending transactions on one document: {dt:.2f} s total, "
          f"counter {ref.get().to_dict()['n']}/16, {len(failures)} failed")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--client-docs", type=int, default=10_000,
                        help="size of the query the Python client's on_snapshot reads")
    parser.add_argument("--skip-cold-start", action="store_true")
    args = parser.parse_args()
    if not args.skip_cold_start:
        print(f"emulators:exec --only database,firestore true: "
              f"{summary_ms(measure('database,firestore'))}")
    with separate_emulator() as (host, pid):
        print(f"emulator in its own process at {host} (pid {pid})")
        os.environ["FIRESTORE_EMULATOR_HOST"] = host
        from google.cloud import firestore

        db = firestore.Client(project=PROJECT)
        latency(db)
        write_rates(db)
        contention(db)
        db.close()
        print(f"initial snapshot of a {args.docs:,}-document query:")
        snapshot_figures(host, pid, args.docs, args.client_docs)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
