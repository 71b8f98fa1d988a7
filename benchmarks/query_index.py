"""Filter + order + limit over a big collection: ours vs the official Firestore emulator.

Run: .venv/bin/python benchmarks/query_index.py [--docs 100000] [--big 1000000] [--runs 30]

Each emulator runs in its own process (ours: ``firebase-sync emulators:start --only firestore``;
the official one from its JAR when installed). ``--docs`` documents ``{f1, f2}`` (random
integers) are loaded with raw 500-write commits, then the raw RunQuery
``where(f2 >= X).order_by(f2).limit(100)`` runs ``--runs`` times with random X; we print the
first run (ours builds its index then) and p50 / p99 of the others, and the ratio. ``--big``
repeats the query on ours over that many documents (0 skips it), to show the cost does not grow
with the collection.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
from google.cloud.firestore_v1.types import firestore as fs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import percentile  # noqa: E402
from firestore_big_snapshot import (  # noqa: E402
    DATABASE,
    ROOT,
    SERVICE,
    cpu_s,
    free_port,
    rss_mib,
    separate_emulator,
)

JAR = "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"
RANGE = 1_000_000


@contextmanager
def official_emulator() -> Iterator[tuple[str, int]]:
    """The official emulator from its JAR on a free port: (host, pid)."""
    port = free_port()
    proc = subprocess.Popen(
        ["java", "-cp", JAR, "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
         "start", "--host=127.0.0.1", f"--port={port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r:
                    if r.read().strip() == b"Ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the official emulator did not start")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


def load(channel: grpc.Channel, coll: str, docs: int, seed: int = 1) -> float:
    commit = channel.unary_unary(SERVICE + "Commit", request_serializer=None,
                                 response_deserializer=None)
    rng = random.Random(seed)
    t0 = time.perf_counter()
    for start in range(0, docs, 500):
        req = fs.CommitRequest.pb()(database=DATABASE)
        for i in range(start, min(docs, start + 500)):
            wr = req.writes.add()
            wr.update.name = f"{ROOT}/{coll}/d{i:07}"
            wr.update.fields["f1"].integer_value = rng.randrange(RANGE)
            wr.update.fields["f2"].integer_value = rng.randrange(RANGE)
        commit(req.SerializeToString(), timeout=300)
    return time.perf_counter() - t0


def query_request(coll: str, low: int, limit: int = 100) -> bytes:
    req = fs.RunQueryRequest.pb()(parent=ROOT)
    sq = req.structured_query
    sq.from_.add().collection_id = coll
    ff = sq.where.field_filter
    ff.field.field_path = "f2"
    ff.op = 4  # GREATER_THAN_OR_EQUAL
    ff.value.integer_value = low
    o = sq.order_by.add()
    o.field.field_path = "f2"
    o.direction = 1
    sq.limit.value = limit
    return bytes(req.SerializeToString())


def timed_queries(channel: grpc.Channel, coll: str, runs: int) -> tuple[float, list[float]]:
    """(first run, the others) in seconds; each returns 100 documents."""
    run = channel.unary_stream(SERVICE + "RunQuery", request_serializer=None,
                               response_deserializer=fs.RunQueryResponse.pb().FromString)
    rng = random.Random(7)
    times = []
    for _ in range(runs + 1):
        raw = query_request(coll, rng.randrange(RANGE // 2))
        t0 = time.perf_counter()
        n = sum(1 for m in run(raw, timeout=300) if m.HasField("document"))
        times.append(time.perf_counter() - t0)
        assert n == 100, n
    return times[0], times[1:]


def measure(label: str, host: str, pid: int, docs: int, runs: int) -> float:
    with grpc.insecure_channel(host, options=[("grpc.max_receive_message_length", -1)]
                               ) as channel:
        dt = load(channel, "q", docs)
        print(f"  {label}: loaded {docs:,} docs in {dt:.1f} s, RSS {rss_mib(pid):.0f} MiB")
        cpu0 = cpu_s(pid)
        first, rest = timed_queries(channel, "q", runs)
        cpu = cpu_s(pid) - cpu0
    p50, p99 = percentile(rest, 0.5), percentile(rest, 0.99)
    print(f"  {label}: where(f2>=X).order_by(f2).limit(100) over {docs:,} docs: "
          f"first {first * 1000:.1f} ms, then n={len(rest)} p50 {p50 * 1000:.2f} ms "
          f"p99 {p99 * 1000:.2f} ms (emulator CPU {cpu / (runs + 1) * 1000:.2f} ms/query)")
    return p50


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    ours = theirs = None
    print(f"filter + order + limit 100 over {args.docs:,} documents (raw RunQuery):")
    with separate_emulator() as (host, pid):
        ours = measure("ours", host, pid, args.docs, args.runs)
    if os.path.exists(JAR):
        with official_emulator() as (host, pid):
            theirs = measure("official", host, pid, args.docs, args.runs)
        print(f"  p50 ratio: ours is {theirs / ours:.1f}x faster than the official emulator")
    else:
        print("  official emulator: not installed, skipped")
    if args.big:
        print(f"the same query over {args.big:,} documents, ours only:")
        with separate_emulator() as (host, pid):
            measure("ours", host, pid, args.big, args.runs)


if __name__ == "__main__":
    main()


