"""Firebase's sort orders, as sort keys.

- Keys (``nameCompare``): keys that parse as 32-bit integers come first, numerically (ties by
  length, so ``"1"`` < ``"01"``); every other key follows in string order. JavaScript compares
  UTF-16 code units, so strings are compared through their UTF-16-BE encoding.
- Values: null < false < true < numbers < strings < objects; objects are all equal.
- Priorities: none < numbers < strings.
"""

from __future__ import annotations

import re
from typing import Any

_INT_KEY = re.compile(r"-?(0*)[0-9]{1,10}")
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1

NULL, FALSE, TRUE, NUMBER, STRING, OBJECT = range(6)


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-be", "surrogatepass")


def key_order(key: str) -> tuple[Any, ...]:
    """Sort key implementing Firebase's ``nameCompare``."""
    if _INT_KEY.fullmatch(key):
        number = int(key)
        if _INT32_MIN <= number <= _INT32_MAX:
            return (0, number, len(key))
    return (1, _utf16(key))


def value_rank(value: object) -> tuple[Any, ...]:
    """Sort key of a JSON value under ``$value`` / child ordering (without the key tie-break)."""
    if value is None:
        return (NULL,)
    if value is False:
        return (FALSE,)
    if value is True:
        return (TRUE,)
    if isinstance(value, int | float):
        return (NUMBER, value)
    if isinstance(value, str):
        return (STRING, _utf16(value))
    return (OBJECT,)


def priority_rank(priority: object) -> tuple[Any, ...]:
    """Sort key of a priority under ``$priority`` (without the key tie-break)."""
    if isinstance(priority, bool) or priority is None:
        return (0,)
    if isinstance(priority, int | float):
        return (1, priority)
    if isinstance(priority, str):
        return (2, _utf16(priority))
    return (0,)
