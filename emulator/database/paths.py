"""Database paths and keys: parsing and Firebase's validation rules.

A path is a tuple of keys, the root being ``()``. Keys are validated as Firebase does (the JS SDK's
``validation.ts``): non-empty, no ``. $ # [ ] /``, no ASCII control characters, at most 768 UTF-8
bytes; a path is at most 32 keys deep.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from ..errors import invalid

Path = tuple[str, ...]

MAX_KEY_BYTES = 768
MAX_DEPTH = 32
#: the one special segment a REST path may end with: the priority of the node above it.
PRIORITY = ".priority"

_FORBIDDEN = re.compile(r"[.$#\[\]/\x00-\x1f\x7f]")


def is_valid_key(key: str) -> bool:
    """Whether ``key`` may name a child."""
    if not key or _FORBIDDEN.search(key):
        return False
    return len(key) * 4 <= MAX_KEY_BYTES or len(key.encode("utf-8")) <= MAX_KEY_BYTES


def check_key(key: str) -> str:
    """Return ``key``; raise ``ServiceError(INVALID_ARGUMENT)`` when it is not a valid key."""
    if not is_valid_key(key):
        raise invalid(
            f"Invalid key {key!r}: keys must be non-empty, at most {MAX_KEY_BYTES} UTF-8 bytes, "
            "and contain no '.', '$', '#', '[', ']', '/' or control characters"
        )
    return key


def check_depth(depth: int) -> None:
    """Raise ``INVALID_ARGUMENT`` when a node would sit deeper than Firebase allows."""
    if depth > MAX_DEPTH:
        raise invalid(f"Path is too deep: at most {MAX_DEPTH} levels are allowed")


def split_relative(text: str) -> tuple[Path, bool]:
    """Parse a ``/``-separated path such as a PATCH key; empty segments are ignored.

    Returns the keys and whether the path ends in ``.priority``. Raises ``INVALID_ARGUMENT``.
    """
    return _keys([seg for seg in text.split("/") if seg])


def parse_url_path(raw: str) -> tuple[Path, bool]:
    """Parse the raw (percent-encoded) path of a REST URL, ``.json`` suffix already removed.

    Each segment is percent-decoded on its own, so an encoded ``/`` stays inside its key (and
    is then refused). Returns the keys and whether the path ends in ``.priority``.
    """
    return _keys([unquote(seg) for seg in raw.split("/") if seg])


def _keys(segments: list[str]) -> tuple[Path, bool]:
    priority = bool(segments) and segments[-1] == PRIORITY
    if priority:
        segments = segments[:-1]
    for seg in segments:
        check_key(seg)
    check_depth(len(segments) + (1 if priority else 0))
    return tuple(segments), priority


def join(path: Path) -> str:
    """Render a path the way events carry it: ``/`` for the root, ``/a/b`` otherwise."""
    return "/" + "/".join(path)


def is_prefix(prefix: Path, path: Path) -> bool:
    """Whether ``prefix`` is ``path`` or one of its ancestors."""
    return path[: len(prefix)] == prefix


_NAMESPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def check_namespace(name: str) -> str:
    """Return ``name`` if it can name a database (and hence an export file), else refuse it."""
    if not _NAMESPACE.fullmatch(name):
        raise invalid(f"Invalid namespace {name!r}: use letters, digits, '-' and '_' (at most 128)")
    return name
