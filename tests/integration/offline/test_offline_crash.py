"""Crash safety: a worker process killed with SIGKILL at random points while it flushes its
queue; after a restart that drains the queue, every acknowledged write is applied exactly once.

``FIREBASE_SYNC_CRASH_KILLS`` sets the number of kills (default 20).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest
from crash_worker import Counter, run

from firebase_sync import FirestoreRepository, RealtimeRepository
from firebase_sync.offline import LocalCache
from firebase_sync.testing import EmulatorHosts

KILLS = int(os.environ.get("FIREBASE_SYNC_CRASH_KILLS", "20"))


def _config(emulators: EmulatorHosts, tmp_path: Path, mode: str) -> dict[str, Any]:
    return {
        "mode": mode,
        "project": emulators.project,
        "database_host": emulators.database_host,
        "namespace": emulators.database_namespace,
        "cache": str(tmp_path / "worker.db"),
        "acks": str(tmp_path / "acks.log"),
        "environment": {
            "FIRESTORE_EMULATOR_HOST": emulators.firestore_host,
            "FIREBASE_DATABASE_EMULATOR_HOST": emulators.database_host,
        },
    }


def _starts(acks: Path) -> int:
    return acks.read_text().count("start") if acks.exists() else 0


def _kill_and_drain(config: dict[str, Any], seed: int) -> None:
    """Start and SIGKILL the worker ``KILLS`` times, then let one run drain the queue."""
    # Forked from a server that imported the kit once: a kill-restart cycle costs no imports.
    # (Preloads must be importable without this directory: the fork server ignores sys.path.)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["firebase_sync.offline", "google.cloud.firestore"])
    rng = random.Random(seed)
    acks = Path(config["acks"])
    for _ in range(KILLS):
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
    drain = context.Process(target=run, args=({**config, "mode": "drain"},))
    drain.start()
    drain.join(timeout=90)
    assert drain.exitcode == 0, f"seed {seed}: the drain run failed ({drain.exitcode})"


@pytest.mark.timeout(180)
async def test_sigkill_during_flush_loses_nothing_and_doubles_nothing(
    emulators: EmulatorHosts, rtdb_app: Any, tmp_path: Path
) -> None:
    from google.cloud import firestore

    from firebase_sync.testing import clear_firestore

    clear_firestore(emulators)
    seed = random.randrange(1 << 32)
    _kill_and_drain(_config(emulators, tmp_path, "write"), seed)
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
        f"\ncrash safety: {KILLS} kills (seed {seed}), acknowledged "
        f"{len(acked['fs'])} Firestore + {len(acked['rtdb'])} RTDB writes, applied "
        f"{stored['fs'].n if stored['fs'] else 0} + {stored['rtdb'].n if stored['rtdb'] else 0},"
        f" lost 0, doubled 0, replays that found their write already applied: >= {already}"
    )
