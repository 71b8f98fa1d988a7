"""The expression grammar both rules languages share, as a Pratt parser over ``Lexer`` tokens.

Precedence, lowest first: ``?:``, ``||``, ``&&``, relations (``== != < <= > >= in is``, and
``=== !==`` in RTDB), ``+ -``, ``* / %``, unary ``! -``, then member access, calls, indexing and
slicing. Firestore adds path literals (``/databases/$(database)/documents/users/$(uid)``); RTDB
adds regular-expression literals as arguments (``.matches(/^a/)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal as TypingLiteral

from emulator.rules.lexer import Lexer, Token

Dialect = TypingLiteral["firestore", "database"]


@dataclass(frozen=True, slots=True)
class Node:
    """Base of every expression node; ``line`` locates errors (``@ L5``)."""

    line: int


@dataclass(frozen=True, slots=True)
class Const(Node):
    value: object


@dataclass(frozen=True, slots=True)
class Name(Node):
    name: str


@dataclass(frozen=True, slots=True)
class Member(Node):
    target: Node
    name: str


@dataclass(frozen=True, slots=True)
class Index(Node):
    target: Node
    index: Node


@dataclass(frozen=True, slots=True)
class Slice(Node):
    target: Node
    start: Node | None
    stop: Node | None


@dataclass(frozen=True, slots=True)
class Call(Node):
    function: Node
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class IsType(Node):
    operand: Node
    type_name: str


@dataclass(frozen=True, slots=True)
class Ternary(Node):
    condition: Node
    if_true: Node
    if_false: Node


@dataclass(frozen=True, slots=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class MapLit(Node):
    entries: tuple[tuple[Node, Node], ...]


@dataclass(frozen=True, slots=True)
class PathLit(Node):
    """A path literal; each segment is literal text or an expression (``$(x)`` / ``(x)``)."""

    segments: tuple[str | Node, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class RegexLit(Node):
    pattern: re.Pattern[str]
    source: str


_BINARY_PRECEDENCE = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "===": 3,
    "!==": 3,
    "<": 3,
    "<=": 3,
    ">": 3,
    ">=": 3,
    "in": 3,
    "is": 3,
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
}
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9_\-~%@+]+")
_REGEX_FLAGS = {"i": re.IGNORECASE}


class ExpressionParser:
    """Parses expressions from a ``Lexer`` positioned at their start."""

    def __init__(self, lexer: Lexer, dialect: Dialect) -> None:
        self.lexer = lexer
        self.dialect = dialect

    def expect(self, text: str) -> Token:
        token = self.lexer.next()
        if token.text != text or token.kind not in ("op", "name"):
            raise self._unexpected(token)
        return token

    def _unexpected(self, token: Token) -> Exception:
        what = "end of input" if token.kind == "end" else f"'{token.text}'"
        return self.lexer.error(token.offset, f"Unexpected {what}.")

    def parse(self, min_precedence: int = 0) -> Node:
        """An expression whose binary operators bind tighter than ``min_precedence``."""
        left = self._prefix()
        while True:
            token = self.lexer.peek()
            if token.kind == "op" and token.text == "?" and min_precedence == 0:
                self.lexer.next()
                if_true = self.parse()
                self.expect(":")
                if_false = self.parse()
                left = Ternary(token.line, left, if_true, if_false)
                continue
            op = token.text if token.kind in ("op", "name") else ""
            if op in ("===", "!==") and self.dialect != "database":
                raise self._unexpected(token)
            if op in ("in", "is") and self.dialect != "firestore":
                return left
            precedence = _BINARY_PRECEDENCE.get(op)
            if precedence is None or precedence <= min_precedence:
                return left
            self.lexer.next()
            if op == "is":
                type_token = self.lexer.next()
                if type_token.kind != "name":
                    raise self._unexpected(type_token)
                left = IsType(token.line, left, type_token.text)
                continue
            right = self.parse(precedence)
            left = Binary(token.line, op, left, right)

    def _prefix(self) -> Node:
        token = self.lexer.peek()
        if token.kind == "op" and token.text == "/":
            if self.dialect == "firestore":
                return self._path()
            return self._regex()
        token = self.lexer.next()
        node: Node
        if token.kind in ("int", "float", "string", "bytes"):
            node = Const(token.line, token.value)
        elif token.kind == "name":
            if token.text in ("true", "false"):
                node = Const(token.line, token.text == "true")
            elif token.text == "null":
                node = Const(token.line, None)
            else:
                node = Name(token.line, token.text)
        elif token.kind == "op" and token.text in ("!", "-"):
            operand = self._prefix()
            if token.text == "-" and isinstance(operand, Const):
                value = operand.value
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    return Const(token.line, -value)
            return Unary(token.line, token.text, operand)
        elif token.kind == "op" and token.text == "(":
            node = self.parse()
            self.expect(")")
        elif token.kind == "op" and token.text == "[":
            node = ListLit(token.line, tuple(self._items("]")))
        elif token.kind == "op" and token.text == "{" and self.dialect == "firestore":
            entries: list[tuple[Node, Node]] = []
            if self.lexer.peek().text == "}":
                self.lexer.next()
            else:
                while True:
                    key = self.parse()
                    self.expect(":")
                    entries.append((key, self.parse()))
                    closing = self.lexer.next()
                    if closing.text == "}":
                        break
                    if closing.text != ",":
                        raise self._unexpected(closing)
                    if self.lexer.peek().text == "}":
                        self.lexer.next()
                        break
            node = MapLit(token.line, tuple(entries))
        else:
            raise self._unexpected(token)
        return self._postfix(node)

    def _postfix(self, node: Node) -> Node:
        while True:
            token = self.lexer.peek()
            if token.kind != "op":
                return node
            if token.text == ".":
                self.lexer.next()
                name = self.lexer.next()
                if name.kind != "name":
                    raise self._unexpected(name)
                node = Member(name.line, node, name.text)
            elif token.text == "(":
                self.lexer.next()
                node = Call(token.line, node, tuple(self._items(")")))
            elif token.text == "[":
                self.lexer.next()
                node = self._subscript(node, token)
            else:
                return node

    def _subscript(self, node: Node, token: Token) -> Node:
        start: Node | None = None
        if self.lexer.peek().text != ":":
            start = self.parse()
        if self.lexer.peek().text == ":" and self.dialect == "firestore":
            self.lexer.next()
            stop = None if self.lexer.peek().text == "]" else self.parse()
            self.expect("]")
            return Slice(token.line, node, start, stop)
        self.expect("]")
        if start is None:
            raise self._unexpected(token)
        return Index(token.line, node, start)

    def _items(self, closing: str) -> list[Node]:
        items: list[Node] = []
        if self.lexer.peek().text == closing:
            self.lexer.next()
            return items
        while True:
            items.append(self.parse())
            token = self.lexer.next()
            if token.text == closing and token.kind == "op":
                return items
            if token.text != "," or token.kind != "op":
                raise self._unexpected(token)

    def _path(self) -> Node:
        lexer = self.lexer
        lexer.skip_space()
        line, _ = lexer.position(lexer.pos)
        segments: list[str | Node] = []
        text = lexer.text
        while lexer.pos < len(text) and text[lexer.pos] == "/":
            lexer.pos += 1
            if text.startswith("$(", lexer.pos) or text.startswith("(", lexer.pos):
                lexer.pos += 1 if text[lexer.pos] == "(" else 2
                segments.append(self.parse())
                self.expect(")")
                continue
            match = _PATH_SEGMENT.match(text, lexer.pos)
            if match is None:
                raise lexer.error(lexer.pos, "Invalid path segment.")
            segments.append(match.group(0))
            lexer.pos = match.end()
        return self._postfix(PathLit(line, tuple(segments)))

    def _regex(self) -> Node:
        token = self.lexer.regex()
        assert isinstance(token.value, tuple)
        pattern: str = token.value[0]
        flags: str = token.value[1]
        compile_flags = 0
        for flag in flags:
            if flag not in _REGEX_FLAGS:
                raise self.lexer.error(token.offset, f"Unsupported regex flag '{flag}'.")
            compile_flags |= _REGEX_FLAGS[flag]
        try:
            compiled = re.compile(pattern, compile_flags)
        except re.error as exc:
            raise self.lexer.error(token.offset, f"Invalid regular expression: {exc}.") from None
        return self._postfix(RegexLit(token.line, compiled, token.text))


def parse_expression(text: str, dialect: Dialect) -> Node:
    """One whole expression (RTDB rule strings); raises ``RulesSyntaxError``."""
    lexer = Lexer(text)
    parser = ExpressionParser(lexer, dialect)
    node = parser.parse()
    token = lexer.next()
    if token.kind != "end":
        raise parser._unexpected(token)
    return node
