"""RTDB writes per second: firebase-admin `set()` against raw HTTP PUTs on one keep-alive socket."""

from __future__ import annotations

import http.client
import json
import time

import firebase_admin
from _common import embedded_emulators
from firebase_admin import db

WRITES = 2000


def main() -> None:
    with embedded_emulators(only=["database"]) as running:
        app = firebase_admin.initialize_app(
            options={"databaseURL": f"https://{running.project}-default-rtdb.firebaseio.com"}
        )
        try:
            ref = db.reference("/bench", app=app)
            start = time.perf_counter()
            for i in range(WRITES):
                ref.child(f"k{i % 100}").set({"i": i, "name": "product", "price": 9.5})
            sdk = WRITES / (time.perf_counter() - start)
        finally:
            firebase_admin.delete_app(app)

        host, port = running.database_host.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port))
        ns = f"{running.project}-default-rtdb"
        start = time.perf_counter()
        for i in range(WRITES):
            body = json.dumps({"i": i, "name": "product", "price": 9.5})
            connection.request("PUT", f"/raw/k{i % 100}.json?ns={ns}&print=silent", body)
            response = connection.getresponse()
            response.read()
            assert response.status == 204, response.status
        raw = WRITES / (time.perf_counter() - start)
        connection.close()
    print(f"firebase-admin set(): {sdk:,.0f} writes/s ({WRITES} writes)")
    print(f"raw HTTP PUT, keep-alive: {raw:,.0f} writes/s ({WRITES} writes)")
    print(f"ratio raw/SDK: {raw / sdk:.2f}x (the SDK's per-call overhead)")


if __name__ == "__main__":
    main()
