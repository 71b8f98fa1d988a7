"""16 contending transactions on one document, each its own client: committed / 16 per run.

Run: .venv/bin/python benchmarks/transactions_contention.py [--runs 10] [--contenders 16]
     [--skip-official]

Every contender is a separate ``firestore.Client`` running ``@firestore.transactional`` (read
the counter, write it + 1; the client's default 5 attempts) on its own thread, all released at
once. Each run prints how many committed and the wall time; the counter must equal the commits.
Our emulator (``emulators:start --only firestore``, own process) and then the official one
(from its JAR, when installed; it holds locks up to 30 s, so expect long runs).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from firestore_big_snapshot import PROJECT, separate_emulator  # noqa: E402
from query_index import JAR, official_emulator  # noqa: E402


def one_run(contenders: int, run: int) -> tuple[int, float, int]:
    """(committed, seconds, final counter) for one round of contenders."""
    from google.cloud import firestore

    clients = [firestore.Client(project=PROJECT) for _ in range(contenders)]
    ref0 = clients[0].collection("contention").document(f"hot{run}")
    ref0.set({"n": 0})
    start = threading.Barrier(contenders + 1)
    committed = [0]
    lock = threading.Lock()

    def worker(db: Any) -> None:
        ref = db.collection("contention").document(f"hot{run}")

        @firestore.transactional
        def bump(txn: Any) -> None:
            n = ref.get(transaction=txn).to_dict()["n"]
            txn.update(ref, {"n": n + 1})

        start.wait()
        try:
            bump(db.transaction())
        except Exception:  # counted as not committed
            return
        with lock:
            committed[0] += 1

    threads = [threading.Thread(target=worker, args=(db,)) for db in clients]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    final = int(ref0.get().to_dict()["n"])
    for db in clients:
        db.close()
    return committed[0], dt, final


def measure(label: str, host: str, runs: int, contenders: int) -> None:
    os.environ["FIRESTORE_EMULATOR_HOST"] = host
    results = [one_run(contenders, i) for i in range(runs)]
    for i, (ok, dt, final) in enumerate(results):
        print(f"  {label} run {i + 1}: {ok}/{contenders} committed in {dt:.2f} s "
              f"(counter {final})")
    total = sum(ok for ok, _, _ in results)
    times = sorted(dt for _, dt, _ in results)
    print(f"  {label}: {total}/{contenders * runs} committed over {runs} runs; wall time "
          f"median {times[len(times) // 2]:.2f} s, max {times[-1]:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--contenders", type=int, default=16)
    parser.add_argument("--skip-official", action="store_true")
    args = parser.parse_args()
    print(f"{args.contenders} contending transactions on one document, {args.runs} runs:")
    with separate_emulator() as (host, _pid):
        measure("ours", host, args.runs, args.contenders)
    if args.skip_official:
        return
    if os.path.exists(JAR):
        with official_emulator() as (host, _pid):
            measure("official", host, args.runs, args.contenders)
    else:
        print("  official emulator: not installed, skipped")


if __name__ == "__main__":
    main()
