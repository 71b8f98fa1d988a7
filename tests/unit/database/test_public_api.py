"""The package's public surface and its fit to the suite's service contract."""

from __future__ import annotations

import inspect

import firebase_sync_emulator.database
from firebase_sync_emulator.database import DatabaseEmulator
from firebase_sync_emulator.service import EmulatorService


def test_all() -> None:
    assert firebase_sync_emulator.database.__all__ == ["DatabaseEmulator"]


def test_fulfils_the_service_protocol() -> None:
    service: EmulatorService = DatabaseEmulator(project="demo-x", keepalive_interval=1.0)
    assert service.name == "database"
    for method in ("start", "stop"):
        assert inspect.iscoroutinefunction(getattr(service, method))
    for method in ("reset", "export_data", "import_data"):
        assert callable(getattr(service, method))
