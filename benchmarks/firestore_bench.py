"""Firestore emulator figures with the official Python client (prints, does not assert).

Run: .venv/bin/python benchmarks/firestore_bench.py [--docs 100000] [--skip-cold-start]
     [--rounds 2] [--no-official]

Where the official emulator (java and its JAR) is installed, every figure is also measured on
it in the same run (rounds alternate between the two) and printed with the ratio official / ours.

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

from _common import percentile, summary_ms
from emulator_cold_start import measure, ready_times
from firestore_big_snapshot import (
    PROJECT,
    compare,
    compare_figures,
    official_available,
    official_emulator,
    separate_emulator,
    snapshot_figures,
)


def latency(db: Any, n: int = 200) -> list[float]:
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
    print(f"  set() -> on_snapshot callback: {summary_ms(samples)}")
    return samples


def write_rates(db: Any, writes: int = 1000, batches: int = 20) -> tuple[list[float], float, float]:
    """(set() latencies, single set() writes/s, 500-write batch writes/s)."""
    coll = db.collection("w")
    samples = []
    t0 = time.perf_counter()
    for i in range(writes):
        t1 = time.perf_counter()
        coll.document(f"d{i}").set({"i": i})
        samples.append(time.perf_counter() - t1)
    single = writes / (time.perf_counter() - t0)
    print(
        f"  single set(): {single:,.0f} writes/s ({writes:,} writes), latency {summary_ms(samples)}"
    )
    t0 = time.perf_counter()
    for b in range(batches):
        batch = db.batch()
        for i in range(500):
            batch.set(coll.document(f"b{b}-{i}"), {"i": i})
        batch.commit()
    batched = batches * 500 / (time.perf_counter() - t0)
    print(f"  500-write batches: {batched:,.0f} writes/s ({batches} batches)")
    return samples, single, batched


def contention(db: Any) -> float:
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
    print(
        f"  16 contending transactions on one document: {dt:.2f} s total, "
        f"counter {ref.get().to_dict()['n']}/16, {len(failures)} failed"
    )
    return dt


def client_figures(host: str, args: argparse.Namespace) -> dict[str, list[float]]:
    """One round of the client-side figures against the emulator at ``host``."""
    os.environ["FIRESTORE_EMULATOR_HOST"] = host
    from google.cloud import firestore

    db = firestore.Client(project=PROJECT)
    try:
        lat = latency(db, args.samples)
        sets, single, batched = write_rates(db, args.writes, args.batches)
        tx = contention(db)
    finally:
        db.close()
    return {"on_snapshot": lat, "set": sets, "single": [single], "batched": [batched], "tx": [tx]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument(
        "--client-docs",
        type=int,
        default=10_000,
        help="size of the query the Python client's on_snapshot reads",
    )
    parser.add_argument("--skip-cold-start", action="store_true")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per emulator")
    parser.add_argument("--samples", type=int, default=200, help="on_snapshot latency samples")
    parser.add_argument("--writes", type=int, default=1000, help="single set() calls")
    parser.add_argument("--batches", type=int, default=20, help="500-write batches")
    parser.add_argument("--no-official", action="store_true")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    reason = "--no-official" if args.no_official else official_available()
    if reason:
        print(f"official emulator: not measured ({reason})")
    if not args.skip_cold_start:
        print(
            f"emulators:exec --only database,firestore true: "
            f"{summary_ms(measure('database,firestore'))}"
        )
        if not reason:
            ours, official = ready_times(rounds=5)
            print(f"start to ready (GET / answers Ok), alternating: ours {summary_ms(ours)}")
            print(f"  official {summary_ms(official)}")
            compare(
                [
                    (
                        "cold start to ready, p50",
                        percentile(ours, 0.5),
                        percentile(official, 0.5),
                        "s",
                    )
                ]
            )
    from contextlib import ExitStack

    with ExitStack() as stack:
        host, pid = stack.enter_context(separate_emulator())
        print(f"ours in its own process at {host} (pid {pid})")
        targets = {"ours": host}
        if not reason:
            official_host, official_pid = stack.enter_context(official_emulator())
            print(f"official emulator (JVM) at {official_host} (pid {official_pid})")
            targets["official"] = official_host
        got: dict[str, dict[str, list[float]]] = {name: {} for name in targets}
        for round_ in range(args.rounds):
            for name, target in targets.items():
                print(f"round {round_ + 1}, {name}:")
                for key, values in client_figures(target, args).items():
                    got[name].setdefault(key, []).extend(values)
        if "official" in got:
            ours, off = got["ours"], got["official"]
            compare(
                [
                    (
                        "set() -> on_snapshot p50",
                        percentile(ours["on_snapshot"], 0.5) * 1000,
                        percentile(off["on_snapshot"], 0.5) * 1000,
                        "ms",
                    ),
                    (
                        "set() -> on_snapshot p99",
                        percentile(ours["on_snapshot"], 0.99) * 1000,
                        percentile(off["on_snapshot"], 0.99) * 1000,
                        "ms",
                    ),
                    (
                        "set() latency p50",
                        percentile(ours["set"], 0.5) * 1000,
                        percentile(off["set"], 0.5) * 1000,
                        "ms",
                    ),
                    (
                        "set() latency p99",
                        percentile(ours["set"], 0.99) * 1000,
                        percentile(off["set"], 0.99) * 1000,
                        "ms",
                    ),
                    (
                        "single set() writes/s, mean",
                        sum(ours["single"]) / len(ours["single"]),
                        sum(off["single"]) / len(off["single"]),
                        "writes/s",
                    ),
                    (
                        "500-write batches writes/s, mean",
                        sum(ours["batched"]) / len(ours["batched"]),
                        sum(off["batched"]) / len(off["batched"]),
                        "writes/s",
                    ),
                    (
                        "16 contending transactions, mean",
                        sum(ours["tx"]) / len(ours["tx"]),
                        sum(off["tx"]) / len(off["tx"]),
                        "s",
                    ),
                ]
            )
        print(f"initial snapshot of a {args.docs:,}-document query, ours:")
        ours_snap = snapshot_figures(host, pid, args.docs, args.client_docs)
        if "official" in targets:
            print(f"initial snapshot of a {args.docs:,}-document query, official:")
            compare_figures(
                ours_snap,
                snapshot_figures(targets["official"], official_pid, args.docs, args.client_docs),
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
