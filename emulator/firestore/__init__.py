"""The embedded Cloud Firestore emulator: gRPC ``google.firestore.v1.Firestore`` plus the
official emulator's HTTP endpoints on one port."""

from .server import FirestoreEmulator

__all__ = ["FirestoreEmulator"]
