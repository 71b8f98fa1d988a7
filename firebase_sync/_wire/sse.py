"""An incremental Server-Sent Events parser: bytes in, ``(event, data)`` frames out.

Follows the EventSource rules: frames end at a blank line; lines end at LF, CR or CRLF;
``data:`` lines are joined with LF; comment lines (``:``) are ignored; ``id`` and ``retry``
are kept. Decodes UTF-8 whatever the Content-Type says.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

__all__ = ["SseEvent", "SseParser"]


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    data: str
    id: str | None = None


class SseParser:
    """Feed raw chunks with :meth:`feed`; get complete events back."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._buffer = ""
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        #: reconnection delay the server asked for, in milliseconds
        self.retry_ms: int | None = None

    def feed(self, chunk: bytes) -> list[SseEvent]:
        text = self._buffer + self._decoder.decode(chunk)
        lines = text.splitlines(keepends=True)
        # A trailing line without its terminator (or a lone CR that may precede LF) waits.
        if lines and (not lines[-1].endswith(("\n", "\r")) or lines[-1].endswith("\r")):
            self._buffer = lines.pop()
        else:
            self._buffer = ""
        events = []
        for line in lines:
            event = self._line(line.rstrip("\r\n"))
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> SseEvent | None:
        if not line:
            if not self._data and not self._event:
                return None
            event = SseEvent(self._event or "message", "\n".join(self._data), self._id)
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None
