"""Rules tests run against our emulator and, where Java and its JAR are installed, the official one.

``firestore_targets`` yields ``(label, host)`` pairs; each test runs its requests against every
target, so a difference in any answer fails the test, naming the emulator that gave it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from firebase_sync.testing import EmulatorHosts

sys.path.insert(0, str(Path(__file__).parent))

OFFICIAL_JAR = Path(
    os.environ.get(
        "FIRESTORE_EMULATOR_JAR",
        "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar",
    )
)
_MAIN = "com.google.cloud.datastore.emulator.firestore.CloudFirestore"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ok(host: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{host}/", timeout=1) as response:
                if response.read().startswith(b"Ok"):
                    return True
        except OSError:
            time.sleep(0.2)
    return False


@pytest.fixture(scope="session")
def official_firestore() -> Iterator[str | None]:
    """The official Cloud Firestore emulator on a free port, or ``None`` where it is absent."""
    java = shutil.which("java")
    if java is None or not OFFICIAL_JAR.is_file():
        print("\nofficial Firestore emulator not installed: rules checked on ours only")
        yield None
        return
    port = _free_port()
    process = subprocess.Popen(
        [java, "-cp", str(OFFICIAL_JAR), _MAIN, "start", "--host=127.0.0.1", f"--port={port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    host = f"127.0.0.1:{port}"
    try:
        if not _wait_ok(host, time.monotonic() + 60):
            print("\nofficial Firestore emulator did not start: rules checked on ours only")
            yield None
        else:
            yield host
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def firestore_targets(
    emulators: EmulatorHosts, official_firestore: str | None
) -> list[tuple[str, str]]:
    """``("ours", host)`` and, when installed, ``("official", host)``."""
    targets = [("ours", emulators.firestore_host)]
    if official_firestore is not None:
        targets.append(("official", official_firestore))
    return targets
