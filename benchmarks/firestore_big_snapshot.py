"""Initial snapshot of a 100,000-document query: time, and the emulator's memory.

Run: .venv/bin/python benchmarks/firestore_big_snapshot.py [--docs 100000] [--in-process]
     [--no-official]

Where the official emulator (java and its JAR) is installed, the same figures are measured on it
in the same run, and both are printed with the ratio (official / ours).

By default the emulator runs as ``firebase-sync emulators:start --only firestore`` in its own
process, so its RSS can be read from /proc/PID/status and the client's work does not share its
CPU time. The documents are loaded with raw Commit requests (500 writes each); then

- a raw Listen stream (request -> the global NO_CHANGE) measures the emulator alone;
- a raw RunQuery stream measures the same query read once;
- the Python client's ``get()`` and ``on_snapshot`` show what an application sees.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
from google.cloud.firestore_v1.types import firestore as fs
from google.cloud.firestore_v1.types import query as q

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROJECT = "demo-bench"
DATABASE = f"projects/{PROJECT}/databases/(default)"
ROOT = f"{DATABASE}/documents"
SERVICE = "/google.firestore.v1.Firestore/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    """Resident set size of process ``pid`` in MiB (from /proc)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used (from /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


@contextmanager
def separate_emulator() -> Iterator[tuple[str, int]]:
    """``firebase-sync emulators:start --only firestore`` on a free port: (host, pid)."""
    cli = str(Path(sys.executable).with_name("firebase-sync"))
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        config = Path(tmp) / "firebase.json"
        config.write_text(
            json.dumps({"emulators": {"firestore": {"port": port}, "hub": {"port": free_port()}}})
        )
        proc = subprocess.Popen(
            [
                cli,
                "emulators:start",
                "--config",
                str(config),
                "--only",
                "firestore",
                "--project",
                PROJECT,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_port(port)
            yield f"127.0.0.1:{port}", proc.pid
        finally:
            proc.terminate()
            proc.wait(30)


@contextmanager
def official_emulator() -> Iterator[tuple[str, int]]:
    """The official Cloud Firestore emulator (the JVM) on a free port: (host, pid)."""
    from tools.official_firestore import OfficialFirestore

    with OfficialFirestore() as official:
        yield official.host, official.pid


def official_available() -> str | None:
    """None when the official emulator can run here, else why not."""
    from tools.official_firestore import unavailable_reason

    return unavailable_reason()


def compare(rows: list[tuple[str, float, float, str]]) -> None:
    """Print (label, ours, official, unit) rows with the ratio official / ours."""
    print("  ours vs the official emulator (ratio = official / ours):")
    for label, ours, official, unit in rows:
        ratio = official / ours if ours else float("nan")
        print(
            f"    {label}: ours {ours:,.2f} {unit}, official {official:,.2f} {unit}, "
            f"ratio {ratio:.2f}"
        )


@contextmanager
def in_process_emulator() -> Iterator[tuple[str, int]]:
    """The emulator on a background event loop of this process: (host, pid)."""
    from firebase_sync_emulator.firestore import FirestoreEmulator

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    emu = FirestoreEmulator(project=PROJECT)
    port = asyncio.run_coroutine_threadsafe(emu.start("127.0.0.1", 0), loop).result()
    try:
        yield f"127.0.0.1:{port}", os.getpid()
    finally:
        asyncio.run_coroutine_threadsafe(emu.stop(), loop).result()
        loop.call_soon_threadsafe(loop.stop)


def load(channel: grpc.Channel, coll: str, docs: int) -> float:
    """Create ``docs`` documents with raw 500-write commits; returns seconds taken."""
    commit = channel.unary_unary(
        SERVICE + "Commit", request_serializer=None, response_deserializer=None
    )
    t0 = time.perf_counter()
    for start in range(0, docs, 500):
        req = fs.CommitRequest.pb()(database=DATABASE)
        for i in range(start, min(docs, start + 500)):
            wr = req.writes.add()
            wr.update.name = f"{ROOT}/{coll}/d{i:06}"
            wr.update.fields["i"].integer_value = i
            wr.update.fields["s"].string_value = "x" * 20
        commit(req.SerializeToString())
    return time.perf_counter() - t0


def structured_query(coll: str) -> Any:
    sq = q.StructuredQuery.pb()()
    sq.from_.add().collection_id = coll
    return sq


def raw_listen(channel: grpc.Channel, coll: str) -> tuple[int, float]:
    """Open a Listen stream on ``coll``; (documents, seconds) until the snapshot is complete."""
    req = fs.ListenRequest.pb()(database=DATABASE)
    req.add_target.target_id = 1
    req.add_target.query.parent = ROOT
    req.add_target.query.structured_query.CopyFrom(structured_query(coll))
    listen = channel.stream_stream(
        SERVICE + "Listen",
        request_serializer=None,
        response_deserializer=fs.ListenResponse.pb().FromString,
    )
    done = threading.Event()

    def requests() -> Iterator[bytes]:
        yield req.SerializeToString()
        done.wait()  # a half-close ends the stream on the official emulator

    t0 = time.perf_counter()
    stream = listen(requests(), metadata=[("google-cloud-resource-prefix", DATABASE)])
    count = 0
    try:
        for msg in stream:
            if msg.HasField("document_change"):
                count += 1
            elif msg.HasField("target_change") and msg.target_change.target_change_type == 0:
                break
        dt = time.perf_counter() - t0
    finally:
        done.set()
        stream.cancel()
    return count, dt


def raw_run_query(channel: grpc.Channel, coll: str) -> tuple[int, float]:
    req = fs.RunQueryRequest.pb()(parent=ROOT)
    req.structured_query.CopyFrom(structured_query(coll))
    run = channel.unary_stream(
        SERVICE + "RunQuery",
        request_serializer=None,
        response_deserializer=fs.RunQueryResponse.pb().FromString,
    )
    t0 = time.perf_counter()
    count = sum(1 for msg in run(req.SerializeToString()) if msg.HasField("document"))
    return count, time.perf_counter() - t0


def client_get(host: str, coll: str) -> tuple[int, float]:
    from google.cloud import firestore

    os.environ["FIRESTORE_EMULATOR_HOST"] = host
    db = firestore.Client(project=PROJECT)
    t0 = time.perf_counter()
    n = len(db.collection(coll).get())
    dt = time.perf_counter() - t0
    db.close()
    return n, dt


def client_on_snapshot(host: str, coll: str) -> tuple[int, float]:
    from google.cloud import firestore

    os.environ["FIRESTORE_EMULATOR_HOST"] = host
    db = firestore.Client(project=PROJECT)
    got = threading.Event()
    count = [0]

    def cb(docs: list[Any], _changes: Any, _read_time: Any) -> None:
        count[0] = len(docs)
        got.set()

    t0 = time.perf_counter()
    watch = db.collection(coll).on_snapshot(cb)
    got.wait(600)
    dt = time.perf_counter() - t0
    watch.unsubscribe()
    db.close()
    return count[0], dt


def report(label: str, pid: int, run: Callable[[], tuple[int, float]]) -> float:
    """Print docs, wall time and the CPU time the emulator process spent meanwhile; return
    the wall time."""
    cpu0, own0 = cpu_s(pid), time.process_time()
    n, dt = run()
    cpu = cpu_s(pid) - cpu0
    client = "" if pid == os.getpid() else f", client CPU {time.process_time() - own0:.2f} s"
    print(
        f"  {label}: {n:,} docs in {dt:.2f} s ({n / dt:,.0f} docs/s; "
        f"emulator CPU {cpu:.2f} s{client})"
    )
    return dt


def snapshot_figures(host: str, pid: int, docs: int, client_docs: int) -> dict[str, float]:
    """Load ``docs`` documents, then time reading them back every way; print RSS. Returns
    the figures (seconds, MiB) by label."""
    idle = rss_mib(pid)
    figures: dict[str, float] = {}
    with grpc.insecure_channel(host) as channel:
        figures["load (500-write commits), s"] = dt = load(channel, "big", docs)
        print(f"  loading {docs:,} docs (500-write commits): {dt:.2f} s")
        loaded = rss_mib(pid)
        figures["Listen initial snapshot, s"] = report(
            "Listen initial snapshot (raw stream)", pid, lambda: raw_listen(channel, "big")
        )
        after_listen = rss_mib(pid)
        figures["RunQuery stream, s"] = report(
            "RunQuery stream (raw)", pid, lambda: raw_run_query(channel, "big")
        )
        load(channel, "small", client_docs)
    figures["python client get(), s"] = report(
        "python client get()", pid, lambda: client_get(host, "big")
    )
    figures[f"python client on_snapshot ({client_docs:,} docs), s"] = report(
        "python client on_snapshot", pid, lambda: client_on_snapshot(host, "small")
    )
    end = rss_mib(pid)
    print(
        f"  emulator RSS: idle {idle:.0f} MiB, after load {loaded:.0f} MiB, "
        f"after the Listen snapshot {after_listen:.0f} MiB, end {end:.0f} MiB"
    )
    figures["emulator RSS after the Listen snapshot, MiB"] = after_listen
    figures["emulator RSS at the end, MiB"] = end
    return figures


def compare_figures(ours: dict[str, float], official: dict[str, float]) -> None:
    compare(
        [
            (label.rsplit(", ", 1)[0], ours[label], official[label], label.rsplit(", ", 1)[1])
            for label in ours
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument(
        "--in-process", action="store_true", help="run the emulator on a thread of this process"
    )
    parser.add_argument(
        "--client-docs",
        type=int,
        default=10_000,
        help="size of the query the Python client's on_snapshot reads",
    )
    parser.add_argument(
        "--no-official", action="store_true", help="skip the official emulator's baseline"
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    emulator = in_process_emulator if args.in_process else separate_emulator
    where = "in this process" if args.in_process else "in its own process"
    with emulator() as (host, pid):
        print(f"emulator {where} at {host} (pid {pid})")
        ours = snapshot_figures(host, pid, args.docs, args.client_docs)
    reason = "--no-official" if args.no_official else official_available()
    if reason:
        print(f"official emulator: not measured ({reason})")
        return
    with official_emulator() as (host, pid):
        print(f"official emulator (JVM) at {host} (pid {pid})")
        official = snapshot_figures(host, pid, args.docs, args.client_docs)
    compare_figures(ours, official)


if __name__ == "__main__":
    main()
