"""Recovery after an outage: time from the backend's return to ``Synced``, per source.

Both embedded emulators run behind fault proxies (``emulator.faults.FaultyEmulators``, on a
private loop thread of this process). ``--sources`` listeners per database (each its own
collection / RTDB path, all merged into one ``ChangeStream`` over a ``Store``) go through the
proxies, while writers keep writing to every source directly (the write load). An outage
resets every proxied connection and refuses new ones for ``d`` seconds (1, 3 and 10 s by
default), on both databases at once. For each source we record the time from the end of the
outage to its first ``Synced`` marker, and how many ``Reconnecting`` events it reported during
the episode. Finally the store is compared with the backend (read directly).

Two reconnect policies run in the same process, one after the other: the kit's default
(``LISTENER_RECONNECT``: first retry at once, jittered waits capped at 1 s) and, as the
baseline, the same driver with the former 30 s cap (``--no-baseline`` skips it).

Run: .venv/bin/python benchmarks/recovery.py [--outages 1 3 10] [--rounds 3] [--sources 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections import defaultdict
from typing import Any

from _common import percentile
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from emulator.faults import FaultyEmulators
from firebase_sync import (
    ChangeStream,
    Document,
    FirestoreRepository,
    RealtimeRepository,
    Reconnecting,
    RetryPolicy,
    Store,
    Synced,
)
from firebase_sync.adapters._rtdb_http import RtdbEndpoint
from firebase_sync.retry import LISTENER_RECONNECT

OLD_CAP = RetryPolicy(attempts=None, initial=0.25, maximum=30.0, deadline=None)
KEYS = 20  # children per source the writers cycle through


class Item(Document):
    n: int = 0


def _client(host: str, project: str) -> firestore.AsyncClient:
    os.environ["FIRESTORE_EMULATOR_HOST"] = host
    return firestore.AsyncClient(
        project=project,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
    )


async def _writer(repos: list[Any], stop: asyncio.Event, counts: dict[str, int]) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        for repo in repos:
            await repo.set(Item(id=f"k{n % KEYS}", n=n))
            counts[repo.source.database] += 1
        await asyncio.sleep(0.01)


async def run_policy(
    rig: FaultyEmulators, label: str, policy: RetryPolicy, args: argparse.Namespace
) -> dict[tuple[str, float], tuple[list[float], list[int]]]:
    """One policy through every outage length; {(database, d): (delays, reconnect counts)}."""
    tag = f"{label}{int(time.time() * 1000) % 100000}"
    fs_proxied = _client(rig.host("firestore"), rig.project)
    fs_direct = _client(rig.direct_host("firestore"), rig.project)
    endpoints = [
        RtdbEndpoint(f"http://{rig.host('database')}", rig.namespace, emulator=True)
        for _ in range(args.sources)
    ]
    direct_endpoint = RtdbEndpoint(
        f"http://{rig.direct_host('database')}", rig.namespace, emulator=True
    )
    listened: list[Any] = []
    direct: list[Any] = []
    for i in range(args.sources):
        name = f"{tag}_{i}"
        listened.append(FirestoreRepository(Item, name, client=fs_proxied, reconnect=policy))
        direct.append(FirestoreRepository(Item, name, client=fs_direct))
        listened.append(
            RealtimeRepository(Item, f"/{name}", endpoint=endpoints[i], reconnect=policy)
        )
        direct.append(RealtimeRepository(Item, f"/{name}", endpoint=direct_endpoint))
    for repo in direct:
        await repo.set(Item(id="k0", n=0))

    synced: dict[str, list[float]] = defaultdict(list)
    reconnects: dict[str, list[float]] = defaultdict(list)
    store: Store[Item] = Store()
    results: dict[tuple[str, float], tuple[list[float], list[int]]] = {}
    counts: dict[str, int] = defaultdict(int)
    stop = asyncio.Event()
    async with ChangeStream(*(repo.listener() for repo in listened), store=store) as stream:

        async def consume() -> None:
            async for event in stream:
                if isinstance(event, Synced):
                    synced[str(event.source)].append(time.monotonic())
                elif isinstance(event, Reconnecting):
                    reconnects[str(event.source)].append(time.monotonic())

        consumer = asyncio.ensure_future(consume())
        sources = [str(repo.listener().source) for repo in listened]
        writers = [
            asyncio.ensure_future(_writer(direct[0::2], stop, counts)),
            asyncio.ensure_future(_writer(direct[1::2], stop, counts)),
        ]
        deadline = time.monotonic() + 30
        while not all(synced[s] for s in sources) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        for outage in args.outages:
            for _ in range(args.rounds):
                await asyncio.sleep(args.settle)
                down = time.monotonic()
                await asyncio.gather(rig.outage("firestore", True), rig.outage("database", True))
                await asyncio.sleep(outage)
                await asyncio.gather(rig.outage("firestore", False), rig.outage("database", False))
                back = time.monotonic()
                limit = back + outage + 60
                while time.monotonic() < limit and not all(  # noqa: ASYNC110 -- polls timestamps
                    any(t > back for t in synced[s]) for s in sources
                ):
                    await asyncio.sleep(0.01)
                for source in sources:
                    database = source.split(":", 1)[0]
                    after = [t for t in synced[source] if t > back]
                    delays, counted = results.setdefault((database, outage), ([], []))
                    delays.append(after[0] - back if after else float("inf"))
                    end = after[0] if after else limit
                    counted.append(sum(1 for t in reconnects[source] if down <= t <= end))
        stop.set()
        await asyncio.gather(*writers)
        # The store must equal the backend once the last writes have arrived.
        expected: dict[tuple[str, str], int] = {}
        for repo in direct:
            for item in await repo.all():
                expected[(str(repo.source), item.id)] = item.n
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            held = {(str(e.source), e.key): e.value.n for e in store.items()}
            if held == expected:
                break
            await asyncio.sleep(0.05)
        consumer.cancel()
    held = {(str(e.source), e.key): e.value.n for e in store.items()}
    print(
        f"  [{label}] writes during the run: {counts['firestore']} Firestore + "
        f"{counts['rtdb']} RTDB; store equals backend at the end: {held == expected}"
    )
    for client in (fs_proxied, fs_direct):
        await client._firestore_api.transport.grpc_channel.close()
    for endpoint in [*endpoints, direct_endpoint]:
        await endpoint.aclose()
    return results


def report(label: str, results: dict[tuple[str, float], tuple[list[float], list[int]]]) -> None:
    for (database, outage), (delays, counts) in sorted(results.items()):
        finite = [d for d in delays if d != float("inf")]
        missing = len(delays) - len(finite)
        p50 = percentile(finite, 0.5) if finite else float("nan")
        p95 = percentile(finite, 0.95) if finite else float("nan")
        print(
            f"  {label:<8} {database:<9} outage {outage:>4.0f} s: back->Synced "
            f"p50 {p50:.2f} s  p95 {p95:.2f} s  max {max(finite, default=float('nan')):.2f} s"
            f"  (n={len(delays)}{f', {missing} never synced' if missing else ''}); "
            f"Reconnecting per source: mean {statistics.fmean(counts):.1f}, max {max(counts)}"
        )


async def main(args: argparse.Namespace) -> None:
    rig = FaultyEmulators(project="demo-recovery", keepalive_interval=1.0)
    try:
        print(
            f"{args.sources} sources per database, outages {args.outages} s x {args.rounds} "
            "rounds, both databases down together, writers running throughout"
        )
        policies = [("kit", LISTENER_RECONNECT)]
        if args.baseline:
            policies.append(("cap 30 s", OLD_CAP))
        collected = []
        for label, policy in policies:
            collected.append((label, await run_policy(rig, label, policy, args)))
        print("time from the backend's return to Synced, per source:")
        for label, results in collected:
            report(label, results)
    finally:
        rig.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outages", type=float, nargs="+", default=[1.0, 3.0, 10.0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sources", type=int, default=4)
    parser.add_argument("--settle", type=float, default=1.0, help="seconds between outages")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false")
    asyncio.run(main(parser.parse_args()))
