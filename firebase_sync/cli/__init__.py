"""The ``firebase-sync`` command line (entry point ``firebase_sync.cli:main``)."""

from firebase_sync.cli import data as _data  # noqa: F401  (each module registers commands)
from firebase_sync.cli import emulators as _emulators  # noqa: F401
from firebase_sync.cli.group import main

__all__ = ["main"]
