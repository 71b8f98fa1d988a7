"""Crash safety: a worker process killed with SIGKILL at random points while it flushes its
queue; after a restart that drains the queue, every acknowledged write is applied exactly once.

The second test adds network faults while the worker flushes: its connections go through
fault proxies that cut requests and replies in the middle, hold every byte for a while, and
reset everything, at random; the verdict is the same (nothing lost, nothing doubled, no
write failed). ``FIREBASE_SYNC_CRASH_KILLS`` sets the number of kills (default 20); the slow
variant kills ``FIREBASE_SYNC_CRASH_KILLS_SLOW`` times (default 100).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from crash_worker import Counter, run

from firebase_sync import FirestoreRepository, RealtimeRepository
from firebase_sync.offline import LocalCache
from firebase_sync.testing import EmulatorHosts

KILLS = int(os.environ.get("FIREBASE_SYNC_CRASH_KILLS", "20"))
KILLS_SLOW = int(os.environ.get("FIREBASE_SYNC_CRASH_KILLS_SLOW", "100"))


def _config(
    emulators: EmulatorHosts,
    tmp_path: Path,
    mode: str,
    *,
    firestore_host: str | None = None,
    database_host: str | None = None,
    deadline: float | None = None,
) -> dict[str, Any]:
    firestore_host = firestore_host or emulators.firestore_host
    database_host = database_host or emulators.database_host
    return {
        "mode": mode,
        "project": emulators.project,
        "database_host": database_host,
        "namespace": emulators.database_namespace,
        "cache": str(tmp_path / "worker.db"),
        "acks": str(tmp_path / "acks.log"),
        "deadline": deadline,
        "environment": {
            "FIRESTORE_EMULATOR_HOST": firestore_host,
            "FIREBASE_DATABASE_EMULATOR_HOST": database_host,
        },
    }


def _starts(acks: Path) -> int:
    return acks.read_text().count("start") if acks.exists() else 0


def _kill_and_drain(
    config: dict[str, Any],
    seed: int,
    kills: int = KILLS,
    before_drain: Any = None,
) -> None:
    """Start and SIGKILL the worker ``kills`` times, then let one run drain the queue."""
    # Forked from a server that imported the kit once: a kill-restart cycle costs no imports.
    # (Preloads must be importable without this directory: the fork server ignores sys.path.)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["firebase_sync.offline", "google.cloud.firestore"])
    rng = random.Random(seed)
    acks = Path(config["acks"])
    for _ in range(kills):
        worker = context.Process(target=run, args=(config,))
        starts = _starts(acks)
        worker.start()
        deadline = time.monotonic() + 30
        while _starts(acks) == starts and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.02, 0.6))
        worker.kill()
        worker.join()
        assert worker.exitcode == -9, f"seed {seed}: the worker exited early ({worker.exitcode})"
    if before_drain is not None:
        before_drain()
    drain = context.Process(target=run, args=({**config, "mode": "drain"},))
    drain.start()
    drain.join(timeout=90)
    assert drain.exitcode == 0, f"seed {seed}: the drain run failed ({drain.exitcode})"


@pytest.mark.timeout(180)
async def test_sigkill_during_flush_loses_nothing_and_doubles_nothing(
    emulators: EmulatorHosts, rtdb_app: Any, tmp_path: Path
) -> None:
    from firebase_sync.testing import clear_firestore

    clear_firestore(emulators)
    seed = random.randrange(1 << 32)
    _kill_and_drain(_config(emulators, tmp_path, "write"), seed)
    await _verify(emulators, rtdb_app, tmp_path, seed, KILLS, "")


class _FaultInjector:
    """Random faults on both proxies from a thread, until stopped: cuts mid-request and
    mid-response, held connections (0.2 to 1.2 s), resets."""

    def __init__(self, proxies: list[Any], seed: int) -> None:
        self.proxies = proxies
        self.rng = random.Random(seed)
        self.counts = {"cut_request": 0, "cut_response": 0, "held": 0, "reset": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        for threaded in self.proxies:
            threaded.loop.call_soon_threadsafe(threaded.proxy.blackhole, False)

    def _run(self) -> None:
        while not self._stop.wait(self.rng.uniform(0.05, 0.25)):
            threaded = self.rng.choice(self.proxies)
            kind = self.rng.choice(list(self.counts))
            self.counts[kind] += 1
            proxy = threaded.proxy
            if kind == "cut_request":
                threaded.loop.call_soon_threadsafe(proxy.cut_next, "request")
            elif kind == "cut_response":
                threaded.loop.call_soon_threadsafe(proxy.cut_next, "response")
            elif kind == "held":
                threaded.loop.call_soon_threadsafe(proxy.blackhole, True)
                self._stop.wait(self.rng.uniform(0.2, 1.2))
                threaded.loop.call_soon_threadsafe(proxy.blackhole, False)
            else:
                threaded.drop()


async def _faulty_run(emulators: EmulatorHosts, rtdb_app: Any, tmp_path: Path, kills: int) -> None:
    from emulator.faults import ThreadedFaultProxy
    from firebase_sync.testing import clear_firestore

    clear_firestore(emulators)
    seed = random.randrange(1 << 32)
    proxies = [
        ThreadedFaultProxy(*_split(emulators.firestore_host)),
        ThreadedFaultProxy(*_split(emulators.database_host)),
    ]
    injector = _FaultInjector(proxies, seed)
    try:
        config = _config(
            emulators,
            tmp_path,
            "write",
            firestore_host=proxies[0].proxy.address,
            database_host=proxies[1].proxy.address,
            deadline=0.5,
        )
        injector.start()
        # The drain runs through the proxies too, once the faults have stopped.
        _kill_and_drain(config, seed, kills, before_drain=injector.stop)
    finally:
        injector.stop()
        for proxy in proxies:
            proxy.stop()
    faults = ", ".join(f"{n} {kind}" for kind, n in injector.counts.items())
    await _verify(emulators, rtdb_app, tmp_path, seed, kills, f"; faults: {faults}")


def _split(host: str) -> tuple[str, int]:
    name, port = host.rsplit(":", 1)
    return name, int(port)


@pytest.mark.timeout(240)
async def test_sigkill_with_cuts_and_held_connections_loses_nothing(
    emulators: EmulatorHosts, rtdb_app: Any, tmp_path: Path
) -> None:
    await _faulty_run(emulators, rtdb_app, tmp_path, KILLS)


@pytest.mark.slow
@pytest.mark.timeout(1200)
async def test_sigkill_with_faults_big_budget(
    emulators: EmulatorHosts, rtdb_app: Any, tmp_path: Path
) -> None:
    await _faulty_run(emulators, rtdb_app, tmp_path, KILLS_SLOW)


async def _verify(
    emulators: EmulatorHosts, rtdb_app: Any, tmp_path: Path, seed: int, kills: int, extra: str
) -> None:
    from google.cloud import firestore

    acks = tmp_path / "acks.log"
    lines = acks.read_text().splitlines()
    acked: dict[str, set[str]] = {"fs": set(), "rtdb": set()}
    already = 0
    for line in lines:
        kind, *rest = line.split()
        if kind == "ack":
            acked[rest[0]].add(rest[1])
        elif kind in ("already", "drained"):
            already += int(rest[0])
    client = firestore.AsyncClient(project=emulators.project)
    try:
        async with RealtimeRepository(Counter, "/counters", app=rtdb_app) as reader:
            stored = {
                "fs": await FirestoreRepository(Counter, "counters", client=client).get("c"),
                "rtdb": await reader.get("c"),
            }
    finally:
        await client._firestore_api.transport.grpc_channel.close()
    for name, counter in stored.items():
        assert counter is not None, name
        assert counter.n == len(counter.seen), f"seed {seed}: {name} applied a write twice"
        missing = acked[name] - set(counter.seen)
        assert not missing, f"seed {seed}: {name} lost acknowledged writes {missing}"
    with LocalCache(tmp_path / "worker.db") as cache:
        stats = cache.queue_statistics()
        assert (stats.depth, stats.failed) == (0, 0)
    print(
        f"\ncrash safety: {kills} kills (seed {seed}), acknowledged "
        f"{len(acked['fs'])} Firestore + {len(acked['rtdb'])} RTDB writes, applied "
        f"{stored['fs'].n if stored['fs'] else 0} + {stored['rtdb'].n if stored['rtdb'] else 0},"
        f" lost 0, doubled 0, replays that found their write already applied: >= {already}"
        f"{extra}"
    )
