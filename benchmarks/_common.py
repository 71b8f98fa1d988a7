"""Helpers shared by the benchmark scripts: emulators (embedded or in a child process),
percentile summaries, RSS."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from firebase_sync_emulator.suite import EmulatorSuite, RunningSuite


@contextmanager
def embedded_emulators(only: Sequence[str] | None = None) -> Iterator[RunningSuite]:
    """Start the embedded emulators on free ports and export their variables for the SDKs."""
    threaded = EmulatorSuite(
        only=only, free_ports=True, with_hub=False, database_keepalive=1.0
    ).start_in_thread()
    assert threaded.running is not None
    os.environ.update(threaded.running.environment())
    try:
        yield threaded.running
    finally:
        threaded.stop()


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``samples`` (fraction in 0..1)."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def summary_ms(samples_s: Sequence[float]) -> str:
    """p50 / p99 / mean / max of durations given in seconds, printed in milliseconds."""
    ms = [s * 1000 for s in samples_s]
    return (
        f"n={len(ms)} p50={percentile(ms, 0.5):.2f} ms p99={percentile(ms, 0.99):.2f} ms "
        f"mean={statistics.fmean(ms):.2f} ms max={max(ms):.2f} ms"
    )


# The child process behind `emulator_process`: start the suite, print its environment as one
# JSON line, serve until stdin closes (the parent exits or asks it to stop).
_EMULATOR_CHILD = """
import asyncio, json, sys
from firebase_sync_emulator.suite import EmulatorSuite

async def main():
    suite = EmulatorSuite(only=json.loads(sys.argv[1]), free_ports=True, with_hub=False,
                          database_keepalive=1.0)
    running = await suite.start()
    print(json.dumps(running.environment()), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    await suite.stop()

asyncio.run(main())
"""


@dataclass(frozen=True)
class EmulatorProcess:
    """Emulators served by a child process: its environment and its pid."""

    environment: dict[str, str]
    pid: int

    @property
    def project(self) -> str:
        return self.environment["GCLOUD_PROJECT"]

    @property
    def database_host(self) -> str:
        return self.environment["FIREBASE_DATABASE_EMULATOR_HOST"]

    @property
    def firestore_host(self) -> str:
        return self.environment["FIRESTORE_EMULATOR_HOST"]


@contextmanager
def emulator_process(only: Sequence[str] = ("database", "firestore")) -> Iterator[EmulatorProcess]:
    """Start the emulators in a separate Python process on free ports and export their variables.

    Client-side measurements then do not share a GIL (or a core's time slice) with the emulator.
    The child stops when its stdin closes; it is killed if it does not within 10 s.
    """
    child = subprocess.Popen(
        [sys.executable, "-c", _EMULATOR_CHILD, json.dumps(list(only))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        line = child.stdout.readline()
        if not line:
            raise RuntimeError(f"the emulator process exited with {child.wait()}")
        environment = json.loads(line)
        os.environ.update(environment)
        yield EmulatorProcess(environment, child.pid)
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def rss_bytes() -> int:
    """This process's resident set size, from /proc."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
