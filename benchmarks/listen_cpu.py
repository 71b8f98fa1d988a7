"""A 100,000-document Listen: wall time and emulator CPU per document, ours vs the official.

Run: .venv/bin/python benchmarks/listen_cpu.py [--docs 100000] [--listens 2] [--skip-official]
     [--skip-ours]

Each emulator runs in its own process. ``--docs`` documents (two small fields) are loaded with
raw 500-write commits; then ``--listens`` raw Listen streams in a row each read the whole
collection (request to the global NO_CHANGE), timed, with the emulator's CPU seconds read from
/proc. The floor printed first is grpc itself: a bare ``grpc.aio`` server streaming as many
pre-serialized messages of the same size, which no Listen implementation on grpc.aio can beat.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))

from firestore_big_snapshot import cpu_s, load, raw_listen, separate_emulator  # noqa: E402
from query_index import JAR, official_emulator  # noqa: E402

_FLOOR_SERVER = """
import asyncio, sys, grpc

async def main():
    n, size = int(sys.argv[1]), int(sys.argv[2])
    message = b"x" * size

    async def stream(request, context):
        for _ in range(n):
            yield message

    handler = grpc.method_handlers_generic_handler(
        "floor.Floor", {"Stream": grpc.unary_stream_rpc_method_handler(stream)})
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(port, flush=True)
    await server.wait_for_termination()

asyncio.run(main())
"""


def grpc_floor(messages: int, size: int = 120) -> None:
    server = subprocess.Popen([sys.executable, "-c", _FLOOR_SERVER, str(messages), str(size)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_stream("/floor.Floor/Stream", request_serializer=None,
                                        response_deserializer=None)
            cpu0, t0 = cpu_s(server.pid), time.perf_counter()
            n = sum(1 for _ in call(b""))
            dt, cpu = time.perf_counter() - t0, cpu_s(server.pid) - cpu0
        print(f"  grpc.aio floor: {n:,} bare {size}-byte messages in {dt:.2f} s, server CPU "
              f"{cpu:.2f} s = {cpu / n * 1e6:.1f} us/message")
    finally:
        server.kill()
        server.wait()


def listens(label: str, host: str, pid: int, docs: int, count: int) -> None:
    with grpc.insecure_channel(host) as channel:
        dt = load(channel, "big", docs)
        print(f"  {label}: loaded {docs:,} docs in {dt:.1f} s")
        for i in range(count):
            cpu0 = cpu_s(pid)
            try:
                n, dt = raw_listen(channel, "big")
            except grpc.RpcError as exc:
                print(f"  {label} Listen #{i + 1}: failed with {exc.code()} "
                      f"({exc.details()!r}) after {cpu_s(pid) - cpu0:.2f} s of emulator CPU")
                continue
            cpu = cpu_s(pid) - cpu0
            print(f"  {label} Listen #{i + 1}: {n:,} docs in {dt:.2f} s, emulator CPU {cpu:.2f} s "
                  f"= {cpu / max(n, 1) * 1e6:.1f} us/doc")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--listens", type=int, default=2)
    parser.add_argument("--skip-official", action="store_true")
    parser.add_argument("--skip-ours", action="store_true")
    args = parser.parse_args()
    print(f"Listen on a {args.docs:,}-document collection (raw stream):")
    grpc_floor(args.docs)
    if not args.skip_ours:
        with separate_emulator() as (host, pid):
            listens("ours", host, pid, args.docs, args.listens)
    if args.skip_official:
        return
    if os.path.exists(JAR):
        with official_emulator() as (host, pid):
            listens("official", host, pid, args.docs, args.listens)
    else:
        print("  official emulator: not installed, skipped")


if __name__ == "__main__":
    main()


