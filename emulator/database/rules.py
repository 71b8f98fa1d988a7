"""Security rules text: stored as given, checked to be JSON once comments are stripped.

Rules are not evaluated yet (``Bearer owner`` and everyone else may read and write).
"""

from __future__ import annotations

import json
import re

from emulator.database.values import Json, check_text
from emulator.errors import ServiceError, invalid

#: what firebase-tools' emulator assumes when no rules file is configured: open access.
DEFAULT_RULES = '{\n  "rules": {\n    ".read": true,\n    ".write": true\n  }\n}\n'

# Strings first, so "//" inside a string is not taken for a comment.
_TOKENS = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.DOTALL)


def parse_rules(text: str) -> Json:
    """The rules document as JSON (comments removed; trailing commas are not accepted).

    Raises ``ServiceError(INVALID_ARGUMENT)`` when it is not a JSON object with ``"rules"``,
    nests too deeply to parse, or holds a lone UTF-16 surrogate (raw, or as a ``\\ud800``
    escape), which no UTF-8 response could carry back.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid("Invalid rules: not valid Unicode text") from None
    stripped = _TOKENS.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " ", text)
    try:
        parsed: Json = json.loads(stripped, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise invalid(f"Error saving rules - Line {exc.lineno}: {exc.msg}.") from None
    except ValueError as exc:
        raise invalid(f"Error saving rules - Line 1: {exc}") from None
    except RecursionError:
        raise invalid("Invalid rules: nested too deeply") from None
    try:
        check_text(parsed)
    except ServiceError:
        raise invalid("Invalid rules: strings must be valid UTF-16 (lone surrogate)") from None
    if not isinstance(parsed, dict) or "rules" not in parsed:
        raise invalid('Invalid rules: expected an object with a top-level "rules" key')
    return parsed


def _refuse_constant(name: str) -> Json:
    raise ValueError(f"{name} is not JSON")
