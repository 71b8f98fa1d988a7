"""A Java-free Firebase Emulator Suite: Realtime Database (REST + SSE) and Firestore (gRPC).

The unmodified official SDKs talk to it through ``FIREBASE_DATABASE_EMULATOR_HOST`` and
``FIRESTORE_EMULATOR_HOST``. This package never imports ``firebase_sync``.
"""

from .config import EmulatorConfig, load_config
from .errors import ServiceError
from .suite import EmulatorSuite, RunningSuite

__all__ = ["EmulatorConfig", "EmulatorSuite", "RunningSuite", "ServiceError", "load_config"]
