"""Tokens of the security-rules languages (Firestore's ``.rules`` files and RTDB's expressions).

Both languages share C-like lexical rules: identifiers, numbers, single- or double-quoted strings
with backslash escapes, ``//`` and ``/* */`` comments, and operators. RTDB expressions add ``===``,
``!==`` and regular-expression literals (``/ab+c/i``), which the parser asks for explicitly
because ``/`` is also division (and, in Firestore, the start of a path).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulator.rules.errors import RulesSyntaxError

_OPERATORS = (
    "===",
    "!==",
    "==",
    "!=",
    "<=",
    ">=",
    "&&",
    "||",
    "=",
    "<",
    ">",
    "!",
    "+",
    "-",
    "*",
    "/",
    "%",
    "?",
    ":",
    ".",
    ",",
    ";",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "$",
)
_NUMBER = re.compile(r"(?:\d+\.\d*|\.\d+|\d+)")
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_SPACE = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)+", re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


@dataclass(frozen=True, slots=True)
class Token:
    """One token; ``kind``: ``name``, ``int``, ``float``, ``string``, ``bytes``, ``op``, ``end``."""

    kind: str
    text: str
    value: object
    line: int
    column: int
    #: offset of the first character, so the parser can re-scan (paths, regexes) from here.
    offset: int
    #: offset just past the token.
    stop: int


class Lexer:
    """A cursor over rules text that yields tokens on demand."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of ``offset``."""
        lo, hi = 0, len(self._line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - self._line_starts[lo] + 1

    def error(self, offset: int, message: str) -> RulesSyntaxError:
        line, column = self.position(offset)
        return RulesSyntaxError(message, line, column)

    def skip_space(self) -> None:
        match = _SPACE.match(self.text, self.pos)
        if match:
            self.pos = match.end()
        if self.text.startswith("/*", self.pos):
            raise self.error(self.pos, "Unterminated comment.")

    def next(self) -> Token:
        """The next token, consuming it."""
        self.skip_space()
        start = self.pos
        text = self.text
        line, column = self.position(start)
        if start >= len(text):
            return Token("end", "", None, line, column, start, start)
        char = text[start]
        if char in "'\"" or (char in "rb" and text[start + 1 : start + 2] in ("'", '"')):
            return self._string(start, line, column)
        number = _NUMBER.match(text, start)
        if number:
            raw = number.group(0)
            self.pos = number.end()
            if self.pos < len(text) and (text[self.pos].isalpha() or text[self.pos] == "_"):
                if text[self.pos] == "u" and "." not in raw:
                    self.pos += 1  # an unsigned literal, 5u: an int all the same
                else:
                    raise self.error(self.pos, f"Unexpected '{text[self.pos]}'.")
            if "." in raw:
                return Token("float", raw, float(raw), line, column, start, self.pos)
            return Token("int", raw, int(raw), line, column, start, self.pos)
        ident = None if text.startswith("$(", start) else _IDENT.match(text, start)
        if ident:
            self.pos = ident.end()
            return Token("name", ident.group(0), ident.group(0), line, column, start, self.pos)
        for op in _OPERATORS:
            if text.startswith(op, start):
                self.pos = start + len(op)
                return Token("op", op, op, line, column, start, self.pos)
        raise self.error(start, f"Unexpected '{char}'.")

    def peek(self) -> Token:
        """The next token, without consuming it."""
        saved = self.pos
        try:
            return self.next()
        finally:
            self.pos = saved

    def _string(self, start: int, line: int, column: int) -> Token:
        text = self.text
        prefix = ""
        pos = start
        if text[pos] in "rb":
            prefix = text[pos]
            pos += 1
        quote = text[pos]
        pos += 1
        out: list[str] = []
        while True:
            if pos >= len(text) or text[pos] == "\n":
                raise self.error(start, "Unterminated string literal.")
            char = text[pos]
            if char == quote:
                pos += 1
                break
            if char == "\\" and prefix != "r":
                pos += 1
                if pos >= len(text):
                    raise self.error(start, "Unterminated string literal.")
                esc = text[pos]
                if esc == "u":
                    digits = text[pos + 1 : pos + 5]
                    if not re.fullmatch(r"[0-9a-fA-F]{4}", digits):
                        raise self.error(pos, "Invalid unicode escape.")
                    out.append(chr(int(digits, 16)))
                    pos += 5
                    continue
                if esc == "x":
                    digits = text[pos + 1 : pos + 3]
                    if not re.fullmatch(r"[0-9a-fA-F]{2}", digits):
                        raise self.error(pos, "Invalid hex escape.")
                    out.append(chr(int(digits, 16)))
                    pos += 3
                    continue
                out.append(_ESCAPES.get(esc, esc))
                pos += 1
                continue
            out.append(char)
            pos += 1
        self.pos = pos
        value = "".join(out)
        if prefix == "b":
            try:
                return Token("bytes", text[start:pos], value.encode("latin-1"), line, column,
                             start, pos)
            except UnicodeEncodeError:
                raise self.error(start, "Bytes literals hold single-byte characters.") from None
        return Token("string", text[start:pos], value, line, column, start, pos)

    def regex(self) -> Token:
        """A ``/pattern/flags`` literal starting at the cursor (RTDB's ``matches``)."""
        self.skip_space()
        start = self.pos
        line, column = self.position(start)
        text = self.text
        if not text.startswith("/", start):
            raise self.error(start, "Expected a regular expression.")
        pos = start + 1
        in_class = False
        while True:
            if pos >= len(text) or text[pos] == "\n":
                raise self.error(start, "Unterminated regular expression.")
            char = text[pos]
            if char == "\\":
                pos += 2
                continue
            if char == "[":
                in_class = True
            elif char == "]":
                in_class = False
            elif char == "/" and not in_class:
                break
            pos += 1
        pattern = text[start + 1 : pos]
        pos += 1
        flags = re.match(r"[a-z]*", text[pos:])
        flag_text = flags.group(0) if flags else ""
        self.pos = pos + len(flag_text)
        return Token("regex", text[start : self.pos], (pattern, flag_text), line, column, start,
                     self.pos)
