"""The worker the crash-safety test kills: it queues increments to a Firestore document and
an RTDB child through offline repositories sharing one cache, while their flushers replay.

Each write increments ``n`` and sets a unique ``seen.<tag>``: a write applied twice shows as
``n > len(seen)``, a lost one as an acknowledged tag missing from ``seen``. A tag is written
to the acknowledgement file only after the write call returned (it is on disk by then).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

# Imported here, not in the worker: the fork server loads them once for every worker.
from google.cloud import firestore

from firebase_sync import Deadlines, Document, FirestoreRepository, RealtimeRepository, RetryPolicy
from firebase_sync.adapters._rtdb_http import RtdbEndpoint
from firebase_sync.offline import Increment, LocalCache, OfflineRepository

FAST = RetryPolicy(attempts=None, initial=0.02, maximum=0.1, deadline=None)


class Counter(Document):
    n: int = 0
    seen: dict[str, bool] = {}


def run(config: dict[str, Any]) -> None:
    """Process entry point: ``config["mode"]`` is ``"write"`` (until killed) or ``"drain"``."""
    os.environ.update(config["environment"])
    asyncio.run(_main(config))


async def _main(config: dict[str, Any]) -> None:
    client = firestore.AsyncClient(project=config["project"])
    # Short deadlines when the test holds connections: a held replay times out and is retried.
    seconds = config.get("deadline")
    deadlines = (
        Deadlines(
            connect=seconds, read=seconds, request=seconds, first_byte=seconds, replay=seconds
        )
        if seconds
        else Deadlines()
    )
    endpoint = RtdbEndpoint(
        f"http://{config['database_host']}", config["namespace"], emulator=True, deadlines=deadlines
    )
    repos: list[Any] = [
        FirestoreRepository(Counter, "counters", client=client, deadlines=deadlines),
        RealtimeRepository(Counter, "/counters", endpoint=endpoint),
    ]
    acks = os.open(config["acks"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(acks, b"start\n")
    with LocalCache(config["cache"]) as cache:
        offline = [
            OfflineRepository(repo, cache, queue="always", replay_policy=FAST) for repo in repos
        ]
        for each in offline:
            each.start()
        if config["mode"] == "drain":
            for each in offline:
                await each.flush(timeout=60)
            already = sum(each.statistics().already_applied for each in offline)
            os.write(acks, f"drained {already}\n".encode())
            os.close(acks)
            for each in offline:
                await each.aclose()
            await endpoint.aclose()
            return
        reported = 0
        while True:
            for name, each in zip(("fs", "rtdb"), offline, strict=True):
                tag = uuid.uuid4().hex[:12]
                await each.update("c", {"n": Increment(1), f"seen.{tag}": True})
                os.write(acks, f"ack {name} {tag}\n".encode())
            already = sum(each.statistics().already_applied for each in offline)
            if already != reported:
                os.write(acks, f"already {already - reported}\n".encode())
                reported = already
            # Keep the queue short so that kills land during replays, not only enqueues.
            while sum(each.statistics().queue_depth for each in offline) > 10:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
