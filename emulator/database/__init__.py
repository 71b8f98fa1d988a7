"""The embedded Firebase Realtime Database emulator (REST + SSE, and the WebSocket protocol).

Layers, bottom up: ``paths`` / ``ordering`` / ``values`` (keys, sort orders, stored nodes),
``tree`` (one namespace's data and writes), ``query``, ``events`` (what a listener sees of a
write), ``pushid``, ``hashing`` (the clients' node hash), ``state`` (namespaces, listeners,
fan-out); then the wire: ``sse``, ``rest``, ``wsproto`` (the WebSocket protocol's facts and
codecs), ``ws`` and ``server`` (``DatabaseEmulator``). Only the wire modules import aiohttp.
"""

from emulator.database.server import DatabaseEmulator

__all__ = ["DatabaseEmulator"]
