"""Query descriptions shared by the repositories: plain data, no wire types.

Firestore filters are built with :func:`where`, combined with :func:`any_of` (OR) and
:func:`all_of` (AND)::

    repo.query().where(any_of(where("price", "<", 10), where("tags", "array_contains", "sale")))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

__all__ = ["AllOf", "AnyOf", "Filter", "Op", "Where", "all_of", "any_of", "where"]

Op = Literal[
    "<", "<=", "==", "!=", ">=", ">", "in", "not-in", "array_contains", "array_contains_any"
]
_OPS = frozenset(Op.__args__)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Where:
    """``field op value``; ``field`` is a dotted field path."""

    field: str
    op: Op
    value: Any

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"unknown operator {self.op!r}; use one of {sorted(_OPS)}")


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Matches when any of ``filters`` matches (OR)."""

    filters: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class AllOf:
    """Matches when all of ``filters`` match (AND)."""

    filters: tuple[Filter, ...]


Filter: TypeAlias = "Where | AnyOf | AllOf"


def where(field: str, op: Op, value: Any) -> Where:
    """A filter on one field: ``where("price", "<", 10)`` (operators as in the Firestore SDKs)."""
    return Where(field, op, value)


def any_of(*filters: Filter) -> AnyOf:
    """A filter that holds when any of ``filters`` holds (Firestore OR)."""
    return AnyOf(tuple(filters))


def all_of(*filters: Filter) -> AllOf:
    """A filter that holds when all of ``filters`` hold (Firestore AND)."""
    return AllOf(tuple(filters))
