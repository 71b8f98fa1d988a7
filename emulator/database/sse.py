"""Server-sent event frames exactly as firebase-admin's ``_sseclient`` parses them.

One ``event:`` line, one ``data:`` line of ASCII-only JSON, LF line endings, a blank line. Never
comments: the SDK's listener dies on them.
"""

from __future__ import annotations

import json

from .events import Event

CONTENT_TYPE = "text/event-stream; charset=utf-8"
KEEP_ALIVE = b"event: keep-alive\ndata: null\n\n"
CANCEL = b"event: cancel\ndata: null\n\n"


def frame(event: Event) -> bytes:
    """Encode a ``put`` / ``patch`` event."""
    data = json.dumps(event.payload(), ensure_ascii=True, separators=(",", ":"))
    return f"event: {event.name}\ndata: {data}\n\n".encode("ascii")
