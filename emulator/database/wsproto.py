"""The Realtime Database wire protocol (version 5) spoken over ``/.ws``: pure codecs, no I/O.

Facts, from the clients' public source (firebase-js-sdk ``realtime/`` and
``core/PersistentConnection.ts``; the Android and iOS SDKs speak the same protocol):

Connection
  ``GET /.ws?v=5&ns=<namespace>[&ls=<last session>][&p=<app id>][&ac=<App Check>]`` upgraded to
  a WebSocket. The server speaks first, with the handshake
  ``{"t":"c","d":{"t":"h","d":{"ts":<ms>,"v":"5","h":<host>,"s":<session id>}}}``; the client
  takes ``ts`` for its server time offset and ``s`` as the ``ls`` of its next connection.
  Every message is one JSON object ``{"t": "c"|"d", "d": ...}``: ``c`` is control, ``d`` data.

Frames
  A message longer than 16,384 characters is sent as a frame holding only the decimal count of
  the frames that follow (at most 6 characters), then the message cut into pieces of at most
  16,384 characters. Any frame of at most 6 characters that is a number is such a count (so
  the server never sends a bare number as a keep-alive: a client would wait for 0 frames
  forever). The client sends ``"0"`` every 45 s of silence as its keep-alive. Control
  ``{"t":"p"}`` (ping) is answered with ``{"t":"o"}`` (pong).

Requests (client to server)
  ``{"t":"d","d":{"r":<request number>,"a":<action>,"b":<body>}}``, answered
  ``{"t":"d","d":{"r":<same>,"b":{"s":<status>,"d":<data>}}}``; ``s`` is ``"ok"`` or an
  error code (``permission_denied``, ``datastale``, ``invalid_token``, ...) whose ``d`` is a
  message. Actions: ``auth`` / ``gauth`` ``{cred[, authvar | noauth]}`` (``gauth`` for tokens
  that are not JWTs, such as the admin SDK's emulator token ``owner``), ``unauth``,
  ``appcheck`` ``{token}``, ``unappeck``, ``s`` ``{c: counters}`` (stats), ``p`` / ``m``
  ``{p, d[, h]}`` (set / merge; ``h`` is the client's hash of the data it expects, and a
  mismatch answers ``datastale``), ``q`` ``{p, h[, q, t]}`` (listen; ``q`` and the numeric tag
  ``t`` only for filtered queries), ``n`` ``{p[, q, t]}`` (unlisten), ``g`` ``{p, q}`` (get,
  answered with the data), ``o`` / ``om`` ``{p, d}`` and ``oc`` ``{p}`` (onDisconnect set,
  merge, cancel). Paths are ``/``-separated; a set whose path ends in ``/.priority`` sets a
  priority. Data may hold ``.priority``, ``.value`` and ``.sv`` server values.

Pushes (server to client)
  ``{"t":"d","d":{"a":"d"|"m","b":{"p":<path>,"d":<data>[,"t":<tag>]}}}``: ``d`` overwrites
  the node at ``p``, ``m`` merges (each key a relative path, ``null`` deleting). Paths are
  absolute; data is in export form (priorities included). A listen is answered by a push of
  its current data, then by the ``ok`` response. Pushes tagged ``t`` belong to that filtered
  query only and hold only what is inside its window.

Query objects
  ``sp`` / ``sn`` / ``sin``: start value, start key name, start inclusive; ``ep`` / ``en`` /
  ``ein`` for the end; ``l`` limit with ``vf`` ``"l"`` (first) or ``"r"`` (last); ``i`` index
  ``.key``, ``.value``, ``.priority`` (the default, then absent) or a child path ``a/b``.
  Names may be ``[MIN_NAME]`` / ``[MAX_NAME]``; ``startAfter`` is ``sin: false`` (with
  ``sn: "[MAX_NAME]"`` when no key is given), ``endBefore`` is ``ein: false``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from emulator.database.paths import Path, check_depth, check_key
from emulator.database.query import KEY, PRIORITY, UNBOUNDED, VALUE, Query
from emulator.database.values import Json
from emulator.errors import invalid

PROTOCOL_VERSION = "5"
MAX_FRAME_CHARS = 16384
#: the longest frame a count may be written in (the clients' own limit).
MAX_COUNT_CHARS = 6
_COUNT = re.compile(r"[0-9]{1,6}")
_WIRE_INDEX = {".key": KEY, ".value": VALUE, ".priority": PRIORITY}


class FrameError(Exception):
    """A frame sequence no client would send (the connection should be closed)."""


class FrameAssembler:
    """Joins incoming frames into messages; refuses messages over ``max_chars``."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self._expected = 0
        self._parts: list[str] = []
        self._size = 0

    def feed(self, frame: str) -> str | None:
        """Take one text frame; return a complete message, or ``None`` while one is pending.

        A lone ``"0"`` (the keep-alive) and other counts return ``None``. Raises
        ``FrameError`` when the announced or received size passes ``max_chars``.
        """
        if not self._expected:
            if len(frame) <= MAX_COUNT_CHARS and _COUNT.fullmatch(frame):
                count = int(frame)
                if count > 1 + self.max_chars // MAX_FRAME_CHARS:
                    raise FrameError(f"{count} frames announced: the message would be too large")
                self._expected = count
                return None
            if len(frame) > self.max_chars:
                raise FrameError("message too large")
            return frame
        self._size += len(frame)
        if self._size > self.max_chars:
            raise FrameError("message too large")
        self._parts.append(frame)
        if len(self._parts) < self._expected:
            return None
        message = "".join(self._parts)
        self._expected, self._parts, self._size = 0, [], 0
        return message


def split_frames(message: str) -> list[str]:
    """The frames carrying ``message``: itself, or a count then pieces of 16,384 characters."""
    if len(message) <= MAX_FRAME_CHARS:
        return [message]
    pieces = [message[i : i + MAX_FRAME_CHARS] for i in range(0, len(message), MAX_FRAME_CHARS)]
    return [str(len(pieces)), *pieces]


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps(value: Json | dict[str, Any]) -> str:
    """Compact JSON, non-ASCII kept as is (WebSocket text frames are UTF-8)."""
    return _ENCODER.encode(value)


def handshake(ts_ms: int, host: str, session: str) -> str:
    """The server's first message."""
    return dumps(
        {
            "t": "c",
            "d": {"t": "h", "d": {"ts": ts_ms, "v": PROTOCOL_VERSION, "h": host, "s": session}},
        }
    )


PONG = dumps({"t": "c", "d": {"t": "o", "d": {}}})


def response(request: int | str, status: str, data_json: str) -> str:
    """The answer to request ``request``; ``data_json`` is already JSON text."""
    return (
        '{"t":"d","d":{"r":'
        + dumps(request)
        + ',"b":{"s":'
        + dumps(status)
        + ',"d":'
        + data_json
        + "}}}"
    )


def push(action: str, path: Path, data_json: str, tag: int | None = None) -> str:
    """A ``d`` (set) or ``m`` (merge) push; ``data_json`` is already JSON text."""
    tail = "" if tag is None else ',"t":' + str(tag)
    return (
        '{"t":"d","d":{"a":"'
        + action
        + '","b":{"p":'
        + dumps("/".join(path))
        + ',"d":'
        + data_json
        + tail
        + "}}}"
    )


def parse_path(text: object) -> tuple[Path, bool]:
    """A request's ``p``: the keys and whether it ends in ``.priority``. ``INVALID_ARGUMENT``."""
    if not isinstance(text, str):
        raise invalid("p must be a path string")
    segments = [seg for seg in text.split("/") if seg]
    priority = bool(segments) and segments[-1] == ".priority"
    if priority:
        segments = segments[:-1]
    for seg in segments:
        check_key(seg)
    check_depth(len(segments) + (1 if priority else 0))
    return tuple(segments), priority


def parse_query(obj: object) -> Query | None:
    """A query object as ``Query``; ``None`` for the default (unfiltered) query.

    Raises ``INVALID_ARGUMENT`` for anything the clients would not send.
    """
    if obj is None or obj == {}:
        return None
    if not isinstance(obj, dict):
        raise invalid("q must be an object")
    unknown = set(obj) - {"sp", "sn", "sin", "ep", "en", "ein", "l", "vf", "i"}
    if unknown:
        raise invalid(f"Unknown query parameters {sorted(unknown)}")
    order_by = PRIORITY
    child: Path = ()
    index = obj.get("i", ".priority")
    if not isinstance(index, str) or not index:
        raise invalid("i must be an index name")
    if index in _WIRE_INDEX:
        order_by = _WIRE_INDEX[index]
    else:
        child, is_priority = parse_path(index)
        if is_priority and not child:
            order_by = PRIORITY
        elif is_priority or not child:
            raise invalid(f"Invalid index {index!r}")
        else:
            order_by = "/".join(child)
    limit_first = limit_last = None
    if "l" in obj:
        limit = obj["l"]
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit < 2**31:
            raise invalid("l must be a non-negative 32-bit integer")
        view_from = obj.get("vf", "l")
        if view_from == "l":
            limit_first = limit
        elif view_from == "r":
            limit_last = limit
        else:
            raise invalid("vf must be 'l' or 'r'")
    return Query(
        order_by=order_by,
        child=child,
        start=_bound(obj, "sp", order_by) if "sp" in obj else UNBOUNDED,
        end=_bound(obj, "ep", order_by) if "ep" in obj else UNBOUNDED,
        limit_first=limit_first,
        limit_last=limit_last,
        start_name=_name(obj, "sn"),
        end_name=_name(obj, "en"),
        start_after=not _flag(obj, "sin"),
        end_before=not _flag(obj, "ein"),
    )


def _bound(obj: dict[str, Any], name: str, order_by: str) -> Json:
    value = obj[name]
    if isinstance(value, dict | list):
        raise invalid(f"{name} must be a primitive")
    if isinstance(value, float) and value != value:
        raise invalid(f"{name} must be a number")
    if order_by == KEY and not isinstance(value, str):
        raise invalid(f"{name} must be a string when ordering by key")
    if order_by == PRIORITY and isinstance(value, bool):
        raise invalid(f"{name} must be null, a number or a string when ordering by priority")
    result: Json = value
    return result


def _name(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid(f"{name} must be a key name")
    return value


def _flag(obj: dict[str, Any], name: str) -> bool:
    value = obj.get(name, True)
    if not isinstance(value, bool):
        raise invalid(f"{name} must be a boolean")
    return value
