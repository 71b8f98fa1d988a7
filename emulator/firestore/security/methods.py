"""Methods of rules values (``s.size()``, ``m.diff(n)``...) and the global namespaces
(``math``, ``timestamp``, ``duration``, ``latlng``, ``hashing``) and conversion functions."""

from __future__ import annotations

import base64
import calendar
import hashlib
import math
import re
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from emulator.rules.errors import EvaluationError

from .types import (
    NS_PER_S,
    Duration,
    LatLng,
    MapDiff,
    RulesPath,
    RulesSet,
    Timestamp,
    check_int,
    equal,
    is_number,
    null_error,
    type_name,
)

Method = Callable[..., Any]
_EARTH_RADIUS_M = 6_371_000.0
_DURATION_UNITS = {
    "w": 7 * 86_400 * NS_PER_S,
    "d": 86_400 * NS_PER_S,
    "h": 3_600 * NS_PER_S,
    "m": 60 * NS_PER_S,
    "s": NS_PER_S,
    "ms": 1_000_000,
    "us": 1_000,
    "ns": 1,
}


def _want(value: Any, kind: str, what: str = "argument") -> Any:
    actual = type_name(value)
    if kind == "number" and is_number(value):
        return value
    if actual != kind:
        if value is None:
            raise null_error()
        raise EvaluationError(f"Function not found error: expected {kind} {what}, got {actual}.")
    return value


def _items(value: Any) -> tuple[Any, ...]:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, RulesSet):
        return value.items
    raise EvaluationError(f"Expected a list or set, got {type_name(value)}.")


def _has(items: tuple[Any, ...], value: Any) -> bool:
    return any(equal(value, item) for item in items)


def _re(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise EvaluationError(f"Invalid regular expression: {exc}.") from None


# ------------------------------------------------------------------------------------- strings
def _string_matches(s: str, pattern: str) -> bool:
    return _re(_want(pattern, "string")).fullmatch(s) is not None


def _string_replace(s: str, pattern: str, replacement: str) -> str:
    literal = _want(replacement, "string")
    return _re(_want(pattern, "string")).sub(lambda _match: literal, s)


def _string_split(s: str, pattern: str) -> list[str]:
    return _re(_want(pattern, "string")).split(s)


_STRING: dict[str, Method] = {
    "size": lambda s: len(s.encode("utf-16-le")) // 2,
    "matches": _string_matches,
    "lower": lambda s: s.lower(),
    "upper": lambda s: s.upper(),
    "trim": lambda s: s.strip(" \t\n\r"),
    "split": _string_split,
    "replace": _string_replace,
    "toUtf8": lambda s: s.encode("utf-8"),
}

# ------------------------------------------------------------------------------ lists and sets
_LIST: dict[str, Method] = {
    "size": lambda v: len(v),
    "hasAll": lambda v, other: all(_has(tuple(v), x) for x in _items(other)),
    "hasAny": lambda v, other: any(_has(tuple(v), x) for x in _items(other)),
    "hasOnly": lambda v, other: all(_has(_items(other), x) for x in v),
    "join": lambda v, sep: _want(sep, "string").join(_want(x, "string", "element") for x in v),
    "concat": lambda v, other: v + list(_want(other, "list")),
    "removeAll": lambda v, other: [x for x in v if not _has(_items(other), x)],
    "toSet": lambda v: RulesSet.of(v),
}
_SET: dict[str, Method] = {
    "size": lambda v: len(v.items),
    "hasAll": lambda v, other: all(v.contains(x) for x in _items(other)),
    "hasAny": lambda v, other: any(v.contains(x) for x in _items(other)),
    "hasOnly": lambda v, other: all(_has(_items(other), x) for x in v.items),
    "difference": lambda v, other: RulesSet.of([x for x in v.items if not _has(_items(other), x)]),
    "intersection": lambda v, other: RulesSet.of([x for x in v.items if _has(_items(other), x)]),
    "union": lambda v, other: RulesSet.of(list(v.items) + list(_items(other))),
}


# ---------------------------------------------------------------------------------------- maps
def _map_get(m: dict[str, Any], key: Any, default: Any) -> Any:
    if isinstance(key, list):
        current: Any = m
        for part in key:
            if not isinstance(current, dict) or _want(part, "string", "key") not in current:
                return default
            current = current[part]
        return current
    return m.get(_want(key, "string", "key"), default)


_MAP: dict[str, Method] = {
    "size": lambda m: len(m),
    "keys": lambda m: list(m.keys()),
    "values": lambda m: list(m.values()),
    "get": _map_get,
    "diff": lambda m, other: MapDiff(m, _want(other, "map")),
}


def _changed(d: MapDiff) -> list[str]:
    return [k for k in d.after if k in d.before and not equal(d.after[k], d.before[k])]


_MAP_DIFF: dict[str, Method] = {
    "addedKeys": lambda d: RulesSet.of([k for k in d.after if k not in d.before]),
    "removedKeys": lambda d: RulesSet.of([k for k in d.before if k not in d.after]),
    "changedKeys": lambda d: RulesSet.of(_changed(d)),
    "unchangedKeys": lambda d: RulesSet.of(
        [k for k in d.after if k in d.before and equal(d.after[k], d.before[k])]
    ),
    "affectedKeys": lambda d: RulesSet.of(
        [k for k in d.after if k not in d.before]
        + [k for k in d.before if k not in d.after]
        + _changed(d)
    ),
}


# ------------------------------------------------------------------------ timestamps, durations
def _dt(t: Timestamp) -> datetime:
    return datetime.fromtimestamp(t.nanos // NS_PER_S, tz=UTC)


def _day_start(t: Timestamp) -> Timestamp:
    moment = _dt(t)
    midnight = calendar.timegm((moment.year, moment.month, moment.day, 0, 0, 0))
    return Timestamp(midnight * NS_PER_S)


_TIMESTAMP: dict[str, Method] = {
    "date": _day_start,
    "year": lambda t: _dt(t).year,
    "month": lambda t: _dt(t).month,
    "day": lambda t: _dt(t).day,
    "hours": lambda t: _dt(t).hour,
    "minutes": lambda t: _dt(t).minute,
    "seconds": lambda t: _dt(t).second,
    "nanos": lambda t: t.nanos % NS_PER_S,
    "time": lambda t: Duration(t.nanos - _day_start(t).nanos),
    "dayOfWeek": lambda t: _dt(t).isoweekday(),
    "dayOfYear": lambda t: _dt(t).timetuple().tm_yday,
    "toMillis": lambda t: t.nanos // 1_000_000,
}
_DURATION: dict[str, Method] = {
    "seconds": lambda d: int(d.nanos / NS_PER_S),
    "nanos": lambda d: d.nanos - int(d.nanos / NS_PER_S) * NS_PER_S,
}


def _distance(a: LatLng, b: Any) -> float:
    other = _want(b, "latlng")
    lat1, lat2 = math.radians(a.latitude), math.radians(other.latitude)
    dlat = lat2 - lat1
    dlng = math.radians(other.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlng / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


_LATLNG: dict[str, Method] = {
    "latitude": lambda v: v.latitude,
    "longitude": lambda v: v.longitude,
    "distance": _distance,
}
_BYTES: dict[str, Method] = {
    "size": lambda b: len(b),
    "toBase64": lambda b: base64.urlsafe_b64encode(b).decode("ascii"),
    "toHexString": lambda b: b.hex().upper(),
}


def _path_bind(p: RulesPath, bindings: Any) -> RulesPath:
    values = _want(bindings, "map")
    out: list[str] = []
    for segment in p.segments:
        if segment.startswith("{") and segment.endswith("}"):
            key = segment[1:-1]
            if key not in values:
                raise EvaluationError(f"Property {key} is undefined on object.")
            out.append(str(values[key]))
        else:
            out.append(segment)
    return RulesPath(tuple(out))


_PATH: dict[str, Method] = {"bind": _path_bind}

METHODS: dict[str, dict[str, Method]] = {
    "string": _STRING,
    "list": _LIST,
    "set": _SET,
    "map": _MAP,
    "map_diff": _MAP_DIFF,
    "timestamp": _TIMESTAMP,
    "duration": _DURATION,
    "latlng": _LATLNG,
    "bytes": _BYTES,
    "path": _PATH,
}


def call_method(target: Any, name: str, args: list[Any]) -> Any:
    """``target.name(*args)``; an unknown method or wrong arity is an error."""
    if target is None:
        raise null_error()
    table = METHODS.get(type_name(target), {})
    method = table.get(name)
    if method is None:
        raise EvaluationError(
            f"Function not found error: Name: [{name}] on type {type_name(target)}."
        )
    try:
        return method(target, *args)
    except TypeError:
        raise EvaluationError(f"Function [{name}] called with the wrong arguments.") from None


# ---------------------------------------------------------------------------------- namespaces
def _timestamp_date(year: Any, month: Any, day: Any) -> Timestamp:
    try:
        moment = datetime(_want(year, "int"), _want(month, "int"), _want(day, "int"), tzinfo=UTC)
    except ValueError:
        raise EvaluationError("Invalid date.") from None
    return Timestamp.from_datetime(moment)


def _duration_value(magnitude: Any, unit: Any) -> Duration:
    scale = _DURATION_UNITS.get(_want(unit, "string"))
    if scale is None:
        raise EvaluationError(f"Invalid duration unit '{unit}'.")
    return Duration(int(_want(magnitude, "int") * scale))


def _duration_time(hours: Any, minutes: Any, seconds: Any, nanos: Any) -> Duration:
    return Duration(
        ((_want(hours, "int") * 60 + _want(minutes, "int")) * 60 + _want(seconds, "int"))
        * NS_PER_S
        + _want(nanos, "int")
    )


def _latlng_value(lat: Any, lng: Any) -> LatLng:
    latitude, longitude = float(_want(lat, "number")), float(_want(lng, "number"))
    if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
        raise EvaluationError("Latitude or longitude out of range.")
    return LatLng(latitude, longitude)


def _hash_input(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(_want(value, "bytes"))


def _round(x: Any) -> float:
    return float(math.floor(float(_want(x, "number")) + 0.5))


NAMESPACES: dict[str, dict[str, Method]] = {
    "math": {
        "abs": lambda x: abs(_want(x, "number")),
        "ceil": lambda x: float(math.ceil(_want(x, "number"))),
        "floor": lambda x: float(math.floor(_want(x, "number"))),
        "round": _round,
        "trunc": lambda x: float(math.trunc(_want(x, "number"))),
        "isInfinite": lambda x: math.isinf(_want(x, "number")),
        "isNaN": lambda x: math.isnan(_want(x, "number")),
        "pow": lambda x, y: math.pow(_want(x, "number"), _want(y, "number")),
        "sqrt": lambda x: math.sqrt(_want(x, "number")) if x >= 0 else math.nan,
    },
    "timestamp": {
        "date": _timestamp_date,
        "value": lambda millis: Timestamp(_want(millis, "int") * 1_000_000),
    },
    "duration": {
        "value": _duration_value,
        "time": _duration_time,
        "abs": lambda d: Duration(abs(_want(d, "duration").nanos)),
    },
    "latlng": {"value": _latlng_value},
    "hashing": {
        "md5": lambda v: hashlib.md5(_hash_input(v)).digest(),
        "sha256": lambda v: hashlib.sha256(_hash_input(v)).digest(),
        "crc32": lambda v: zlib.crc32(_hash_input(v)).to_bytes(4, "big"),
    },
}


def to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise EvaluationError("Cannot convert bool to int.")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise EvaluationError("Cannot convert to int.")
        return check_int(int(value))
    if isinstance(value, str):
        try:
            return check_int(int(value.strip()))
        except ValueError:
            raise EvaluationError(f"Cannot convert '{value}' to int.") from None
    raise EvaluationError(f"Cannot convert {type_name(value)} to int.")


def to_float(value: Any) -> float:
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise EvaluationError(f"Cannot convert '{value}' to float.") from None
    raise EvaluationError(f"Cannot convert {type_name(value)} to float.")


def to_string(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, RulesPath):
        return str(value)
    raise EvaluationError(f"Cannot convert {type_name(value)} to string.")


def to_path(value: Any) -> RulesPath:
    if isinstance(value, RulesPath):
        return value
    text = _want(value, "string")
    return RulesPath(tuple(part for part in text.split("/") if part))

