"""A small real worker: keeps a typed store of products current and reacts to price changes.

Run it against the emulators (or, with credentials, a real project):

    firebase-sync emulators:exec "python examples/worker.py --seconds 30"

It merges the Firestore collection ``products`` and the RTDB path ``/products`` into one
store, prints every price change, and reports the cheapest product whenever the store moves.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from firebase_sync import (
    Change,
    ChangeKind,
    ChangeStream,
    Document,
    FirestoreRepository,
    InvalidDocument,
    RealtimeRepository,
    Reconnecting,
    Store,
    Synced,
)


class Product(Document):
    name: str
    price: float


async def run(seconds: float) -> None:
    import firebase_admin

    project = os.environ.get("GCLOUD_PROJECT", "demo-firebase-sync")
    app = firebase_admin.initialize_app(
        options={
            "projectId": project,
            "databaseURL": f"https://{project}-default-rtdb.firebaseio.com",
        }
    )
    store: Store[Product] = Store()
    async with (
        FirestoreRepository(Product, "products", app=app) as catalog,
        RealtimeRepository(Product, "/products", app=app) as live_prices,
        ChangeStream(catalog.listener(), live_prices.listener(), store=store) as changes,
    ):
        try:
            async with asyncio.timeout(seconds):
                async for event in changes:
                    if isinstance(event, Synced):
                        print(f"{event.source}: in sync ({event.entries} products)")
                    elif isinstance(event, Reconnecting):
                        print(f"{event.source}: reconnecting in {event.delay:.1f}s ({event.error})")
                    elif isinstance(event, InvalidDocument):
                        print(f"{event.path}: skipped, {event.error}")
                    elif isinstance(event, Change) and event.kind is ChangeKind.MODIFIED:
                        assert event.before is not None and event.after is not None
                        print(f"{event.key}: {event.before.price} -> {event.after.price}")
                    cheapest = store.query(order_by=lambda p: p.price, limit=1)
                    if cheapest:
                        print(f"  cheapest now: {cheapest[0].name} at {cheapest[0].price}")
        except TimeoutError:
            pass
    firebase_admin.delete_app(app)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to run")
    asyncio.run(run(parser.parse_args().seconds))
