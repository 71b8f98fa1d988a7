"""The fuzz suites' fixture; their helpers live in ``fuzz_support``."""

from __future__ import annotations

import pytest
from fuzz_support import SEED

from firebase_sync.testing import EmulatorHosts


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The full fuzz budgets run only when asked for (``-m slow``), never in a default run."""
    if "slow" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="full fuzz budget: run with -m slow")
    for item in items:
        if item.get_closest_marker("slow") is not None and "tests/fuzz/" in item.nodeid:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name the seed of the randomized ``ci`` fuzz runs, so any run can be replayed."""
    terminalreporter.write_line(f"fuzz seed: {SEED} (replay with FUZZ_SEED={SEED})")


@pytest.fixture(scope="module")
def database_host(emulators: EmulatorHosts) -> str:
    """``host:port`` of the session's Database emulator."""
    return emulators.database_host
