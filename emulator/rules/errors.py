"""Errors of rules text (at upload) and of rule evaluation (at request time)."""

from __future__ import annotations


class RulesSyntaxError(Exception):
    """Rules text that does not compile, with the 1-based position of the first problem."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"L{line}:{column} {message}")
        self.message = message
        self.line = line
        self.column = column


class EvaluationError(Exception):
    """A condition that cannot be evaluated (null value, wrong type, missing key...).

    A rule whose condition raises this denies, as in production; ``&&`` and ``||`` absorb it when
    the other side decides the result.
    """
