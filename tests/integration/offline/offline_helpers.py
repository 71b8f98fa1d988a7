"""Shared by the offline tests: the model, fast retries, and the rig of repositories."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from firebase_sync import Document, RetryPolicy
from firebase_sync.testing import EmulatorHosts

#: listeners and replays that never give up, and retry fast
PATIENT = RetryPolicy(attempts=None, initial=0.05, maximum=0.2, deadline=None)


class Product(Document):
    name: str
    price: float = 0.0
    stock: int = 0


@dataclass
class Rig:
    """Make repositories behind the proxy (``proxied()``); ``writer`` talks to the emulator."""

    database: str
    writer: Any
    proxy: Any
    hosts: EmulatorHosts
    _made: list[Any]

    def proxied(self) -> Any:
        from google.cloud import firestore

        from firebase_sync import FirestoreRepository, RealtimeRepository
        from firebase_sync.adapters._rtdb_http import RtdbEndpoint

        if self.database == "firestore":
            # FIRESTORE_EMULATOR_HOST names the proxy (set by the fixture).
            client = firestore.AsyncClient(project=self.hosts.project)
            repo: Any = FirestoreRepository(
                Product, "products", client=client, retry=PATIENT, reconnect=PATIENT
            )
        else:
            endpoint = RtdbEndpoint(
                f"http://{self.proxy.address}", self.hosts.database_namespace, emulator=True
            )
            repo = RealtimeRepository(
                Product, "/products", endpoint=endpoint, retry=PATIENT, reconnect=PATIENT
            )
        self._made.append(repo)
        return repo
