"""Hypothesis strategies for hostile Realtime Database REST requests, and their expected outcome.

A generated request is either *invalid* (it carries at least one labelled defect, each defect
knowing the status it must produce) or a *valid read*. Valid writes are never generated: a write
without a defect gets a stale ``if-match`` added, so every write must be refused and the stored
data must not move. Path and query validity are decided by a small oracle written from the
shared protocol notes, ``rtdb-protocol.md`` (keys, depth, query parameter rules), applied to the
request exactly as it travels (raw ``&``, ``+``, ``#``, percent-encoding), not to what the
generator meant.

Inputs that once crashed the emulator are generated too (see ``REGRESSIONS`` in
``test_fuzz_rtdb.py``): lone surrogates in bodies, infinite priorities, ``%0A`` in paths, huge
limits and integers, deeply nested query parameters.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from hypothesis import strategies as st

METHODS = ("GET", "PUT", "POST", "PATCH", "DELETE")
#: methods aiohttp's parser knows but the database refuses (JSON 400 from the handler).
EXOTIC_METHODS = ("OPTIONS", "TRACE", "PROPFIND", "MKCOL", "PURGE", "LINK", "SEARCH", "HEAD")
WRITE_SIZE_LIMITS = ("tiny", "small", "medium", "large", "unlimited")
QUERY_PARAMS = ("orderBy", "startAt", "endAt", "equalTo", "limitToFirst", "limitToLast")
KNOWN_PARAMS = (*QUERY_PARAMS, "print", "format", "shallow", "writeSizeLimit", "ns")
MAX_KEY_BYTES = 768
#: aiohttp's limit on the request line, in bytes
MAX_REQUEST_LINE = 8190
#: the largest limitToFirst / limitToLast (a signed 32-bit integer)
MAX_LIMIT = 2**31 - 1
MAX_DEPTH = 32
PRIORITY = ".priority"
_FORBIDDEN = re.compile(r"[.$#\[\]/\x00-\x1f\x7f]")
_NAMESPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_ETAG_SHAPE = re.compile(r"[A-Za-z0-9+/]{27}=")

# ------------------------------------------------------------------------------ the oracle


def valid_key(key: str) -> bool:
    """Firebase's key rule: non-empty, no ``. $ # [ ] /`` or controls, at most 768 bytes."""
    return bool(key) and not _FORBIDDEN.search(key) and len(key.encode("utf-8")) <= MAX_KEY_BYTES


def valid_relative_path(text: str) -> tuple[bool, bool]:
    """(valid, ends in ``.priority``) for a ``/``-separated path; empty segments are ignored."""
    segments = [seg for seg in text.split("/") if seg]
    priority = bool(segments) and segments[-1] == PRIORITY
    keys = segments[:-1] if priority else segments
    ok = all(valid_key(k) for k in keys) and len(segments) <= MAX_DEPTH
    return ok, priority


def parse_raw_query(raw: str) -> dict[str, str]:
    """What the server sees: the part before any ``#``, split on ``&``, each side unquoted."""
    params: dict[str, str] = {}
    for part in raw.split("#", 1)[0].split("&"):
        if part:
            name, _, value = part.partition("=")
            params[unquote(name)] = unquote(value)
    return params


def _strict_json(text: str) -> tuple[bool, Any]:
    def refuse(name: str) -> Any:
        raise ValueError(name)

    try:
        return True, json.loads(text, parse_constant=refuse)
    except (ValueError, RecursionError):
        return False, None


def _valid_limit(text: str) -> bool:
    digits = text.lstrip("0") or "0"
    return text.isascii() and text.isdigit() and len(digits) <= 10 and int(digits) <= MAX_LIMIT


def query_defects(params: dict[str, str]) -> list[str]:
    """Why a decoded query string is refused (empty when it is acceptable)."""
    defects: list[str] = []
    allowed = {
        "print": ("silent", "pretty"),
        "format": ("export",),
        "shallow": ("true", "false"),
        "writeSizeLimit": WRITE_SIZE_LIMITS,
    }
    for name, values in allowed.items():
        if name in params and params[name] not in values:
            defects.append(f"bad {name}")
    if "ns" in params and not _NAMESPACE.fullmatch(params["ns"]):
        defects.append("bad ns")
    if not any(name in params for name in QUERY_PARAMS):
        return defects
    order = "$priority"
    if "orderBy" in params:
        ok, value = _strict_json(params["orderBy"])
        if not ok or not isinstance(value, str) or not value:
            return [*defects, "orderBy not a JSON string"]
        order = value
        if value not in ("$key", "$value", "$priority"):
            path_ok, priority = valid_relative_path(value)
            if not path_ok or not [seg for seg in value.split("/") if seg]:
                return [*defects, "orderBy not a path"]
            if priority:
                order = "$priority"  # "a/.priority" orders by priority, like ".priority"
    elif any(name in params for name in ("startAt", "endAt", "equalTo")):
        defects.append("bound without orderBy")
    if "equalTo" in params and ("startAt" in params or "endAt" in params):
        defects.append("equalTo with a range")
    if "limitToFirst" in params and "limitToLast" in params:
        defects.append("two limits")
    for name in ("startAt", "endAt", "equalTo"):
        if name in params:
            ok, value = _strict_json(params[name])
            if not ok or isinstance(value, dict | list):
                defects.append(f"{name} not a JSON primitive")
            elif order == "$key" and not isinstance(value, str):
                defects.append(f"{name} not a string for $key")
            elif order == "$priority" and isinstance(value, bool):
                defects.append(f"{name} boolean for $priority")
    for name in ("limitToFirst", "limitToLast"):
        if name in params and not _valid_limit(params[name]):
            defects.append(f"{name} not an integer from 0 to 2**31 - 1")
    return defects


# ------------------------------------------------------------------------------ requests


@dataclass(repr=False)
class FuzzRequest:
    """One generated request and the statuses it may legitimately get."""

    method: str
    target: str
    body: bytes | None
    headers: dict[str, str]
    #: defect label -> status it must produce; empty for a valid read
    defects: dict[str, int] = field(default_factory=dict)
    #: decoded path keys and whether it addresses a priority (for checking valid reads)
    keys: tuple[str, ...] = ()
    priority: bool = False
    params: dict[str, str] = field(default_factory=dict)

    @property
    def expected(self) -> set[int]:
        """Allowed statuses: the defects' own, or a successful read."""
        return set(self.defects.values()) if self.defects else {200, 204}

    def __repr__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        body = self.body if self.body is None or len(self.body) < 300 else self.body[:300] + b"..."
        return (
            f"{self.method} {self.target[:400]!r} headers={self.headers} body={body!r} "
            f"defects={self.defects}"
        )


SEED: dict[str, Any] = {
    "users": {
        "alice": {"age": 31, "name": "Alice", ".priority": 2},
        "bob": {"age": 27, "name": "Bob Ü ✓", "tags": {"0": "a", "1": "b"}},
        "-Nxyz": {"age": {".value": 5, ".priority": "p"}, "name": "Z"},
    },
    # 2**53 + 2: beyond the safe integers but a double, so stored exactly (2**53 + 1 would round).
    "counters": {"hits": 10, "ratio": 0.5, "big": 9007199254740994},
    "flags": {"on": True, "off": False},
    "list": {"0": "zero", "1": "one", "2": {"two": 2}},
    "deep": {"a": {"b": {"c": {"d": "leaf"}}}},
    "sp ace": {"%zz": "percent", "ünï": "code"},
}
SEED_KEYS = (
    "users",
    "alice",
    "bob",
    "-Nxyz",
    "age",
    "name",
    "counters",
    "hits",
    "list",
    "0",
    "2",
    "deep",
    "a",
    "b",
    "c",
    "d",
    "sp ace",
    "%zz",
    "ünï",
    "missing",
)

# --------------------------------------------------------------------- random building blocks
# Hypothesis draws the structure of each request (method, which parts are broken and how) and
# a seeded ``random.Random`` for the details: a draw costs about 0.1 ms, and 10,000 requests
# with a hundred draws each would take minutes.

_ALPHABETS = (
    "abcxyz019_-",
    "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 !\"%&'()*+,:;<=>?@\\^`{|}~",
    "éüßøñ中文字✓€😀\u200b\ufeff\ufffd\u0300",
)
_FORBIDDEN_CHARS = list(".$#[]/") + [chr(c) for c in range(0x20)] + ["\x7f"]
#: lone UTF-16 surrogates: JSON can escape them, no key or string may hold them (bodies only:
#: a URL cannot even encode them).
_LONE_SURROGATES = ("\ud800", "\udbff", "\udc00", "\udfff")


def rand_text(rng: random.Random, low: int = 0, high: int = 12) -> str:
    """Text without ``. $ # [ ] /`` or control characters (so a valid key when non-empty)."""
    alphabet = rng.choice(_ALPHABETS)
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def gen_key(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return rng.choice(SEED_KEYS)
    if kind == 1:
        return str(rng.randint(-5, 40))
    return rand_text(rng, 1, 12)


def gen_bad_key(rng: random.Random) -> str:
    if rng.randrange(2):
        return rng.choice(
            [
                "",
                "a.b",
                ".x",
                ".sv",
                "$a",
                "a#",
                "[",
                "]",
                "a/b",
                "\x00",
                "\x1f",
                "\x7f",
                "x" * 769,
                "é" * 385,
                "😀" * 193,
                ".priority.x",
                "..",
                "$key",
            ]
        )
    return rand_text(rng, 0, 5) + rng.choice(_FORBIDDEN_CHARS) + rand_text(rng, 0, 5)


def json_leaf(rng: random.Random) -> Any:
    kind = rng.randrange(6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice([0, -1, 2**31, -(2**53), 2**53, 2**64, 10**308, rng.randint(-1000, 1000)])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e308, -1e-308, 5e-324, rng.uniform(-1e6, 1e6)])
    return rand_text(rng, 0, 20)


def valid_value(rng: random.Random, depth: int = 3) -> Any:
    """A storable value: valid keys, finite numbers, at most ``depth`` levels of nesting."""
    kind = rng.randrange(5) if depth else 0
    if kind <= 2:
        return json_leaf(rng)
    if kind == 3:
        return [valid_value(rng, depth - 1) for _ in range(rng.randint(0, 4))]
    return {gen_key(rng): valid_value(rng, depth - 1) for _ in range(rng.randint(0, 4))}


def valid_server_value(rng: random.Random) -> Any:
    if rng.randrange(2):
        return {".sv": "timestamp"}
    return {".sv": {"increment": rng.choice([1, -1, 0.5, rng.randint(-100, 100)])}}


def valid_priority(rng: random.Random) -> Any:
    return rng.choice([None, rng.randint(-1000, 1000), rng.uniform(-1e9, 1e9), rand_text(rng)])


@dataclass(frozen=True)
class Raw:
    """JSON text spliced verbatim into a generated body (for what ``json.dumps`` cannot say)."""

    text: str


def dump(value: Any) -> str:
    """JSON text of ``value``, with ``Raw`` pieces spliced in verbatim."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value)


def _strict_parses(data: bytes) -> bool:
    try:
        return _strict_json(data.decode("utf-8"))[0]
    except UnicodeDecodeError:
        return False


def _bad_server_value_spec(rng: random.Random) -> Any:
    spec = rng.choice(
        [
            "Timestamp",
            "now",
            "",
            {"increment": "1"},
            {"increment": True},
            {"increment": None},
            {"increment": [1]},
            {"increment": 1, "by": 2},
            {"incr": 1},
            {},
            1,
            None,
            [],
            True,
        ]
    )
    return rand_text(rng, 1, 8) if spec == "" and rng.randrange(2) else spec


def bad_value(rng: random.Random) -> tuple[str, Any]:
    """(label, value) that no write may store, wherever it sits in a body."""
    kind = rng.randrange(12)
    if kind == 0:
        value = valid_value(rng, 2)
        return "invalid key in value", {gen_bad_key(rng): 1 if value is None else value}
    if kind == 1:
        return "bad server value", {".sv": _bad_server_value_spec(rng)}
    if kind == 2:
        return ".sv with siblings", {**valid_server_value(rng), gen_key(rng): json_leaf(rng)}
    if kind == 3:
        return ".value with children", {".value": json_leaf(rng), gen_key(rng): 1}
    if kind == 4:
        bad = rng.choice(
            [True, False, [1], {"x": 1}, "p" * 769, {".sv": "bogus"}, Raw("1e400"), Raw("-1e999")]
        )
        return "bad priority", {".priority": bad, "a": 1}
    if kind == 5:
        return "bad priority", {".value": 1, ".priority": rng.choice([True, [], {"x": 1}])}
    if kind == 6:
        leaf: Any = rng.choice([1, "x", True])
        for _ in range(rng.randint(40, 80)):
            leaf = {gen_key(rng) if rng.randrange(4) == 0 else "n": leaf}
        return "value too deep", leaf
    if kind == 7:
        return "non-finite number", Raw(rng.choice(["1e400", "-1e999", "1E+309"]))
    if kind == 8:
        return "NaN literal", Raw(rng.choice(["NaN", "Infinity", "-Infinity"]))
    if kind == 9:
        surrogate = rand_text(rng, 0, 3) + rng.choice(_LONE_SURROGATES) + rand_text(rng, 0, 3)
        where = rng.randrange(3)
        if where == 0:
            return "lone surrogate", surrogate
        return "lone surrogate", {surrogate: 1} if where == 1 else {"a": [1, surrogate]}
    if kind == 10:
        huge = rng.choice(["9" * rng.randint(400, 5000), str(2**1024), "-" + "1" * 320])
        text = huge if rng.randrange(2) else '{".sv":{"increment":' + huge + "}}"
        return "integer beyond doubles", Raw(text)
    return "key too long", {rand_text(rng, 1, 1) * 800: 1}


def not_json(rng: random.Random) -> bytes:
    """Bytes a strict UTF-8 JSON parser refuses."""
    kind = rng.randrange(4)
    if kind == 0:
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
    elif kind == 1:
        text = dump(valid_value(rng))
        data = (text[: rng.randrange(max(1, len(text)))] + rng.choice(["", "{", ",", '"'])).encode()
    elif kind == 2:
        data = rng.choice(
            [
                b"",
                b"undefined",
                b"{'a': 1}",
                b'{"a":1,}',
                b"[1,]",
                b'\xff\xfe"x"',
                b"01",
                b'"\\x41"',
                b'{"a" 1}',
                b"tru",
                b'"a\x01b"',
                b"[" * 100_000,
                b'{"a":' * 50_000,
                b"\xc3\x28",
                b"\xed\xa0\x80",
                b"1 2",
                b"--1",
                b".5",
            ]
        )
    else:
        text = dump(valid_value(rng))
        cut = rng.randrange(len(text) + 1)
        data = (text[:cut] + rng.choice("}]:,") + text[cut:]).encode()
    return b"{" + data if _strict_parses(data) else data


_HUGE = b'{"s":"' + b"x" * (10 * 1024 * 1024 + 1) + b'"}'


def bad_body(rng: random.Random, patch: bool, huge: bool) -> tuple[str, bytes]:
    """(defect label, body) of a write no emulator may accept."""
    if huge:
        return "string over 10 MB", _HUGE
    if rng.randrange(4) == 0:
        return "body not JSON", not_json(rng)
    if patch and rng.randrange(2):
        return patch_defect(rng)
    label, defect = bad_value(rng)
    if patch:
        # A PATCH key is a path; the bad value sits at one of them, beside valid siblings.
        keys = list(dict.fromkeys(gen_key(rng) for _ in range(rng.randint(1, 3))))
        body: dict[str, Any] = {k: valid_value(rng) for k in keys[1:]}
        body[keys[0] + rng.choice(["", "/x", "/y/z", "/.priority"])] = defect
        items = list(body.items())
        rng.shuffle(items)
        return label, dump(dict(items)).encode()
    for _ in range(rng.randint(0, 3)):
        defect = {gen_key(rng): defect}
    return label, dump(defect).encode()


def patch_defect(rng: random.Random) -> tuple[str, bytes]:
    kind = rng.randrange(3)
    if kind == 0:
        value = rng.choice([json_leaf(rng), [json_leaf(rng)], []])
        return "PATCH body not an object", dump(value).encode()
    if kind == 1:
        key = rng.choice(
            ["", "/", "//", "a/.b", "a/$", "a//#", ".value", "x/.sv", ".sv", "a\ud800", "\udfff/b"]
        )
        if rng.randrange(2):
            # A bad key without its slashes may be a good one ("a/b"): draw one without.
            key = next((k for k in (gen_bad_key(rng) for _ in range(20)) if "/" not in k), ".")
            key = key or "."
        return "bad PATCH key", dump({key: valid_value(rng, 1) or 1}).encode()
    key = gen_key(rng)
    sub = f"{key}/{gen_key(rng)}"
    pairs = [(key, valid_value(rng, 1)), (sub, valid_value(rng, 1))]
    rng.shuffle(pairs)
    return "overlapping PATCH keys", dump(dict(pairs)).encode()


def valid_body(rng: random.Random, method: str, priority: bool) -> bytes:
    """A body the write would accept (writes still get another defect)."""
    if priority:
        return dump(valid_priority(rng)).encode()
    if method == "PATCH":
        body: dict[str, Any] = {}
        for key in dict.fromkeys(gen_key(rng) for _ in range(rng.randint(0, 4))):
            if rng.randrange(5) == 0:
                body[key + "/.priority"] = valid_priority(rng)
            else:
                body[key + rng.choice(["", "/x"])] = valid_value(rng)
        return dump(body).encode()
    if rng.randrange(5) == 0:
        return dump(valid_server_value(rng)).encode()
    return dump(valid_value(rng)).encode()


# ---------------------------------------------------------------------------- URL pieces

_PATH_SAFE = ("", "!$&'()*+,;=:@[]~", "$[]")
_PERCENT_GARBAGE = ("%", "%zz", "%g1", "%%41", "%E9", "%C3%28", "%ff%fe", "%u0041", "%2", "%%")
_ENCODED_BAD = ("%2F", "%2E", "%00", "%23", "%24", "%5B", "%5D", "%7F", "%0D", "%09", "%2e%2e")


def path_segment(rng: random.Random, broken: bool) -> tuple[str, str]:
    """(raw segment as sent, decoded key); only ``broken`` ones may be invalid."""
    kind = rng.randrange(4) if broken else rng.choice([0, 0, 0, 3])
    if kind == 0:
        key = gen_key(rng)
    elif kind == 1:
        key = gen_bad_key(rng) or "."  # "\n" included: it once escaped the route regex
    elif kind == 2:
        raw = rng.choice(["", "a"]) + rng.choice(_ENCODED_BAD) + rng.choice(["", "b"])
        return raw, unquote(raw)
    else:
        raw = rng.choice(_PERCENT_GARBAGE) + rng.choice(["", "a", "F", "2F", "0A"])
        return raw, unquote(raw)
    if rng.randrange(6) == 0:
        key = rand_text(rng, 100, 190) if not broken else (key * 800)[:800]  # > 768 bytes
    return quote(key, safe=rng.choice(_PATH_SAFE)), key


def path(rng: random.Random, kind: int) -> tuple[str, tuple[str, ...], bool]:
    """(raw path without suffix, decoded keys, ends in .priority) — kind 0: valid keys,
    1: some broken segments, 2: far too deep."""
    if kind == 2:
        segments = [(k, k) for k in rng.choices("abc", k=rng.randint(40, 60))]
    else:
        segments = [path_segment(rng, kind == 1) for _ in range(rng.randint(0, 6))]
    priority = rng.randrange(8) == 0
    raw = "".join("/" + raw for raw, _ in segments)
    if priority:
        raw += "/.priority"
    return raw, tuple(key for _, key in segments), priority


_JUNK = ("", "PRETTY", "yes", "1", "true ", "silent\x00", "é", "%", "&", "a=b")
_GOOD_ORDER = (
    '"$key"',
    '"$value"',
    '"$priority"',
    '"age"',
    '"name/.priority"',
    '"a/b"',
    '".priority"',
    '"users/alice/age"',
)
_NESTED = "[" * 3000 + "]" * 3000  # deeper than the JSON parser's recursion allows
_BAD_ORDER = (
    "$key",
    '""',
    '"a.b"',
    '"$bogus"',
    "1",
    "null",
    "[]",
    '{"a":1}',
    '"',
    '"/"',
    "'age'",
    '"\\u0000"',
    '"a#b"',
    "age",
    '"a/b/.priority/c"',
    "true",
    _NESTED,
)
_BAD_BOUNDS = (
    '"a&b"',
    '"x#y"',
    "1+2",
    "NaN",
    "-",
    '"a',
    "tru",
    '{"a":',
    "01",
    "[1]",
    '{"a":1}',
    "Infinity",
    "'x'",
    "",
    "1.",
    "+1",
    "0x1",
    _NESTED,
    '{"a":' * 2000 + "1" + "}" * 2000,
)
_GOOD_BOUNDS = ('"+00:00"', "1e5", "-0", "null", "true", '"x y"', '""', '"\\u00e9"', "1e400")
_RAW_SAFE = '&#"'
_LIMITS = (
    *("-1", "1.5", "", "0x10", "١", " 1", "1e3", "+3", "²", "0", "3", "00", "1000000"),
    *(str(MAX_LIMIT), str(MAX_LIMIT + 1), "0" * 30 + "7", "9" * 5000),
)


def _quote(value: str, raw: bool) -> str:
    return quote(value, safe="\"$:,{}[]+/'!*()@;?~" if raw else "")


def query_string(rng: random.Random, broken: bool, namespace: str) -> str:
    """A raw query string: options, query parameters, unknown names, raw ``& + #``; ns last.

    Not ``broken``: built only from accepted values (the oracle still checks the result).
    """
    parts: list[str] = []

    def add(name: str, value: str) -> None:
        parts.append(f"{_quote(name, False)}={_quote(value, rng.randrange(2) == 0)}")

    pick = (
        (lambda good, bad: rng.choice(bad if rng.randrange(3) == 0 else good))
        if broken
        else (lambda good, bad: rng.choice(good))
    )
    if rng.randrange(2):
        for name, good in (
            ("print", ("silent", "pretty")),
            ("format", ("export",)),
            ("shallow", ("true", "false")),
            ("writeSizeLimit", WRITE_SIZE_LIMITS),
        ):
            if rng.randrange(4) == 0:
                add(name, pick(good, _JUNK + (rand_text(rng, 0, 6),)))
    if rng.randrange(2):
        order = pick(_GOOD_ORDER + (json.dumps(gen_key(rng)),), _BAD_ORDER + (rand_text(rng),))
        if not broken or rng.randrange(5):
            add("orderBy", order)
        bound_names = ["startAt", "endAt"] if rng.randrange(2) else ["equalTo"]
        if broken and rng.randrange(4) == 0:
            bound_names = ["startAt", "equalTo"]
        for name in bound_names:
            if rng.randrange(3) == 0:
                if order == '"$key"' and not broken:
                    value = json.dumps(rand_text(rng))
                else:
                    value = pick(
                        _GOOD_BOUNDS + (json.dumps(json_leaf(rng)),),
                        _BAD_BOUNDS + (json.dumps(valid_value(rng)), rand_text(rng)),
                    )
                if "&" in value or "#" in value:
                    parts.append(f"{name}={quote(value, safe=_RAW_SAFE)}")  # raw, as the SDK
                else:
                    add(name, value)
        limits = ["limitToFirst"] if rng.randrange(2) else ["limitToLast"]
        if broken and rng.randrange(4) == 0:
            limits = ["limitToFirst", "limitToLast"]
        for name in limits:
            if rng.randrange(2):
                add(name, pick((str(rng.randint(0, 10**6)), "0", "7"), _LIMITS))
    for _ in range(rng.randint(0, 2)):
        name = rand_text(rng, 0, 8)
        if name not in KNOWN_PARAMS:
            add(name, rand_text(rng))
    if broken and rng.randrange(5) == 0:
        bad_ns = rng.choice(["", "-x", "a.b", "a/b", "x" * 129, "ü", "a b", "_", "a%00"])
        parts.append(f"ns={quote(bad_ns, safe='%')}")
    else:
        parts.append(f"ns={namespace}")
    return "&".join(parts)


def header_text(rng: random.Random, high: int = 40) -> str:
    return "".join(chr(rng.randint(0x21, 0x7E)) for _ in range(rng.randint(0, high)))


# ------------------------------------------------------------------------------ strategy

#: the parts of a request the strategy may break, and how often it tries (of 8)
_BREAKABLE = ("path", "suffix", "query", "method", "body", "if-match")


@st.composite
def requests(draw: st.DrawFn, namespace: str) -> FuzzRequest:
    """One hostile request against ``namespace`` (see the module docstring).

    Hypothesis picks the method and which parts are broken (and how); the seeded ``Random``
    it also draws fills in the details.
    """
    rng = draw(st.randoms(use_true_random=True))  # a plain Random, seeded by hypothesis
    broken = {part for part in _BREAKABLE if draw(st.integers(0, 7)) == 0}
    method = draw(st.sampled_from(METHODS * 6 + EXOTIC_METHODS))
    path_kind = draw(st.sampled_from([1, 1, 1, 1, 2])) if "path" in broken else 0
    raw_path, keys, priority = path(rng, path_kind)
    suffix = ".json"
    if "suffix" in broken:
        suffix = draw(st.sampled_from(["", ".JSON", ".jso", ".json/", ".json.x", "/.json/"]))
    raw_path = (raw_path + suffix) if raw_path else "/" + suffix
    query = query_string(rng, "query" in broken, namespace)
    params = parse_raw_query(query)

    defects: dict[str, int] = {f"query: {d}": 400 for d in query_defects(params)}
    if path_kind == 2:
        defects["path too deep"] = 400
    if not all(valid_key(k) for k in keys):
        defects["invalid key in path"] = 400
    if suffix != ".json":
        defects["path without .json"] = 404
    headers: dict[str, str] = {"Authorization": "Bearer owner"}
    effective = method
    if method == "POST" and ("method" in broken or draw(st.integers(0, 7)) == 0):
        if "method" in broken:
            override = header_text(rng, 12) or "x"
            override = "X" + override if override.upper() in METHODS else override
        else:
            override = rng.choice([m.lower() for m in METHODS] + list(METHODS) + [""])
        headers["X-HTTP-Method-Override"] = override
        effective = override.upper() if override else method
    if effective not in METHODS:
        defects["unsupported method"] = 400
    if rng.randrange(6) == 0:
        headers["if-none-match"] = header_text(rng)
    if rng.randrange(6) == 0:
        headers["X-Firebase-ETag"] = rng.choice(["true", "false", "TRUE", "", header_text(rng)])
    if rng.randrange(8) == 0:
        headers["Content-Type"] = rng.choice(
            ["text/plain", "multipart/form-data", header_text(rng)]
        )
    if effective in ("POST", "PATCH") and priority:
        defects[f"{effective} on a priority"] = 400
    body: bytes | None = None
    if effective in ("PUT", "POST", "PATCH"):
        if "body" in broken or draw(st.integers(0, 2)) > 0:
            huge = rng.randrange(150) == 0  # rare: a 10 MB body costs ~50 ms
            label, body = bad_body(rng, effective == "PATCH", huge)
            defects[label] = 400
        else:
            body = valid_body(rng, effective, priority)
    elif method != "HEAD" and rng.randrange(5) == 0:
        body = rng.randbytes(rng.randint(0, 32))  # ignored by GET and DELETE
    writes = effective in ("PUT", "POST", "PATCH", "DELETE")
    if writes and (not defects or "if-match" in broken):
        stale = "".join(rng.choices('ab"/=+ *W0', k=rng.randint(0, 30)))
        headers["if-match"] = "" if _ETAG_SHAPE.fullmatch(stale) else stale
        defects["stale if-match"] = 412
    if rng.randrange(7) == 0:
        headers["Accept"] = "text/event-stream"
        if effective == "GET" and priority:
            defects["stream of a priority"] = 400
        if not defects:
            headers["Accept"] = "application/json"  # a valid stream would never end
    target = raw_path + ("?" + query if query else "")
    if len(target) > MAX_REQUEST_LINE - 30:
        defects["request line too long"] = 400  # aiohttp's own text/plain 400
    return FuzzRequest(method, target, body, headers, defects, keys, priority, params)
