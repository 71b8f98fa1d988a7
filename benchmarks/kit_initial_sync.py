"""Initial sync of N Firestore documents into the Store, against a bare ``on_snapshot``.

Three clients read the same collection's first consistent snapshot, one after the other:
  ours     a ChangeStream over a FirestoreRepository listener into a Store (every document
           decoded into a typed model), timed to the Synced marker, in this process;
  SDK      google-cloud-firestore ``on_snapshot`` on the collection, timed to its first
           callback, in a child process that is killed after ``--cap`` seconds (its watch
           tree copies on insert and is very slow for large snapshots);
  wire     a raw Listen call on a blocking gRPC channel that only counts document changes:
           the emulator's own cost, the floor for both.
The store's memory per document is given two ways: the deep size of what the Store holds
(entries, models, keys), and this process's RSS growth over the sync (which also counts the
listener's views: the raw protobuf documents of its Listen state machine and the decoded
models). The emulator runs in its own process, so it shares no GIL with the clients.

Run: .venv/bin/python benchmarks/kit_initial_sync.py [--docs 100000] [--cap 180]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import threading
import time
import types
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _common import emulator_process, rss_bytes

from firebase_sync import Document, FirestoreRepository, Store, Synced

COLLECTION = "big"
BATCH = 500


class Item(Document):
    i: int
    name: str
    price: float


def load(docs: int, project: str) -> float:
    """Write ``docs`` documents in 500-write batches from 4 threads; returns seconds."""
    from google.cloud import firestore

    client = firestore.Client(project=project)
    coll = client.collection(COLLECTION)

    def commit(start: int) -> None:
        batch = client.batch()
        for i in range(start, min(docs, start + BATCH)):
            batch.set(coll.document(f"d{i:07}"), {"i": i, "name": f"item {i:07}", "price": i / 4})
        batch.commit()

    began = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(commit, range(0, docs, BATCH)))
    client.close()  # type: ignore[no-untyped-call]
    return time.perf_counter() - began


def deep_size(root: object) -> int:
    """Bytes of every object reachable from ``root`` (classes, functions, modules excluded)."""
    skip = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)
    seen: set[int] = set()
    stack = [root]
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


async def ours(docs: int) -> tuple[float, int, int]:
    """Seconds to the Synced marker, RSS growth and the Store's deep size (bytes)."""
    gc.collect()
    rss_before = rss_bytes()
    repo = FirestoreRepository(Item, COLLECTION)
    store: Store[Item] = Store()
    start = time.perf_counter()
    async with repo.watch(store=store) as stream:
        async for event in stream:
            if isinstance(event, Synced):
                break
        elapsed = time.perf_counter() - start
        gc.collect()
        rss_growth = rss_bytes() - rss_before
        assert len(store) == docs, (len(store), docs)
        store_bytes = deep_size(store._entries)  # noqa: SLF001 -- what the store holds, only
    await repo.aclose()
    return elapsed, rss_growth, store_bytes


def sdk_child(docs: int) -> None:
    """(Child process.) Print the seconds from on_snapshot() to its first callback."""
    from google.cloud import firestore

    client = firestore.Client()
    first = threading.Event()
    when: list[float] = []

    def callback(snapshot: list[Any], changes: Any, read_time: Any) -> None:
        if not first.is_set():
            when.append(time.perf_counter())
            assert len(snapshot) == docs, (len(snapshot), docs)
            first.set()

    start = time.perf_counter()
    client.collection(COLLECTION).on_snapshot(callback)
    first.wait()
    print(json.dumps(when[0] - start), flush=True)


def sdk(docs: int, cap: float) -> float | None:
    """Seconds the SDK's on_snapshot takes, or None beyond ``cap`` (the child is killed)."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--docs", str(docs), "--sdk-child"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        out, _ = child.communicate(timeout=cap)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return None
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return float(out.strip().splitlines()[0])


def wire(docs: int, host: str, project: str) -> float:
    """Seconds for a raw Listen call to deliver the snapshot (decode and count, nothing else)."""
    import grpc
    from google.cloud.firestore_v1.types import firestore as fs

    response_pb: Any = fs.ListenResponse.pb()
    request = fs.ListenRequest.pb()(database=f"projects/{project}/databases/(default)")
    request.add_target.target_id = 1
    request.add_target.query.parent = f"projects/{project}/databases/(default)/documents"
    request.add_target.query.structured_query.from_.add().collection_id = COLLECTION
    no_change = fs.TargetChange.pb().NO_CHANGE
    with grpc.insecure_channel(host) as channel:
        listen = channel.stream_stream(
            "/google.firestore.v1.Firestore/Listen",
            request_serializer=None,
            response_deserializer=response_pb.FromString,
        )
        requests_done = threading.Event()

        def requests() -> Any:
            yield request.SerializeToString()
            requests_done.wait()  # keep the request side open, as the clients do

        start = time.perf_counter()
        call = listen(requests())
        count = 0
        for message in call:
            if message.HasField("document_change"):
                count += 1
            elif (
                message.HasField("target_change")
                and message.target_change.target_change_type == no_change
                and not message.target_change.target_ids
                and count
            ):
                break
        elapsed = time.perf_counter() - start
        requests_done.set()
        call.cancel()
    assert count == docs, (count, docs)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--cap", type=float, default=180.0, help="seconds allowed to on_snapshot")
    parser.add_argument("--skip-wire", action="store_true", help="skip the raw Listen floor")
    parser.add_argument("--sdk-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sdk_child:
        sdk_child(args.docs)
        return
    with emulator_process(only=["firestore"]) as emulators:
        took = load(args.docs, emulators.project)
        print(f"loaded {args.docs:,} documents in {took:.1f} s ({args.docs / took:,.0f} writes/s)")

        elapsed, rss_growth, store_bytes = asyncio.run(ours(args.docs))
        print(
            f"ours: ChangeStream -> Store synced: {elapsed:.2f} s "
            f"({args.docs / elapsed:,.0f} docs/s)"
        )
        print(
            f"ours: Store deep size {store_bytes / args.docs:,.0f} B/document "
            f"({store_bytes / 2**20:,.1f} MiB); process RSS growth during the sync "
            f"{rss_growth / args.docs:,.0f} B/document ({rss_growth / 2**20:,.1f} MiB, "
            "includes the listener's protobuf and decoded views)"
        )

        sdk_took = sdk(args.docs, args.cap)
        if sdk_took is None:
            print(
                f"SDK:  on_snapshot first callback: timed out after {args.cap:.0f} s (killed); "
                f"ours is more than {args.cap / elapsed:.1f} times faster"
            )
        else:
            print(
                f"SDK:  on_snapshot first callback: {sdk_took:.2f} s "
                f"({args.docs / sdk_took:,.0f} docs/s)"
            )
            print(f"ratio on_snapshot/ours: {sdk_took / elapsed:.1f}x")

        if not args.skip_wire:
            floor = wire(args.docs, emulators.firestore_host, emulators.project)
            print(f"wire: raw Listen snapshot (emulator's cost, decode+count only): {floor:.2f} s")
            print(
                f"ours/wire: {elapsed / floor:.2f}x"
                + (f", on_snapshot/wire: {sdk_took / floor:.1f}x" if sdk_took else "")
            )


if __name__ == "__main__":
    main()
