"""The pieces of the chaos test: private emulators that can restart, writers, fault injectors.

The emulators run on their own loop thread (as a separate process would); everything else (fault
proxies, writers, the kit's listeners) runs on the test's loop. Writers talk to the emulators
directly; only the kit's listeners go through the proxies.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from firebase_sync import Document, FirebaseSyncError
from firebase_sync_emulator.faults import FaultProxy, FaultyEmulators

PROJECT = "demo-chaos"
NAMESPACE = f"{PROJECT}-default-rtdb"


class Item(Document):
    # Defaults everywhere: an RTDB partial update of a deleted child creates a partial child.
    name: str = ""
    price: float = 0.0
    version: int = 0


class Backend(FaultyEmulators):
    """Both emulators on a private loop thread, each restartable on its own port; the chaos
    test reaches them directly (``direct_host``) and puts its own proxies in front."""

    def __init__(self) -> None:
        super().__init__(PROJECT, keepalive_interval=0.25)


@dataclass
class Injected:
    """Faults injected into one source, by kind."""

    kinds: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.kinds.values())


async def inject_faults(
    backend: Backend,
    name: str,
    proxy: FaultProxy,
    count: int,
    injected: Injected,
    rng: random.Random,
    *,
    restart_every: int = 10,
) -> None:
    """Inject ``count`` faults into one source: drops, stalls, cuts, refusals, restarts."""
    for index in range(count):
        await asyncio.sleep(rng.uniform(0.05, 0.3))
        if index % restart_every == restart_every - 1:
            await backend.restart(name)
            injected.kinds["restart"] += 1
            continue
        kind = rng.choice(["drop", "stall", "cut", "refuse"])
        if kind == "drop":
            await proxy.drop()
        elif kind == "stall":
            # Long stalls outlive the RTDB idle timeout (a reconnect); short ones just resume.
            proxy.blackhole(True)
            await asyncio.sleep(rng.choice([0.1, 0.4, 1.2]))
            proxy.blackhole(False)
        elif kind == "cut":
            cuts = proxy.stats.cuts
            proxy.cut_after(rng.randint(1, 600))
            for _ in range(20):  # until some connection was cut mid-message
                if proxy.stats.cuts > cuts:
                    break
                await asyncio.sleep(0.05)
            proxy.cut_after(None)
        else:
            proxy.refuse = True
            await proxy.drop()
            await asyncio.sleep(rng.uniform(0.1, 0.4))
            proxy.refuse = False
        injected.kinds[kind] += 1


@dataclass
class WriteLoad:
    """Counters of a writer."""

    writes: int = 0
    failed: int = 0


async def write_load(
    repo: Any, keys: int, stop: asyncio.Event, load: WriteLoad, rng: random.Random
) -> None:
    """Sets, partial updates and deletes on ``keys`` keys until ``stop`` is set.

    Failures (an emulator restarting outlasts the retries) are counted, not raised: the final
    comparison reads the backend, so the store must match whatever the backend holds.
    """
    while not stop.is_set():
        key = f"k{rng.randrange(keys):03d}"
        roll = rng.random()
        try:
            if roll < 0.6:
                price = round(rng.uniform(1, 100), 2)
                await repo.set(Item(id=key, name=key, price=price, version=load.writes))
            elif roll < 0.85:
                await repo.update(key, {"version": load.writes})
            else:
                await repo.delete(key)
            load.writes += 1
        except FirebaseSyncError:
            load.failed += 1  # includes NotFound for updates of deleted keys
        await asyncio.sleep(rng.uniform(0.0, 0.01))
