"""Write -> `Reference.listen()` callback latency through firebase-admin, p50 / p99."""

from __future__ import annotations

import threading
import time

import firebase_admin
from _common import embedded_emulators, summary_ms
from firebase_admin import db

SAMPLES = 300


def main() -> None:
    with embedded_emulators(only=["database"]) as running:
        app = firebase_admin.initialize_app(
            options={"databaseURL": f"https://{running.project}-default-rtdb.firebaseio.com"}
        )
        ref = db.reference("/bench", app=app)
        ref.set({"n": -1})
        arrived = threading.Event()
        expected: list[int] = [-1]

        def callback(event: db.Event) -> None:
            # set() on the child arrives as put /n; update() on the parent as patch / {"n": ...}.
            value = event.data.get("n") if event.path == "/" and isinstance(event.data, dict) else (
                event.data if event.path == "/n" else None
            )
            if value == expected[0]:
                arrived.set()

        registration = ref.listen(callback)
        try:
            samples = {"set": [], "update": []}
            for i in range(SAMPLES):
                kind = "set" if i % 2 == 0 else "update"
                arrived.clear()
                expected[0] = i
                start = time.perf_counter()
                if kind == "set":
                    ref.child("n").set(i)
                else:
                    ref.update({"n": i})
                if not arrived.wait(5):
                    raise RuntimeError(f"no callback for write {i}")
                samples[kind].append(time.perf_counter() - start)
            for kind, values in samples.items():
                print(f"{kind}() -> listen() callback: {summary_ms(values[10:])}")
        finally:
            registration.close()
            firebase_admin.delete_app(app)


if __name__ == "__main__":
    main()
