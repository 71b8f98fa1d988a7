"""The embedded Firebase Realtime Database emulator (REST + SSE streaming).

Layers, bottom up: ``paths`` / ``ordering`` / ``values`` (keys, sort orders, stored nodes),
``tree`` (one namespace's data and writes), ``query``, ``events`` (what a listener sees of a
write), ``pushid``, ``state`` (namespaces, listeners, fan-out); then the wire: ``sse``, ``rest``
and ``server`` (``DatabaseEmulator``). Only the wire modules import aiohttp.
"""

from emulator.database.server import DatabaseEmulator

__all__ = ["DatabaseEmulator"]
