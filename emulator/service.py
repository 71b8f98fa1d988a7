"""The contract every emulator service (database, firestore, hub) fulfils for the suite."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class EmulatorService(Protocol):
    """One emulator listening on one port, driven from the suite's asyncio loop."""

    #: the name firebase.json and the hub use: "database", "firestore", "hub".
    name: str

    async def start(self, host: str, port: int) -> int:
        """Bind and serve; return the port actually bound (``port=0`` picks a free one).

        Raises ``OSError`` (errno EADDRINUSE) when the port is taken.
        """

    async def stop(self) -> None:
        """Close every client stream cleanly (SSE ends, Listen gets CANCELLED), then the port."""

    def reset(self) -> None:
        """Forget all data (every namespace / project)."""

    def export_data(self, directory: Path) -> dict[str, object]:
        """Write all data under ``directory`` atomically; return this service's entry for
        ``firebase-export-metadata.json`` (e.g. ``{"version": "...", "path": "database_export"}``).
        """

    def import_data(self, directory: Path, metadata: dict[str, object]) -> None:
        """Load data written by ``export_data`` (``metadata`` is this service's entry)."""
