"""The value types of the Firestore rules language and the operators on them.

Values are plain Python where the languages agree (``None``, ``bool``, ``int``, ``float``,
``str``, ``bytes``, ``list``, ``dict``) and small classes where they do not: ``RulesPath``,
``Timestamp`` and ``Duration`` (nanoseconds), ``LatLng``, ``RulesSet``, ``MapDiff``. Any
failure raises ``EvaluationError`` with the official emulator's wording where it has one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ...rules.errors import EvaluationError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
NS_PER_S = 1_000_000_000


def null_error() -> EvaluationError:
    return EvaluationError("Null value error.")


@dataclass(frozen=True, slots=True)
class RulesPath:
    """A path such as ``/databases/(default)/documents/users/alice`` (segments without slashes)."""

    segments: tuple[str, ...]

    def __str__(self) -> str:
        return "/" + "/".join(self.segments)


@dataclass(frozen=True, slots=True, order=True)
class Timestamp:
    nanos: int

    @staticmethod
    def from_datetime(moment: datetime) -> Timestamp:
        delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return Timestamp(micros * 1000)

    def to_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.nanos // NS_PER_S, tz=UTC).replace(
            microsecond=(self.nanos % NS_PER_S) // 1000
        )


@dataclass(frozen=True, slots=True, order=True)
class Duration:
    nanos: int


@dataclass(frozen=True, slots=True)
class LatLng:
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class RulesSet:
    """An unordered collection of distinct values (rules equality decides distinctness)."""

    items: tuple[Any, ...]

    @staticmethod
    def of(values: list[Any] | tuple[Any, ...]) -> RulesSet:
        distinct: list[Any] = []
        for value in values:
            if not any(equal(value, seen) for seen in distinct):
                distinct.append(value)
        return RulesSet(tuple(distinct))

    def contains(self, value: Any) -> bool:
        return any(type_name(value) == type_name(item) and equal(value, item)
                   for item in self.items)


@dataclass(frozen=True, slots=True)
class MapDiff:
    """``a.diff(b)``: what changed from ``b`` (the argument) to ``a``."""

    after: dict[str, Any]
    before: dict[str, Any]


class Unbound:
    """A wildcard whose value the request does not fix (the document id of a ``list``)."""


@dataclass(frozen=True, slots=True)
class Bounded:
    """A field a query's range filters bound without fixing (``list`` rules): a comparison
    with it is decided only when every value in the bounds gives the same answer."""

    low: Any = None
    low_inclusive: bool = False
    high: Any = None
    high_inclusive: bool = False


def bounded_compare(op: str, left: Any, right: Any) -> bool:
    """``left <op> right`` where one side is ``Bounded``: true or false for every value the
    bounds allow, else an error (the rule cannot be proven, so it denies)."""
    if isinstance(right, Bounded) and not isinstance(left, Bounded):
        left, right = right, left
        op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
    if isinstance(right, Bounded):
        raise EvaluationError("Cannot compare two query-bounded values.")
    b, c = left, right
    above = b.low is not None  # every value is at or past ``low``
    below = b.high is not None
    low = compare(b.low, c) if above else 0
    high = compare(b.high, c) if below else 0
    if op == ">":
        if above and (low > 0 or (low == 0 and not b.low_inclusive)):
            return True
        if below and high <= 0:
            return False
    elif op == ">=":
        if above and low >= 0:
            return True
        if below and (high < 0 or (high == 0 and not b.high_inclusive)):
            return False
    elif op == "<":
        if below and (high < 0 or (high == 0 and not b.high_inclusive)):
            return True
        if above and low >= 0:
            return False
    elif op == "<=":
        if below and high <= 0:
            return True
        if above and (low > 0 or (low == 0 and not b.low_inclusive)):
            return False
    raise EvaluationError("The query's filters do not decide this comparison.")


UNBOUND = Unbound()


def type_name(value: Any) -> str:
    """The rules type of ``value``, as ``is`` names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes):
        return "bytes"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, RulesPath):
        return "path"
    if isinstance(value, Timestamp):
        return "timestamp"
    if isinstance(value, Duration):
        return "duration"
    if isinstance(value, LatLng):
        return "latlng"
    if isinstance(value, RulesSet):
        return "set"
    if isinstance(value, MapDiff):
        return "map_diff"
    return "unknown"


def is_type(value: Any, name: str) -> bool:
    """``value is name``; ``number`` covers int and float. Unknown type names are an error."""
    if isinstance(value, Bounded):
        raise EvaluationError("The query's filters do not fix this value's type.")
    actual = type_name(value)
    if name == "number":
        return actual in ("int", "float")
    if name not in _TYPE_NAMES:
        raise EvaluationError(f"Unknown type '{name}'.")
    return actual == name


_TYPE_NAMES = frozenset(
    {"null", "bool", "int", "float", "string", "bytes", "list", "map", "path", "timestamp",
     "duration", "latlng", "set", "map_diff", "constraint"}
)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def equal(left: Any, right: Any) -> bool:
    """Rules equality: numbers compare by value across int and float, containers deeply."""
    if isinstance(left, Bounded) or isinstance(right, Bounded):
        raise EvaluationError("The query's filters do not fix this value.")
    if is_number(left) and is_number(right):
        return bool(left == right)
    if type_name(left) != type_name(right):
        return False
    if isinstance(left, list):
        if len(left) != len(right):
            return False
        return all(equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(equal(left[k], right[k]) for k in left)
    if isinstance(left, RulesSet):
        return len(left.items) == len(right.items) and all(right.contains(v) for v in left.items)
    if isinstance(left, float) and math.isnan(left):
        return False
    return bool(left == right)


def compare(left: Any, right: Any) -> int:
    """-1, 0, 1 for ordered types of the same kind; an error otherwise."""
    if is_number(left) and is_number(right):
        if isinstance(left, float) and math.isnan(left) or isinstance(right, float) and math.isnan(
            right
        ):
            raise EvaluationError("Comparison with NaN.")
        return int(left > right) - int(left < right)
    kind = type_name(left)
    if kind != type_name(right) or kind not in ("string", "bytes", "timestamp", "duration"):
        raise EvaluationError(
            f"Unsupported operation error. Received: {kind} < {type_name(right)}."
        )
    if kind == "string":
        a, b = left.encode("utf-8"), right.encode("utf-8")
        return int(a > b) - int(a < b)
    return int(left > right) - int(left < right)


def check_int(value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise EvaluationError("Integer overflow error.")
    return value


def add(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int) and not isinstance(left, bool) and not (
        isinstance(right, bool)
    ):
        return check_int(left + right)
    if is_number(left) and is_number(right):
        return float(left) + float(right)
    if isinstance(left, str) and isinstance(right, str):
        return left + right
    if isinstance(left, Timestamp) and isinstance(right, Duration):
        return Timestamp(left.nanos + right.nanos)
    if isinstance(left, Duration) and isinstance(right, Timestamp):
        return Timestamp(left.nanos + right.nanos)
    if isinstance(left, Duration) and isinstance(right, Duration):
        return Duration(left.nanos + right.nanos)
    raise _unsupported("+", left, right)


def subtract(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int) and not isinstance(left, bool) and not (
        isinstance(right, bool)
    ):
        return check_int(left - right)
    if is_number(left) and is_number(right):
        return float(left) - float(right)
    if isinstance(left, Timestamp) and isinstance(right, Duration):
        return Timestamp(left.nanos - right.nanos)
    if isinstance(left, Timestamp) and isinstance(right, Timestamp):
        return Duration(left.nanos - right.nanos)
    if isinstance(left, Duration) and isinstance(right, Duration):
        return Duration(left.nanos - right.nanos)
    raise _unsupported("-", left, right)


def multiply(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int) and is_number(left) and is_number(right):
        return check_int(left * right)
    if is_number(left) and is_number(right):
        return float(left) * float(right)
    raise _unsupported("*", left, right)


def divide(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int) and is_number(left) and is_number(right):
        if right == 0:
            raise EvaluationError("Divide by zero error.")
        quotient = abs(left) // abs(right)
        return check_int(quotient if (left >= 0) == (right >= 0) else -quotient)
    if is_number(left) and is_number(right):
        if right == 0:
            if left == 0 or math.isnan(left):
                return math.nan
            return math.copysign(math.inf, left) * math.copysign(1.0, right)
        return float(left) / float(right)
    raise _unsupported("/", left, right)


def modulo(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int) and is_number(left) and is_number(right):
        if right == 0:
            raise EvaluationError("Divide by zero error.")
        return int(math.fmod(left, right))
    if is_number(left) and is_number(right):
        if right == 0:
            return math.nan
        return math.fmod(left, right)
    raise _unsupported("%", left, right)


def negate(value: Any) -> Any:
    if isinstance(value, int) and is_number(value):
        return check_int(-value)
    if isinstance(value, float):
        return -value
    if isinstance(value, Duration):
        return Duration(-value.nanos)
    raise EvaluationError(f"Unsupported operation error. Received: -{type_name(value)}.")


def strictly_equal(left: Any, right: Any) -> bool:
    """Equality that also compares types (``in`` does not find ``1`` in ``[1.0]``)."""
    return type_name(left) == type_name(right) and equal(left, right)


def contains(container: Any, value: Any) -> bool:
    """``value in container`` for lists, maps (keys) and sets."""
    if isinstance(container, list):
        return any(strictly_equal(value, item) for item in container)
    if isinstance(container, dict):
        if not isinstance(value, str):
            raise _unsupported("in", value, container)
        return value in container
    if isinstance(container, RulesSet):
        return container.contains(value)
    if container is None:
        raise null_error()
    raise _unsupported("in", value, container)


def truth(value: Any) -> bool:
    """A condition's value: only ``bool`` is allowed."""
    if isinstance(value, bool):
        return value
    if value is None:
        raise null_error()
    raise EvaluationError(f"Condition evaluated to non-boolean value: {type_name(value)}.")


def _unsupported(op: str, left: Any, right: Any) -> EvaluationError:
    return EvaluationError(
        f"Unsupported operation error. Received: {type_name(left)} {op} {type_name(right)}."
    )
