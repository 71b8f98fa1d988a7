"""The fuzz suites' fixture; their helpers live in ``fuzz_support``."""

from __future__ import annotations

import pytest

from firebase_sync.testing import EmulatorHosts


@pytest.fixture(scope="module")
def database_host(emulators: EmulatorHosts) -> str:
    """``host:port`` of the session's Database emulator."""
    return emulators.database_host
