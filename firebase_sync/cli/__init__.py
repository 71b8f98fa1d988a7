"""The ``firebase-sync`` command line (entry point ``firebase_sync.cli:main``)."""

from firebase_sync.cli.group import main

__all__ = ["main"]
