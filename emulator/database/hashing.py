"""The node hash the Firebase clients compute, which transactions send as ``h`` on a put.

Facts (the JS SDK's ``LeafNode.hash`` / ``ChildrenNode.hash``; Android and iOS agree, since the
server compares the strings):

- an absent node hashes to ``""``;
- a leaf hashes the text ``[priority:<p>:]<type>:<value>``, where ``<type>`` is JavaScript's
  ``typeof`` (``boolean``, ``number``, ``string``), booleans are ``true`` / ``false``, strings
  are themselves and numbers are the 16 lowercase hex digits of their IEEE-754 double, most
  significant byte first (``doubleToIEEE754String``);
- an object hashes ``[priority:<p>:]`` followed by ``:<key>:<child hash>`` for each child in
  priority order (no priority < numbers < strings, ties by key name order);
- a priority ``<p>`` is ``number:<hex>`` or ``string:<text>``;
- the hash of a text is the base64 (standard alphabet, padded) SHA-1 of its UTF-8 bytes.

The clients compute the double's bits arithmetically (``log`` / ``LN2``, ``round``, then bit by
bit), not from memory; ``_js_double_hex`` follows the same arithmetic so that the rare values
where that arithmetic is off by one exponent still hash the same as on the client.
"""

from __future__ import annotations

import base64
import hashlib
import math

from emulator.database.ordering import key_order, priority_rank
from emulator.database.values import VALUE, Node, children, priority_of

_LN2 = math.log(2)
_EBITS, _FBITS = 11, 52
_BIAS = (1 << (_EBITS - 1)) - 1


def node_hash(node: Node | None) -> str:
    """The client-side hash of a stored node (``""`` for no data)."""
    if node is None:
        return ""
    text = _hash_text(node)
    if text == "":
        return ""
    return _sha1_base64(text)


def _hash_text(node: Node) -> str:
    prefix = ""
    priority = priority_of(node)
    if priority is not None:
        prefix = "priority:" + _priority_text(priority) + ":"
    if isinstance(node, dict) and VALUE not in node:
        ranked = sorted(
            children(node),
            key=lambda item: (priority_rank(priority_of(item[1])), key_order(item[0])),
        )
        parts = [prefix]
        for key, child in ranked:
            child_hash = node_hash(child)
            if child_hash:
                parts.append(":" + key + ":" + child_hash)
        return "".join(parts)
    value = node[VALUE] if isinstance(node, dict) else node
    if isinstance(value, bool):
        return prefix + "boolean:" + ("true" if value else "false")
    if isinstance(value, int | float):
        return prefix + "number:" + _js_double_hex(float(value))
    return prefix + "string:" + str(value)


def _priority_text(priority: object) -> str:
    if isinstance(priority, int | float) and not isinstance(priority, bool):
        return "number:" + _js_double_hex(float(priority))
    return "string:" + str(priority)


def _sha1_base64(text: str) -> str:
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass"), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def _js_pow2(n: int) -> float:
    # JavaScript's Math.pow(2, n): infinity past the largest double instead of an error.
    return math.ldexp(1.0, n) if n <= 1023 else math.inf


def _js_round(x: float) -> float:
    # JavaScript's Math.round: to the nearest integer, halves towards +infinity.
    if not math.isfinite(x):
        return x
    low = math.floor(x)
    return low + 1 if x - low >= 0.5 else low


def _js_double_hex(v: float) -> str:
    """``doubleToIEEE754String`` as the clients compute it (see the module docstring)."""
    if v == 0:
        return "8000000000000000" if math.copysign(1.0, v) < 0 else "0000000000000000"
    sign = 1 if v < 0 else 0
    v = abs(v)
    if v >= 2.0 ** (1 - _BIAS):
        ln = min(math.floor(math.log(v) / _LN2), _BIAS)
        exponent = ln + _BIAS
        # For v below 2**-971 the scale overflows to infinity on the client, whose fraction
        # bits then all come out 0: the hash of such a number only reflects its exponent.
        fraction = _js_round(v * _js_pow2(_FBITS - ln) - 2.0**_FBITS)
    else:  # subnormal
        exponent = 0
        fraction = _js_round(v / 2.0 ** (1 - _BIAS - _FBITS))
    if 0 <= fraction < 2.0**_FBITS:
        # The usual case: the arithmetic found the true exponent, so the bits are exact.
        return f"{(sign << 63) | (exponent << 52) | int(fraction):016x}"
    # Off by one exponent: keep the low 52 bits of the fraction, bit by bit, as the client does.
    bits: list[int] = []
    f = float(fraction)
    for _ in range(_FBITS):
        if math.isfinite(f):
            bits.append(1 if math.fmod(f, 2) else 0)
            f = math.floor(f / 2)
        else:
            bits.append(0)  # Infinity % 2 is NaN on the client: a 0 bit

    e = exponent
    for _ in range(_EBITS):
        bits.append(e % 2)
        e //= 2
    bits.append(sign)
    out = 0
    for bit in reversed(bits):
        out = (out << 1) | bit
    return f"{out:016x}"
