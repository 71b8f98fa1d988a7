"""Cold start: `firebase-sync emulators:exec --only X true`, whole process, wall clock; and,
where the official emulator is installed, launch-to-ready of ours and of the official one
(alternating runs; ready = `GET /` answers `Ok`), with the ratio."""

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


def ready_times(rounds: int = RUNS) -> tuple[list[float], list[float]]:
    """Launch -> ``GET /`` answers Ok, then stop: ours (``emulators:start --only firestore``)
    and the official emulator, alternating; seconds."""
    import urllib.request

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tools.official_firestore import OfficialFirestore

    cli = str(Path(sys.executable).with_name("firebase-sync"))
    ours: list[float] = []
    official: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "firebase.json"
        for _ in range(rounds):
            port = free_port()
            config.write_text(
                json.dumps(
                    {"emulators": {"firestore": {"port": port}, "hub": {"port": free_port()}}}
                )
            )
            start = time.perf_counter()
            proc = subprocess.Popen(
                [cli, "emulators:start", "--config", str(config), "--only", "firestore"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                while True:
                    try:
                        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r:
                            if r.read().startswith(b"Ok"):
                                break
                    except OSError:
                        time.sleep(0.02)
                ours.append(time.perf_counter() - start)
            finally:
                proc.terminate()
                proc.wait(30)
            start = time.perf_counter()
            with OfficialFirestore():
                official.append(time.perf_counter() - start)
    return ours, official


def main() -> None:
    baseline = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import firebase_sync_emulator.suite"], check=True)
        baseline.append(time.perf_counter() - start)
    floor = summary_ms(baseline)
    print(f"python -c 'import firebase_sync_emulator.suite' (interpreter floor): {floor}")
    for only in sys.argv[1:] or ["database", "firestore", "database,firestore"]:
        print(f"emulators:exec --only {only} true: {summary_ms(measure(only))}")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tools.official_firestore import unavailable_reason

    reason = unavailable_reason()
    if reason:
        print(f"official emulator: not measured ({reason})")
        return
    ours, official = ready_times()
    print(f"Firestore launch -> ready, ours: {summary_ms(ours)}")
    print(f"Firestore launch -> ready, official: {summary_ms(official)}")
    p50 = sorted(ours)[len(ours) // 2], sorted(official)[len(official) // 2]
    print(f"ratio official / ours (median): {p50[1] / p50[0]:.1f}")


if __name__ == "__main__":
    main()
