"""Export / import of 100,000 documents (Firestore) and children (RTDB): time and peak memory.

The emulators run in a child process. For each database: a generated export of N records is
imported (timed), then exported again (timed) and compared with the input line for line.
"client CPU" is this process's CPU time, "emulator CPU" the emulator process's: on a loaded
machine compare those, the wall time includes everyone else's work.
Memory is the peak of this process's RSS above its level before the step (sampled every
20 ms), and with ``--tracemalloc`` also the peak of Python allocations (slower). Running with
a smaller ``--documents`` shows the peaks do not grow with the data.

    .venv/bin/python benchmarks/transfer_bench.py [--documents 100000] [--page-size 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import emulator_process, rss_bytes  # noqa: E402

from firebase_sync.adapters._rtdb_http import RtdbEndpoint  # noqa: E402
from firebase_sync.transfer import (  # noqa: E402
    FirestoreTransfer,
    RtdbTransfer,
    Source,
    export_directory,
    import_directory,
    read_manifest,
)
from firebase_sync.transfer.files import ExportDirectory  # noqa: E402

MB = 1024 * 1024


def firestore_record(i: int) -> dict[str, Any]:
    stamp = dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=i)
    return {
        "path": f"bench/d{i:07d}",
        "fields": {  # in key order, as an export writes them
            "dims": {"h": 1.5, "w": 2.5},
            "name": f"product {i}",
            "price": i / 100 + 0.5,
            "stock": i,
            "tags": ["a", "b"],
            "updated": {"$timestamp": f"{stamp:%Y-%m-%dT%H:%M:%S}.000000000Z"},
        },
    }


def rtdb_record(i: int) -> dict[str, Any]:
    return {
        "key": f"d{i:07d}",
        "value": {"name": f"product {i}", "price": i / 100 + 0.5, "stock": i, "tags": {"a": True}},
    }


def generate(directory: Path, kind: str, path: str, count: int) -> None:
    make = firestore_record if kind == "firestore" else rtdb_record
    with ExportDirectory(directory) as export:
        writer = export.open(kind, path)  # type: ignore[arg-type]
        for i in range(count):
            writer.write(make(i))
        export.add(kind, path, writer)  # type: ignore[arg-type]


def emulator_cpu_s() -> float:
    """CPU seconds the emulator child process has used (0 when unknown)."""
    pid = os.environ.get("BENCH_EMULATOR_PID")
    if not pid:
        return 0.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measured(label: str, count: int, work: Callable[[], Awaitable[Any]], trace: bool) -> None:
    base = rss_bytes()
    peak = base
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_bytes())
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    if trace:
        tracemalloc.start()
    started, cpu, emulator = time.perf_counter(), time.process_time(), emulator_cpu_s()
    try:
        await work()
    finally:
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        emulator = emulator_cpu_s() - emulator
        done.set()
        await sampler
    traced = ""
    if trace:
        traced = f", Python heap peak {tracemalloc.get_traced_memory()[1] / MB:.1f} MB"
        tracemalloc.stop()
    print(
        f"  {label}: {count:,} records in {elapsed:.2f} s ({count / elapsed:,.0f}/s; "
        f"client CPU {cpu:.2f} s, emulator CPU {emulator:.2f} s), "
        f"RSS peak +{(peak - base) / MB:.1f} MB{traced}",
        flush=True,
    )


async def bench(kind: str, documents: int, page_size: int, trace: bool, root: Path) -> None:
    path = "bench" if kind == "firestore" else "/bench"
    source_dir, out_dir = root / f"{kind}-in", root / f"{kind}-out"
    generate(source_dir, kind, path, documents)
    size = read_manifest(source_dir).entries[0].bytes
    print(f"{kind}: {documents:,} records, {size / MB:.1f} MB of JSON lines", flush=True)
    firestore = rtdb = None
    client: Any = None
    endpoint = None
    if kind == "firestore":
        from google.cloud.firestore import AsyncClient

        client = AsyncClient()
        firestore = FirestoreTransfer(client, page_size=page_size)
    else:
        host = os.environ["FIREBASE_DATABASE_EMULATOR_HOST"]
        endpoint = RtdbEndpoint(f"http://{host}", "bench-default-rtdb", emulator=True)
        rtdb = RtdbTransfer(endpoint, page_size=page_size)
    try:
        await measured(
            "import",
            documents,
            lambda: import_directory(source_dir, firestore=firestore, rtdb=rtdb),
            trace,
        )
        sources = [Source(kind, path)]  # type: ignore[arg-type]
        await measured(
            "export",
            documents,
            lambda: export_directory(out_dir, sources, firestore=firestore, rtdb=rtdb),
            trace,
        )
    finally:
        if client is not None:
            await client._firestore_api.transport.grpc_channel.close()
        if endpoint is not None:
            await endpoint.aclose()
    [entry_in] = read_manifest(source_dir).entries
    [entry_out] = read_manifest(out_dir).entries
    same = (source_dir / entry_in.file).read_bytes() == (out_dir / entry_out.file).read_bytes()
    print(f"  round trip identical: {same} ({entry_out.count:,} records exported)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=10_000)
    parser.add_argument("--only", choices=["firestore", "rtdb"])
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations")
    args = parser.parse_args()
    with emulator_process() as emu, tempfile.TemporaryDirectory(prefix="transfer-bench-") as tmp:
        os.environ["BENCH_EMULATOR_PID"] = str(emu.pid)
        for kind in ("firestore", "rtdb"):
            if args.only in (None, kind):
                work = bench(kind, args.documents, args.page_size, args.tracemalloc, Path(tmp))
                asyncio.run(work)


if __name__ == "__main__":
    main()
