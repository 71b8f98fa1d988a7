"""An admin script: apply a price change to every product, in both databases, safely.

    firebase-sync emulators:exec "python examples/admin_script.py --percent 10"

Firestore prices change in a transaction per product (retried on contention); RTDB prices
through compare-and-set on ETags, so a concurrent writer is never overwritten blindly.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from firebase_sync import Document, FirestoreRepository, RealtimeRepository


class Product(Document):
    name: str
    price: float


async def run(percent: float) -> None:
    import firebase_admin

    project = os.environ.get("GCLOUD_PROJECT", "demo-firebase-sync")
    app = firebase_admin.initialize_app(
        options={
            "projectId": project,
            "databaseURL": f"https://{project}-default-rtdb.firebaseio.com",
        }
    )
    factor = 1 + percent / 100
    async with (
        FirestoreRepository(Product, "products", app=app) as catalog,
        RealtimeRepository(Product, "/products", app=app) as live_prices,
    ):
        for product in await catalog.all():

            async def reprice(tx, key=product.id):  # type: ignore[no-untyped-def]
                current = await tx.get(key)
                if current is not None:
                    tx.update(key, {"price": round(current.price * factor, 2)})

            await catalog.transaction(reprice)
            print(f"firestore {product.id}: repriced")
        for product in await live_prices.all():
            updated = await live_prices.transaction(
                product.id,
                lambda current: None
                if current is None
                else current.model_copy(update={"price": round(current.price * factor, 2)}),
            )
            print(f"rtdb {product.id}: {updated.price if updated else 'gone'}")
    firebase_admin.delete_app(app)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--percent", type=float, required=True, help="price change, in %")
    asyncio.run(run(parser.parse_args().percent))
