"""Rules tests run against our emulator and, where Java and its JAR are installed, the official one.

``firestore_targets`` yields ``(label, host)`` pairs; each test runs its requests against every
target, so a difference in any answer fails the test, naming the emulator that gave it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from firebase_sync.testing import EmulatorHosts

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def official_firestore() -> Iterator[str | None]:
    """The official Cloud Firestore emulator on a free port, or ``None`` where it is absent."""
    from tools.official_firestore import OfficialFirestore, unavailable_reason

    reason = unavailable_reason()
    if reason is not None:
        print(f"\nofficial Firestore emulator unavailable ({reason}): rules checked on ours only")
        yield None
        return
    official = OfficialFirestore()
    try:
        official.start()
    except RuntimeError as exc:
        print(f"\nofficial Firestore emulator did not start: rules checked on ours only\n{exc}")
        yield None
        return
    try:
        yield official.host
    finally:
        official.stop()


@pytest.fixture(scope="session")
def firestore_targets(
    emulators: EmulatorHosts, official_firestore: str | None
) -> list[tuple[str, str]]:
    """``("ours", host)`` and, when installed, ``("official", host)``."""
    targets = [("ours", emulators.firestore_host)]
    if official_firestore is not None:
        targets.append(("official", official_firestore))
    return targets
