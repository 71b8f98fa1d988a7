"""RTDB initial payloads (20 KB, 2 MB): time to the first full state, our stream vs listen().

Ours: a ChangeStream over a RealtimeRepository listener, into a Store, timed from the
stream's start to its Synced marker (every child decoded into a typed model and in the Store).
Theirs: firebase-admin ``Reference.listen()``, timed from the call to its first callback (the
whole subtree as plain dicts). ``get()`` through both (one REST GET) is printed as the floor.
The emulators run in a child process; runs alternate ours / theirs.

Run: .venv/bin/python benchmarks/kit_rtdb_initial_payload.py [--runs 5] [--cap 120]
(2 MB: runs // 2 runs of ours and get(), a single one of listen(), which takes about a minute)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import threading
import time
from typing import Any

import firebase_admin
from _common import emulator_process
from firebase_admin import db

from firebase_sync import ChangeStream, Document, RealtimeRepository, Store, Synced

CHILD_BYTES = 200  # roughly, as JSON


class Product(Document):
    name: str
    price: float
    tags: list[str] = []


def payload(total_bytes: int) -> dict[str, Any]:
    children = {}
    i = 0
    while True:
        children[f"p{i:06}"] = {
            "name": f"product {i} " + "x" * 120,
            "price": i * 0.25,
            "tags": ["new", "sale", f"t{i % 17}"],
        }
        i += 1
        if i % 50 == 0 and len(json.dumps(children)) >= total_bytes:
            return children


async def ours_once(repo: RealtimeRepository[Product], expected: int) -> float:
    store: Store[Product] = Store()
    start = time.perf_counter()
    async with ChangeStream(repo.listener(), store=store) as stream:
        async for event in stream:
            if isinstance(event, Synced):
                break
        elapsed = time.perf_counter() - start
    assert len(store) == expected, (len(store), expected)
    return elapsed


def listen_once(ref: db.Reference, expected: int, cap: float) -> float | None:
    first = threading.Event()
    seen: list[float] = []

    def callback(event: db.Event) -> None:
        if not first.is_set():
            seen.append(time.perf_counter())
            assert isinstance(event.data, dict) and len(event.data) == expected
            first.set()

    start = time.perf_counter()
    registration = ref.listen(callback)
    try:
        if not first.wait(cap):
            return None
        return seen[0] - start
    finally:
        registration.close()


def fmt(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1000:9.1f} ms (min {min(samples) * 1000:.1f})"


async def run(project: str, runs: int, cap: float) -> None:
    app = firebase_admin.initialize_app(
        options={"databaseURL": f"https://{project}-default-rtdb.firebaseio.com"},
        name="kit-rtdb-payload",
    )
    try:
        # listen() takes about a minute for 2 MB: one run of it there is enough.
        sizes = (("20 KB", 20_000, runs, runs), ("2 MB", 2_000_000, max(1, runs // 2), 1))
        for label, size, n_runs, listen_runs in sizes:
            path = f"/payload{size}"
            data = payload(size)
            ref = db.reference(path, app=app)
            ref.set(data)
            wire = len(json.dumps(data, separators=(",", ":")))
            async with RealtimeRepository(Product, path, app=app) as repo:
                await ours_once(repo, len(data))  # warm-up: session, imports
                ours: list[float] = []
                theirs: list[float] = []
                gets: list[float] = []
                our_gets: list[float] = []
                timed_out = False
                for run_index in range(n_runs):
                    ours.append(await ours_once(repo, len(data)))
                    if not timed_out and run_index < listen_runs:
                        # listen() blocks its caller's thread while connecting: off the loop.
                        took = await asyncio.to_thread(listen_once, ref, len(data), cap)
                        if took is None:
                            timed_out = True
                        else:
                            theirs.append(took)
                    start = time.perf_counter()
                    await asyncio.to_thread(ref.get)
                    gets.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    await repo.all()
                    our_gets.append(time.perf_counter() - start)
            print(
                f"{label} initial payload ({len(data):,} children, {wire:,} bytes), "
                f"{n_runs} runs ({len(theirs)} of listen()):"
            )
            print(f"  ours: ChangeStream -> Store synced   {fmt(ours)}")
            if theirs:
                print(f"  SDK:  Reference.listen() 1st event  {fmt(theirs)}")
                ratio = statistics.median(theirs) / statistics.median(ours)
                print(f"  ratio listen()/ours: {ratio:.1f}x (ours is {ratio:.1f} times faster)")
            if timed_out:
                print(
                    f"  SDK:  Reference.listen() timed out after {cap:.0f} s "
                    f"(ours is more than {cap / statistics.median(ours):.0f} times faster)"
                )
            print(f"  floor: SDK Reference.get()           {fmt(gets)}")
            print(f"  floor: our repo.all() (typed)        {fmt(our_gets)}")
            if theirs:
                print(
                    f"  listen()/get() {statistics.median(theirs) / statistics.median(gets):.1f}x,"
                    f" ours/get() {statistics.median(ours) / statistics.median(gets):.1f}x"
                )
    finally:
        firebase_admin.delete_app(app)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs for 20 KB (half for 2 MB)")
    parser.add_argument(
        "--cap", type=float, default=120.0, help="seconds before listen() is given up on"
    )
    args = parser.parse_args()
    with emulator_process(only=["database"]) as emulators:
        asyncio.run(run(emulators.project, args.runs, args.cap))


if __name__ == "__main__":
    main()
