"""Write -> change visible in the kit's Store, p50 / p99, against the bare SDK callbacks.

The same writes are observed by both at once: our ChangeStream (one stream over a Firestore
and an RTDB repository, into a Store) and the SDKs' own listeners (Firestore ``on_snapshot``,
RTDB ``Reference.listen``, each on its SDK thread). Each write is timed from just before the
request to the moment the change is applied to the Store (ours) or reaches the SDK callback
(theirs); the next write starts when both have seen it. The emulators run in a child process.

Run: .venv/bin/python benchmarks/kit_latency.py [--samples 300]
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from typing import Any

import firebase_admin
from _common import emulator_process, percentile, summary_ms
from firebase_admin import db
from google.cloud import firestore

from firebase_sync import (
    Batch,
    Change,
    ChangeStream,
    Document,
    FirestoreRepository,
    RealtimeRepository,
    Store,
)

WARMUP = 20
KEY = "x"


class Item(Document):
    n: int
    label: str


class TimedStore(Store[Item]):
    """A Store that notes when each (database, n) of ``KEY`` became visible in it."""

    def __init__(self, arrived: dict[tuple[str, int], float], wake: asyncio.Event) -> None:
        super().__init__()
        self.arrived = arrived
        self.wake = wake

    def apply(self, batch: Batch[Item]) -> list[Change[Item]]:
        effective = super().apply(batch)
        now = time.perf_counter()
        for change in effective:
            if change.key == KEY and change.after is not None:
                self.arrived.setdefault((change.source.database, change.after.n), now)
        self.wake.set()
        return effective


async def drain(stream: ChangeStream[Item]) -> None:
    async for _ in stream:
        pass


async def run(samples: int, project: str) -> None:
    loop = asyncio.get_running_loop()
    ours: dict[tuple[str, int], float] = {}
    sdk: dict[tuple[str, int], float] = {}
    wake = asyncio.Event()
    lock = threading.Lock()

    def sdk_seen(database: str, n: Any) -> None:
        if isinstance(n, int):
            with lock:
                sdk.setdefault((database, n), time.perf_counter())
            loop.call_soon_threadsafe(wake.set)

    # --- the SDKs' listeners, on their own threads ---------------------------------------
    app = firebase_admin.initialize_app(
        options={"databaseURL": f"https://{project}-default-rtdb.firebaseio.com"},
        name="kit-latency",
    )
    sync_client = firestore.Client(project=project)

    def on_snapshot(docs: list[Any], changes: list[Any], read_time: Any) -> None:
        for change in changes:
            if change.document.id == KEY and change.type.name != "REMOVED":
                sdk_seen("firestore", (change.document.to_dict() or {}).get("n"))

    def on_event(event: db.Event) -> None:
        data = event.data
        if event.path == f"/{KEY}" and isinstance(data, dict):
            sdk_seen("rtdb", data.get("n"))
        elif event.path == "/" and isinstance(data, dict) and isinstance(data.get(KEY), dict):
            sdk_seen("rtdb", data[KEY].get("n"))

    fs_repo = FirestoreRepository(Item, "latency")
    rt_repo = RealtimeRepository(Item, "/latency", app=app)
    await fs_repo.set(Item(id=KEY, n=-1, label="start"))
    await rt_repo.set(Item(id=KEY, n=-1, label="start"))
    watch = sync_client.collection("latency").on_snapshot(on_snapshot)
    registration = db.reference("/latency", app=app).listen(on_event)

    # --- ours: one stream over both repositories, into the store --------------------------
    store = TimedStore(ours, wake)
    stream = ChangeStream(fs_repo.listener(), rt_repo.listener(), store=store)
    try:
        async with stream:
            consumer = asyncio.create_task(drain(stream))
            await store.wait_for(lambda s: len(s) == 2)
            for database, repo in (("firestore", fs_repo), ("rtdb", rt_repo)):
                ours_s: list[float] = []
                sdk_s: list[float] = []
                ours_first = 0
                for i in range(WARMUP + samples):
                    start = time.perf_counter()
                    await repo.set(Item(id=KEY, n=i, label=f"write {i}"))
                    async with asyncio.timeout(10):
                        while (database, i) not in ours or (database, i) not in sdk:
                            wake.clear()
                            await wake.wait()
                    if i >= WARMUP:
                        ours_s.append(ours[(database, i)] - start)
                        sdk_s.append(sdk[(database, i)] - start)
                        ours_first += ours[(database, i)] < sdk[(database, i)]
                sdk_name = "on_snapshot" if database == "firestore" else "Reference.listen"
                print(f"{database}: set() -> change in our Store:     {summary_ms(ours_s)}")
                print(f"{database}: set() -> {sdk_name} callback: {summary_ms(sdk_s)}")
                p50 = percentile(ours_s, 0.5) / percentile(sdk_s, 0.5)
                p99 = percentile(ours_s, 0.99) / percentile(sdk_s, 0.99)
                print(
                    f"{database}: ratio ours/SDK p50 {p50:.2f}x, p99 {p99:.2f}x; "
                    f"ours saw the write first in {ours_first}/{samples} writes"
                )
            consumer.cancel()
    finally:
        watch.unsubscribe()
        registration.close()
        sync_client.close()  # type: ignore[no-untyped-call]
        await fs_repo.aclose()
        await rt_repo.aclose()
        firebase_admin.delete_app(app)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=300, help="timed writes per database")
    args = parser.parse_args()
    with emulator_process() as emulators:
        asyncio.run(run(args.samples, emulators.project))


if __name__ == "__main__":
    main()
