"""Cold start: `firebase-sync emulators:exec --only X true`, whole process, wall clock."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import summary_ms

RUNS = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(only: str) -> list[float]:
    cli = str(Path(sys.executable).with_name("firebase-sync"))
    durations = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "firebase.json"
        for _ in range(RUNS):
            ports = {n: {"port": free_port()} for n in ("database", "firestore", "hub")}
            config.write_text(json.dumps({"emulators": ports}))
            start = time.perf_counter()
            subprocess.run(
                [cli, "emulators:exec", "--config", str(config), "--only", only, "true"],
                check=True,
                capture_output=True,
            )
            durations.append(time.perf_counter() - start)
    return durations


def main() -> None:
    baseline = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import emulator.suite"], check=True)
        baseline.append(time.perf_counter() - start)
    print(f"python -c 'import emulator.suite' (interpreter floor): {summary_ms(baseline)}")
    for only in sys.argv[1:] or ["database", "firestore", "database,firestore"]:
        print(f"emulators:exec --only {only} true: {summary_ms(measure(only))}")


if __name__ == "__main__":
    main()
