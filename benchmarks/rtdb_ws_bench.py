"""The Realtime Database emulator's WebSocket protocol: latency, throughput and fan-out.

The emulator runs in a child process (``_common.emulator_process``). Printed, from one run:

1. write -> listener latency p50 / p99: the npm firebase-admin SDK over WebSocket (a second
   app writes, the first one's ``on('value')`` fires) against the Python firebase-admin SDK
   over REST + SSE (``set()`` then the ``listen()`` callback), with the ratio;
2. writes/s over one WebSocket (firebase-admin for Node, pipelined and awaited one by one; and
   a raw protocol client pipelining, the emulator's own rate) against the Python SDK's REST
   ``set()`` one by one;
3. ``--listeners`` (default 1,000) raw WebSocket connections, each listening to its own path:
   the emulator's RSS growth, the latency of one multi-path update reaching all of them, and of
   one write to a single path while they are all registered.

Usage: ``.venv/bin/python benchmarks/rtdb_ws_bench.py [--samples 300] [--writes 5000]
[--listeners 1000]``. Needs node and ``npm ci --prefix tests/node``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import aiohttp
import firebase_admin
from _common import emulator_process, percentile, summary_ms
from firebase_admin import db

NODE_DIR = Path(__file__).resolve().parents[1] / "tests" / "node"
NS = "demo-bench-default-rtdb"


def node(host: str, *args: str) -> dict[str, object]:
    done = subprocess.run(
        ["node", str(NODE_DIR / "rtdb_bench.mjs"), *args],
        cwd=NODE_DIR,
        env={**os.environ, "RTDB_HOST": host, "RTDB_NS": NS},
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def python_sse_latency(samples: int) -> list[float]:
    app = firebase_admin.initialize_app(
        options={"databaseURL": f"https://{NS}.firebaseio.com"}, name="bench-sse"
    )
    ref = db.reference("/bench/sse", app=app)
    ref.set({"n": -1})
    arrived = threading.Event()
    expected = [-1]

    def callback(event: db.Event) -> None:
        value = event.data if event.path == "/n" else None
        if event.path == "/" and isinstance(event.data, dict):
            value = event.data.get("n")
        if value == expected[0]:
            arrived.set()

    registration = ref.listen(callback)
    out = []
    try:
        for i in range(samples):
            arrived.clear()
            expected[0] = i
            start = time.perf_counter()
            ref.child("n").set(i)
            if not arrived.wait(5):
                raise RuntimeError(f"no callback for write {i}")
            out.append(time.perf_counter() - start)
    finally:
        registration.close()
        firebase_admin.delete_app(app)
    return out


def python_rest_writes(writes: int) -> float:
    app = firebase_admin.initialize_app(
        options={"databaseURL": f"https://{NS}.firebaseio.com"}, name="bench-rest"
    )
    ref = db.reference("/bench/rest", app=app)
    try:
        start = time.perf_counter()
        for i in range(writes):
            ref.child(str(i % 100)).set(i)
        return writes / (time.perf_counter() - start)
    finally:
        firebase_admin.delete_app(app)


async def raw_ws_writes(host: str, writes: int) -> float:
    """Writes/s of the emulator itself: a raw client pipelining ``p`` requests on one socket."""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"http://{host}/.ws?v=5&ns={NS}") as ws:
            await ws.receive_str()
            start = time.perf_counter()
            for i in range(writes):
                body = {"p": f"/bench/raw/{i % 100}", "d": i}
                await ws.send_str(json.dumps({"t": "d", "d": {"r": i, "a": "p", "b": body}}))
            for _ in range(writes):
                await ws.receive_str()
            return writes / (time.perf_counter() - start)


def rss_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


async def fan_out(host: str, pid: int, listeners: int) -> None:
    url = f"http://{host}/.ws?v=5&ns={NS}"
    rss_before = rss_of(pid)
    # No connection pool limit: each WebSocket holds its connection.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sockets = []
        for start in range(0, listeners, 100):
            batch = await asyncio.gather(
                *(session.ws_connect(url) for _ in range(start, min(listeners, start + 100)))
            )
            sockets.extend(batch)
        for i, ws in enumerate(sockets):
            await ws.receive_str()  # handshake
            await ws.send_str(
                json.dumps({"t": "d", "d": {"r": 1, "a": "q", "b": {"p": f"/fan/{i}", "h": ""}}})
            )
        for ws in sockets:
            await ws.receive_str()  # initial data
            await ws.receive_str()  # ok
        rss_after = rss_of(pid)
        per = (rss_after - rss_before) / listeners
        print(
            f"{listeners} WebSocket listeners: emulator RSS +{(rss_after - rss_before) / 2**20:.1f}"
            f" MiB ({per / 1024:.1f} KiB per connection + listen)"
        )

        async def arrival(ws: aiohttp.ClientWebSocketResponse) -> float:
            await ws.receive_str()
            return time.perf_counter()

        fan_samples, one_samples = [], []
        for round_ in range(5):
            waiting = [asyncio.create_task(arrival(ws)) for ws in sockets]
            await asyncio.sleep(0)
            body = {str(i): {"round": round_} for i in range(listeners)}
            start = time.perf_counter()
            async with session.patch(f"http://{host}/fan.json?ns={NS}", json=body) as response:
                assert response.status == 200
            times = await asyncio.gather(*waiting)
            fan_samples.append(max(times) - start)
            target = sockets[round_]
            waiting_one = asyncio.create_task(arrival(target))
            start = time.perf_counter()
            async with session.put(f"http://{host}/fan/{round_}.json?ns={NS}", json=1) as response:
                assert response.status == 200
            one_samples.append(await waiting_one - start)
        print(
            f"one update of {listeners} paths -> last of {listeners} listeners: "
            f"{summary_ms(fan_samples)}"
        )
        print(
            f"one write with {listeners} listeners registered -> its listener: "
            f"{summary_ms(one_samples)}"
        )
        for ws in sockets:
            await ws.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--writes", type=int, default=5000)
    parser.add_argument("--listeners", type=int, default=1000)
    args = parser.parse_args()
    with emulator_process(only=["database"]) as running:
        host = running.database_host
        ws_latency = [float(s) for s in node(host, "latency", str(args.samples))["samples"]]  # type: ignore[attr-defined]
        sse_latency = python_sse_latency(args.samples)
        print(f"Node admin SDK, WebSocket, write -> on('value'): {summary_ms(ws_latency[10:])}")
        print(f"Python admin SDK, REST + SSE, set() -> listen(): {summary_ms(sse_latency[10:])}")
        ratio = percentile(sse_latency[10:], 0.5) / percentile(ws_latency[10:], 0.5)
        print(f"p50 ratio SSE / WebSocket: {ratio:.2f}")
        figures = node(host, "throughput", str(args.writes))
        rest = python_rest_writes(min(args.writes, 2000))
        print(
            f"writes/s over one WebSocket (Node admin): pipelined {figures['pipelined']:.0f}, "
            f"awaited one by one {figures['sequential']:.0f}; Python REST set() one by one "
            f"{rest:.0f} (ratio awaited WS / REST {float(figures['sequential']) / rest:.2f})"  # type: ignore[arg-type]
        )
        raw = asyncio.run(raw_ws_writes(host, args.writes))
        print(f"writes/s over one WebSocket, raw protocol client pipelining: {raw:.0f}")
        asyncio.run(fan_out(host, running.pid, args.listeners))


if __name__ == "__main__":
    main()
