"""``firebase-sync demo``: the kit live on the embedded emulators, start to finish.

It seeds products in both databases, runs a worker that keeps one store from both through
the change stream, makes a scripted series of writes from another client (the bare SDKs),
shows each change and the store as they happen, checks the store against the backend, and
exits 0 (1 if they disagree). It only ever talks to emulators: without the emulator variables
it starts the embedded ones on free ports.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from firebase_sync.cli.render import plain_line

DATABASE_VARIABLE = "FIREBASE_DATABASE_EMULATOR_HOST"
FIRESTORE_VARIABLE = "FIRESTORE_EMULATOR_HOST"
SEED = {
    "p1": {"name": "Notebook", "price": 4.5},
    "p2": {"name": "Fountain pen", "price": 32.0},
    "p3": {"name": "Ink bottle", "price": 9.9},
}


Step = tuple[str, Callable[[], Any], Callable[[Any], bool]]


def _script(fs: Any, rtdb: Any, sources: dict[str, Any]) -> list[Step]:
    """The writes another client makes: (description, write, store predicate once applied)."""

    def holds(database: str, key: str, price: float | None) -> Callable[[Any], bool]:
        def check(store: Any) -> bool:
            value = store.get(key, source=sources[database])
            return (
                (value is None) if price is None else (value is not None and value.price == price)
            )

        return check

    return [
        (
            "Firestore: create p4 (Sketchbook, 12.0)",
            lambda: fs.document("products/p4").set({"name": "Sketchbook", "price": 12.0}),
            holds("firestore", "p4", 12.0),
        ),
        (
            "RTDB: raise p1 to 5.25",
            lambda: rtdb.child("p1").update({"price": 5.25}),
            holds("rtdb", "p1", 5.25),
        ),
        (
            "Firestore: discount p2 to 28.0",
            lambda: fs.document("products/p2").update({"price": 28.0}),
            holds("firestore", "p2", 28.0),
        ),
        (
            "RTDB: create p5 (Pencil case, 7.5)",
            lambda: rtdb.child("p5").set({"name": "Pencil case", "price": 7.5}),
            holds("rtdb", "p5", 7.5),
        ),
        (
            "Firestore: delete p3",
            lambda: fs.document("products/p3").delete(),
            holds("firestore", "p3", None),
        ),
        ("RTDB: delete p2", lambda: rtdb.child("p2").delete(), holds("rtdb", "p2", None)),
    ]


def _store_table(store: Any) -> Table:
    table = Table(title=f"store (version {store.version}, {len(store)} entries)")
    for column in ("source", "id", "name", "price", "version"):
        table.add_column(column)
    for entry in sorted(store.items(), key=lambda e: (str(e.source), e.key)):
        table.add_row(
            str(entry.source),
            entry.key,
            entry.value.name,
            f"{entry.value.price:.2f}",
            str(entry.version),
        )
    return table


async def _demo(console: Console, delay: float) -> bool:
    import firebase_admin
    from firebase_admin import db
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    from firebase_sync import (
        ChangeStream,
        Document,
        FirestoreRepository,
        RealtimeRepository,
        Store,
        Synced,
    )

    class Product(Document):
        name: str
        price: float

    project = os.environ.get("GCLOUD_PROJECT", "demo-firebase-sync")
    app = firebase_admin.initialize_app(
        options={
            "projectId": project,
            "databaseURL": f"https://{project}-default-rtdb.firebaseio.com",
        },
        name="firebase-sync-demo",
    )
    other_client = firestore.Client(
        project=project,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
    )
    rtdb_products = db.reference("/products", app=app)
    async with AsyncExitStack() as stack:
        stack.callback(firebase_admin.delete_app, app)
        stack.callback(other_client.close)

        console.rule("1. seed three products in both databases (another client)")
        await asyncio.to_thread(rtdb_products.set, SEED)
        batch = other_client.batch()
        for key, data in SEED.items():
            batch.set(other_client.document(f"products/{key}"), data)
        await asyncio.to_thread(batch.commit)
        for key, data in SEED.items():
            console.print(f"  {key}: {data['name']}, {data['price']:.2f}  (firestore and rtdb)")

        console.rule("2. the worker: one store kept current from both databases")
        fs_repo = FirestoreRepository(Product, "products", app=app)
        rtdb_repo = RealtimeRepository(Product, "/products", app=app)
        stack.push_async_callback(fs_repo.aclose)
        stack.push_async_callback(rtdb_repo.aclose)
        sources = {"firestore": fs_repo.source, "rtdb": rtdb_repo.source}
        store: Store[Product] = Store()
        stream = await stack.enter_async_context(
            ChangeStream(fs_repo.listener(), rtdb_repo.listener(), store=store)
        )
        synced: set[str] = set()
        all_synced = asyncio.Event()

        async def show_events() -> None:
            async for event in stream:
                console.print(f"  [dim]event[/] {plain_line(event)}")
                if isinstance(event, Synced):
                    synced.add(event.source.database)
                    if len(synced) == 2:
                        all_synced.set()

        printer = asyncio.create_task(show_events())
        stack.push_async_callback(_cancel, printer)
        async with asyncio.timeout(15):
            await all_synced.wait()
        console.print(_store_table(store))

        console.rule("3. scripted writes from another client, seen live by the worker")
        for description, write, applied in _script(other_client, rtdb_products, sources):
            console.print(f"[bold]{description}[/]")
            await asyncio.to_thread(write)
            await store.wait_for(applied, timeout=10)
            await asyncio.sleep(delay)
        console.print(_store_table(store))

        console.rule("4. the store against the backend")
        backend = {
            ("firestore", snap.id): (snap.to_dict() or {})["price"]
            for snap in await asyncio.to_thread(
                lambda: list(other_client.collection("products").stream())
            )
        }
        rtdb_data = await asyncio.to_thread(rtdb_products.get) or {}
        backend.update({("rtdb", key): value["price"] for key, value in rtdb_data.items()})
        local = {(e.source.database, e.key): e.value.price for e in store.items()}
        stats = stream.statistics()
        console.print(
            f"events delivered: {stats.events_delivered}; store version {store.version}; "
            f"entries {len(store)}; reconnects {sum(s.reconnects for s in stats.sources)}"
        )
        if local == backend:
            console.print(f"[green]store matches the backend: {len(local)} entries[/]")
            return True
        console.print(f"[red]store and backend differ:[/] store={local} backend={backend}")
        return False


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@click.command("demo")
@click.option("--delay", default=0.3, show_default=True, help="Pause between scripted writes (s).")
def demo_command(delay: float) -> None:
    """Run the live demo on the embedded emulators (or those the environment names)."""
    console = Console(highlight=False)
    threaded = None
    if not (os.environ.get(DATABASE_VARIABLE) and os.environ.get(FIRESTORE_VARIABLE)):
        from emulator.suite import EmulatorSuite

        suite = EmulatorSuite(free_ports=True, with_hub=False, database_keepalive=1.0)
        threaded = suite.start_in_thread()
        running = threaded.running
        assert running is not None
        os.environ.update(running.environment())
        console.print(
            f"embedded emulators: database {running.database_host}, "
            f"firestore {running.firestore_host}"
        )
    try:
        ok = asyncio.run(_demo(console, delay))
    finally:
        if threaded is not None:
            threaded.stop()
    raise SystemExit(0 if ok else 1)
