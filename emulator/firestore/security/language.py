"""The structure of a Firestore rules file: ``service`` / ``match`` / ``allow`` / ``function``.

Parsed once per upload into a ``Ruleset``; expressions inside are parsed by the shared
expression parser (``emulator.rules.expressions``). Errors are ``RulesSyntaxError`` with the
position of the first problem, which the upload endpoint reports as ``L<line>:<column>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from emulator.rules.errors import RulesSyntaxError
from emulator.rules.expressions import ExpressionParser, Node
from emulator.rules.lexer import Lexer

#: ``read`` and ``write`` expand to the methods a request is checked against.
METHOD_GROUPS = {
    "read": frozenset({"get", "list"}),
    "write": frozenset({"create", "update", "delete"}),
    "get": frozenset({"get"}),
    "list": frozenset({"list"}),
    "create": frozenset({"create"}),
    "update": frozenset({"update"}),
    "delete": frozenset({"delete"}),
}
_LITERAL_SEGMENT = re.compile(r"[^/{}\s]+")
_WILDCARD = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=\s*\*\*\s*)?\}")


@dataclass(frozen=True, slots=True)
class Wildcard:
    name: str
    recursive: bool


Segment = str | Wildcard


@dataclass(frozen=True, slots=True)
class Allow:
    methods: frozenset[str]
    #: ``None`` for ``allow read;`` (no condition: always allowed).
    condition: Node | None
    line: int


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    params: tuple[str, ...]
    lets: tuple[tuple[str, Node], ...]
    body: Node
    line: int


@dataclass(slots=True)
class MatchBlock:
    segments: tuple[Segment, ...]
    allows: list[Allow] = field(default_factory=list)
    functions: dict[str, Function] = field(default_factory=dict)
    children: list[MatchBlock] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Warning_:
    """A problem that does not stop the rules from compiling (an unknown method name...)."""

    line: int
    column: int
    message: str


@dataclass(slots=True)
class Ruleset:
    """A compiled rules file."""

    version: int
    functions: dict[str, Function]
    matches: list[MatchBlock]
    source: str
    warnings: list[Warning_] = field(default_factory=list)


class _Parser:
    def __init__(self, text: str) -> None:
        self.lexer = Lexer(text)
        self.expressions = ExpressionParser(self.lexer, "firestore")
        self.version = 1
        self.warnings: list[Warning_] = []

    def error(self, message: str) -> RulesSyntaxError:
        token = self.lexer.peek()
        return self.lexer.error(token.offset, message)

    def unexpected(self) -> RulesSyntaxError:
        token = self.lexer.peek()
        what = "end of input" if token.kind == "end" else f"'{token.text}'"
        return self.lexer.error(token.offset, f"Unexpected {what}.")

    def accept(self, text: str) -> bool:
        token = self.lexer.peek()
        if token.text == text and token.kind in ("op", "name"):
            self.lexer.next()
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            raise self.unexpected()

    def name(self) -> str:
        token = self.lexer.peek()
        if token.kind != "name":
            raise self.unexpected()
        self.lexer.next()
        return token.text

    def ruleset(self, source: str) -> Ruleset:
        version = 1
        if self.lexer.peek().text == "rules_version":
            self.lexer.next()
            self.expect("=")
            token = self.lexer.next()
            if token.kind != "string" or token.value not in ("1", "2"):
                raise self.lexer.error(token.offset, "Invalid rules_version; expected '1' or '2'.")
            version = int(str(token.value))
            self.version = version
            self.expect(";")
        self.expect("service")
        service = [self.name()]
        while self.accept("."):
            service.append(self.name())
        if ".".join(service) != "cloud.firestore":
            raise self.lexer.error(0, f"Unexpected service '{'.'.join(service)}'.")
        self.expect("{")
        functions: dict[str, Function] = {}
        matches: list[MatchBlock] = []
        self.block_body(functions, matches, None)
        if self.lexer.peek().kind != "end":
            raise self.unexpected()
        return Ruleset(version, functions, matches, source, self.warnings)

    def block_body(
        self, functions: dict[str, Function], matches: list[MatchBlock], allows: list[Allow] | None
    ) -> None:
        while not self.accept("}"):
            token = self.lexer.peek()
            if token.text == "match" and token.kind == "name":
                self.lexer.next()
                matches.append(self.match_block())
            elif token.text == "function" and token.kind == "name":
                self.lexer.next()
                function = self.function()
                if function.name in functions:
                    raise self.lexer.error(token.offset, f"Duplicate function '{function.name}'.")
                functions[function.name] = function
            elif token.text == "allow" and token.kind == "name" and allows is not None:
                self.lexer.next()
                allows.append(self.allow(token.line))
            else:
                raise self.unexpected()

    def match_block(self) -> MatchBlock:
        lexer = self.lexer
        lexer.skip_space()
        text = lexer.text
        segments: list[Segment] = []
        if not text.startswith("/", lexer.pos):
            raise self.unexpected()
        while lexer.pos < len(text) and text[lexer.pos] == "/":
            lexer.pos += 1
            wildcard = _WILDCARD.match(text, lexer.pos)
            if wildcard:
                segments.append(Wildcard(wildcard.group(1), wildcard.group(2) is not None))
                lexer.pos = wildcard.end()
                continue
            literal = _LITERAL_SEGMENT.match(text, lexer.pos)
            if literal is None:
                raise lexer.error(lexer.pos, "Invalid match path segment.")
            segments.append(literal.group(0))
            lexer.pos = literal.end()
        if self.version < 2:
            for segment in segments[:-1]:
                if isinstance(segment, Wildcard) and segment.recursive:
                    raise lexer.error(
                        lexer.pos, "Recursive wildcards must be the last path segment."
                    )
        self.expect("{")
        block = MatchBlock(tuple(segments))
        self.block_body(block.functions, block.children, block.allows)
        return block

    def allow(self, line: int) -> Allow:
        methods: set[str] = set()
        while True:
            token = self.lexer.next()
            if token.kind != "name":
                raise self.lexer.error(token.offset, f"Unexpected '{token.text}'.")
            if token.text in METHOD_GROUPS:
                methods |= METHOD_GROUPS[token.text]
            else:  # production compiles it with a warning; the name grants nothing
                self.warnings.append(
                    Warning_(token.line, token.column, f"Invalid method name: {token.text}.")
                )
            if not self.accept(","):
                break
        condition: Node | None = None
        if self.accept(":"):
            self.expect("if")
            condition = self.expressions.parse()
        self.accept(";")
        return Allow(frozenset(methods), condition, line)

    def function(self) -> Function:
        token = self.lexer.peek()
        name = self.name()
        self.expect("(")
        params: list[str] = []
        if not self.accept(")"):
            while True:
                params.append(self.name())
                if self.accept(")"):
                    break
                self.expect(",")
        self.expect("{")
        lets: list[tuple[str, Node]] = []
        while self.accept("let"):
            let_name = self.name()
            self.expect("=")
            lets.append((let_name, self.expressions.parse()))
            self.expect(";")
        self.expect("return")
        body = self.expressions.parse()
        self.accept(";")
        self.expect("}")
        return Function(name, tuple(params), tuple(lets), body, token.line)


def compile_rules(text: str) -> Ruleset:
    """Parse a Firestore rules file; raises ``RulesSyntaxError`` at the first problem."""
    try:
        return _Parser(text).ruleset(text)
    except RecursionError:
        raise RulesSyntaxError("Expression nested too deeply.", 1, 1) from None
