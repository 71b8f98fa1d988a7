"""An incremental Server-Sent Events parser: bytes in, ``(event, data)`` frames out.

Follows the EventSource rules: frames end at a blank line; lines end at LF, CR or CRLF;
``data:`` lines are joined with LF; comment lines (``:``) are ignored; ``id`` and ``retry``
are kept. Decodes UTF-8 whatever the Content-Type says.

The work is linear in the bytes fed, however they are chunked: a large event arriving in
many small reads (TLS records are about 16 KB) is decoded once, only each new chunk is
searched for line ends, and an unfinished line is kept as pieces joined once it ends.
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
    """Feed raw chunks with :meth:`feed`; get complete events back.

    Raises :class:`UnicodeDecodeError` if the stream is not UTF-8.
    """

    def __init__(self) -> None:
        # Incremental: a multi-byte character split between chunks is decoded when complete.
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        #: pieces of the line not yet ended, joined once its end arrives
        self._partial: list[str] = []
        # The last chunk ended with CR: an LF opening the next chunk completes that CRLF.
        self._skip_lf = False
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        #: reconnection delay the server asked for, in milliseconds
        self.retry_ms: int | None = None

    def feed(self, chunk: bytes) -> list[SseEvent]:
        text = self._decoder.decode(chunk)
        if not text:
            return []
        size = len(text)
        pos = 0
        if self._skip_lf:
            self._skip_lf = False
            if text[0] == "\n":
                pos = 1
        events = []
        # Next LF and CR at or after pos (-1: none left). Each is searched for again only
        # once passed, so every character is scanned at most once per kind of line end.
        lf = text.find("\n", pos)
        cr = text.find("\r", pos)
        while lf >= 0 or cr >= 0:
            end = lf if cr < 0 or 0 <= lf < cr else cr
            line = text[pos:end]
            if self._partial:
                self._partial.append(line)
                line = "".join(self._partial)
                self._partial.clear()
            pos = end + 1
            if text[end] == "\r":
                if pos == size:
                    self._skip_lf = True
                elif text[pos] == "\n":
                    pos += 1
            if 0 <= lf < pos:
                lf = text.find("\n", pos)
            if 0 <= cr < pos:
                cr = text.find("\r", pos)
            event = self._line(line)
            if event is not None:
                events.append(event)
        if pos < size:
            self._partial.append(text[pos:])
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
