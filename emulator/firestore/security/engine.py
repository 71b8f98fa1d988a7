"""Deciding one access: which ``allow`` statements apply to a path and method, and if any holds.

An ``Access`` describes the request in rules terms (method, document path, the caller, the
document before and after); ``Rules.check`` walks the match blocks, evaluates each applicable
condition and returns a ``Decision`` whose message lists what failed, as the official emulator
does (``false for 'update' @ L12``). ``list`` requests carry the query's constraints: the
``==`` / ``in`` values of a field, or the bounds its range filters set. ``resource.data.f`` is
known only that far, so a rule the constraints do not prove for every document the query could
return denies the query, as production decides ("rules are not filters").
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...rules.errors import EvaluationError
from . import types as t
from .evaluate import Evaluator, Lookup, Lookups
from .language import Function, MatchBlock, Ruleset, Wildcard, compile_rules


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: a path segment the request does not fix (the document id of a ``list``).
UNKNOWN_SEGMENT = _Marker("UNKNOWN_SEGMENT")
#: zero or more unknown segments (the ancestors of a collection-group query).
ANY_SEGMENTS = _Marker("ANY_SEGMENTS")
PathItem = str | _Marker
#: limit on the combinations of ``in`` values a list rule is evaluated for.
MAX_COMBINATIONS = 64


@dataclass(frozen=True, slots=True)
class Access:
    """One request as rules see it."""

    method: str
    database: str
    #: document path below ``/databases/{db}/documents`` (for ``list``: the collection's path
    #: followed by ``UNKNOWN_SEGMENT``, after ``ANY_SEGMENTS`` for a collection group).
    path: tuple[PathItem, ...]
    #: ``request.auth``: ``None`` for nobody, else ``{"uid": ..., "token": {...}}``.
    auth: dict[str, Any] | None
    time: t.Timestamp
    #: the stored document (``resource``) for get / update / delete.
    resource: dict[str, Any] | None = None
    #: the document as it would be after the write (``request.resource``).
    request_resource: dict[str, Any] | None = None
    #: for list: ``request.query`` (limit, offset, orderBy).
    query: dict[str, Any] | None = None
    #: for list: field path -> the values the query allows (one for ``==``, several for ``in``).
    constraints: Mapping[tuple[str, ...], tuple[Any, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    message: str


def document_map(database: str, path: tuple[str, ...], data: dict[str, Any]) -> dict[str, Any]:
    """A document as rules see it: ``data``, ``id`` and ``__name__``."""
    return {
        "data": data,
        "id": path[-1],
        "__name__": t.RulesPath(("databases", database, "documents", *path)),
    }


class Rules:
    """A compiled Firestore rules file; ``check`` decides accesses against it."""

    def __init__(self, text: str) -> None:
        self.ruleset: Ruleset = compile_rules(text)

    @property
    def source(self) -> str:
        return self.ruleset.source

    def check(
        self,
        access: Access,
        before: Lookup,
        after: Lookup | None = None,
        lookups: Lookups | None = None,
    ) -> Decision:
        """Whether ``access`` is allowed; ``before`` / ``after`` read other documents."""
        if lookups is None:
            lookups = Lookups(access.database, before, after or before)
        full_path: tuple[PathItem, ...] = ("databases", access.database, "documents", *access.path)
        failures: list[str] = []
        for block, bindings, functions in self._applicable(full_path):
            for allow in block.allows:
                if access.method not in allow.methods:
                    continue
                if allow.condition is None:
                    return Decision(True, "")
                outcome = self._evaluate(allow.condition, access, bindings, functions, lookups)
                if outcome is True:
                    return Decision(True, "")
                failures.append(f"{outcome} for '{access.method}' @ L{allow.line}")
        if not failures:
            return Decision(False, "\nNo matching allow statements")
        return Decision(False, "\n" + ", ".join(failures))

    def _evaluate(
        self,
        condition: Any,
        access: Access,
        bindings: dict[str, Any],
        functions: Mapping[str, Function],
        lookups: Lookups,
    ) -> bool | str:
        """``True``, or why not: ``"false"`` or the evaluation error's message."""
        worst = "false"
        for resource in _resources(access):
            request = _request_map(access)
            variables = {**bindings, "request": request, "resource": resource}
            evaluator = Evaluator(variables, functions, lookups)
            try:
                value = evaluator.evaluate(condition, {})
                if not isinstance(value, bool):
                    if value is None:
                        raise t.null_error()
                    raise EvaluationError(
                        f"Condition evaluated to non-boolean value: {t.type_name(value)}."
                    )
            except EvaluationError as exc:
                return str(exc)
            except RecursionError:
                return "Expression nested too deeply."
            if value is not True:
                return worst
        return True

    def _applicable(
        self, path: tuple[PathItem, ...]
    ) -> Iterator[tuple[MatchBlock, dict[str, Any], dict[str, Function]]]:
        yield from _walk(self.ruleset.matches, path, 0, {}, dict(self.ruleset.functions),
                         self.ruleset.version)


def _walk(
    blocks: list[MatchBlock],
    path: tuple[PathItem, ...],
    position: int,
    bindings: dict[str, Any],
    functions: dict[str, Function],
    version: int,
) -> Iterator[tuple[MatchBlock, dict[str, Any], dict[str, Function]]]:
    for block in blocks:
        scope = {**functions, **block.functions} if block.functions else functions
        for end, bound in _consume(block.segments, 0, path, position, bindings, version):
            if end == len(path):
                yield block, bound, scope
            if block.children:
                yield from _walk(block.children, path, end, bound, scope, version)


def _consume(
    pattern: tuple[Any, ...],
    index: int,
    path: tuple[PathItem, ...],
    position: int,
    bindings: dict[str, Any],
    version: int,
) -> Iterator[tuple[int, dict[str, Any]]]:
    if index == len(pattern):
        yield position, bindings
        return
    segment = pattern[index]
    if isinstance(segment, Wildcard) and segment.recursive:
        minimum = 0 if version >= 2 else 1
        for end in range(position + minimum, len(path) + 1):
            taken = path[position:end]
            value: Any = (
                t.UNBOUND
                if any(isinstance(item, _Marker) for item in taken)
                else t.RulesPath(tuple(str(item) for item in taken))
            )
            if version < 2 and value is not t.UNBOUND:
                value = "/".join(str(item) for item in taken)
            yield from _consume(
                pattern, index + 1, path, end, {**bindings, segment.name: value}, version
            )
        return
    if position >= len(path):
        return
    item = path[position]
    if item is ANY_SEGMENTS:
        return
    if isinstance(segment, Wildcard):
        value = t.UNBOUND if item is UNKNOWN_SEGMENT else item
        yield from _consume(
            pattern, index + 1, path, position + 1, {**bindings, segment.name: value}, version
        )
    elif item == segment:
        yield from _consume(pattern, index + 1, path, position + 1, bindings, version)


def _request_map(access: Access) -> dict[str, Any]:
    request: dict[str, Any] = {
        "auth": access.auth,
        "method": access.method,
        "path": t.RulesPath(
            ("databases", access.database, "documents", *(str(item) for item in access.path))
        ),
        "time": access.time,
    }
    if access.request_resource is not None:
        request["resource"] = access.request_resource
    if access.query is not None:
        request["query"] = access.query
    return request


def _resources(access: Access) -> Iterator[Any]:
    """``resource`` for each evaluation: the document, or one per combination of ``in`` values."""
    if access.method != "list":
        yield access.resource
        return
    fields = sorted(access.constraints.items())
    choices = [values for _, values in fields]
    for count, combination in enumerate(itertools.product(*choices)):
        if count >= MAX_COMBINATIONS:
            return
        data: dict[str, Any] = {}
        for (field_path, _), value in zip(fields, combination, strict=True):
            target = data
            for part in field_path[:-1]:
                target = target.setdefault(part, {})
                if not isinstance(target, dict):
                    break
            else:
                target[field_path[-1]] = value
        yield {"data": data, "id": t.UNBOUND, "__name__": t.UNBOUND}
