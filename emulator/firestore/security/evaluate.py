"""Evaluating rule conditions: names, operators, calls, user functions, document lookups."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...rules import expressions as ex
from ...rules.errors import EvaluationError
from . import methods
from . import types as t
from .language import Function

#: production's limit on document lookups (get / exists...) per request.
MAX_LOOKUPS = 10
MAX_CALL_DEPTH = 20

Lookup = Callable[[tuple[str, ...]], "dict[str, Any] | None"]


@dataclass(slots=True)
class Lookups:
    """Reads of other documents: before the request (``get``) and after it (``getAfter``)."""

    database: str
    before: Lookup
    after: Lookup
    count: int = 0
    #: per-request limit; batches get a higher one.
    limit: int = MAX_LOOKUPS
    cache: dict[tuple[bool, tuple[str, ...]], dict[str, Any] | None] = field(default_factory=dict)

    def fetch(self, value: Any, after: bool) -> dict[str, Any] | None:
        if value is None:
            raise t.null_error()
        if not isinstance(value, t.RulesPath):
            raise EvaluationError(f"Expected a path, got {t.type_name(value)}.")
        segments = value.segments
        if (
            len(segments) < 4
            or segments[0] != "databases"
            or segments[2] != "documents"
            or len(segments) % 2 != 1
        ):
            raise EvaluationError(f"Invalid document path: {value}.")
        if segments[1] != self.database and segments[1] != "(default)":
            raise EvaluationError(f"Cross-database lookups are not allowed: {value}.")
        key = (after, segments[3:])
        if key not in self.cache:
            self.count += 1
            if self.count > self.limit:
                raise EvaluationError(
                    f"Exceeded maximum number of document access calls ({self.limit})."
                )
            self.cache[key] = (self.after if after else self.before)(segments[3:])
        return self.cache[key]


class Evaluator:
    """Evaluates expressions of one request against one match's bindings and functions."""

    def __init__(
        self,
        globals_: Mapping[str, Any],
        functions: Mapping[str, Function],
        lookups: Lookups,
    ) -> None:
        self.globals = globals_
        self.functions = functions
        self.lookups = lookups
        self.depth = 0

    # ---------------------------------------------------------------------------- expressions
    def evaluate(self, node: ex.Node, scope: Mapping[str, Any]) -> Any:
        kind = type(node)
        if kind is ex.Const:
            return node.value  # type: ignore[attr-defined]
        if kind is ex.Name:
            return self._name(node.name, scope)  # type: ignore[attr-defined]
        if kind is ex.Member:
            assert isinstance(node, ex.Member)
            return self._member(self.evaluate(node.target, scope), node.name)
        if kind is ex.Binary:
            assert isinstance(node, ex.Binary)
            return self._binary(node, scope)
        if kind is ex.Unary:
            assert isinstance(node, ex.Unary)
            operand = self.evaluate(node.operand, scope)
            if node.op == "!":
                return not t.truth(operand)
            return t.negate(operand)
        if kind is ex.Call:
            assert isinstance(node, ex.Call)
            return self._call(node, scope)
        if kind is ex.Index:
            assert isinstance(node, ex.Index)
            return self._index(self.evaluate(node.target, scope), self.evaluate(node.index, scope))
        if kind is ex.Slice:
            assert isinstance(node, ex.Slice)
            return self._slice(node, scope)
        if kind is ex.IsType:
            assert isinstance(node, ex.IsType)
            return t.is_type(self.evaluate(node.operand, scope), node.type_name)
        if kind is ex.Ternary:
            assert isinstance(node, ex.Ternary)
            if t.truth(self.evaluate(node.condition, scope)):
                return self.evaluate(node.if_true, scope)
            return self.evaluate(node.if_false, scope)
        if kind is ex.ListLit:
            assert isinstance(node, ex.ListLit)
            return [self.evaluate(item, scope) for item in node.items]
        if kind is ex.MapLit:
            assert isinstance(node, ex.MapLit)
            out: dict[str, Any] = {}
            for key_node, value_node in node.entries:
                key = self.evaluate(key_node, scope)
                if not isinstance(key, str):
                    raise EvaluationError("Map keys must be strings.")
                out[key] = self.evaluate(value_node, scope)
            return out
        if kind is ex.PathLit:
            assert isinstance(node, ex.PathLit)
            return self._path(node, scope)
        raise EvaluationError(f"Unsupported expression {kind.__name__}.")

    def _name(self, name: str, scope: Mapping[str, Any]) -> Any:
        if name in scope:
            value = scope[name]
        elif name in self.globals:
            value = self.globals[name]
        else:
            raise EvaluationError(f"Variable {name} is not defined.")
        if value is t.UNBOUND:
            raise t.null_error()
        return value

    @staticmethod
    def _member(target: Any, name: str) -> Any:
        if isinstance(target, dict):
            if name not in target:
                raise EvaluationError(f"Property {name} is undefined on object.")
            value = target[name]
            if value is t.UNBOUND:
                raise t.null_error()
            return value
        if target is None:
            raise t.null_error()
        raise EvaluationError(f"Property {name} is undefined on {t.type_name(target)}.")

    def _binary(self, node: ex.Binary, scope: Mapping[str, Any]) -> Any:
        op = node.op
        if op in ("&&", "||"):
            decisive = op == "||"
            try:
                left = t.truth(self.evaluate(node.left, scope))
            except EvaluationError as left_error:
                right = t.truth(self.evaluate(node.right, scope))
                if right is decisive:
                    return decisive
                raise left_error from None
            if left is decisive:
                return decisive
            return t.truth(self.evaluate(node.right, scope))
        left = self.evaluate(node.left, scope)
        right = self.evaluate(node.right, scope)
        if op == "==":
            return t.equal(left, right)
        if op == "!=":
            return not t.equal(left, right)
        if op in ("<", "<=", ">", ">=") and (
            isinstance(left, t.Bounded) or isinstance(right, t.Bounded)
        ):
            return t.bounded_compare(op, left, right)
        if op == "<":
            return t.compare(left, right) < 0
        if op == "<=":
            return t.compare(left, right) <= 0
        if op == ">":
            return t.compare(left, right) > 0
        if op == ">=":
            return t.compare(left, right) >= 0
        if op == "in":
            return t.contains(right, left)
        if op == "+":
            return t.add(left, right)
        if op == "-":
            return t.subtract(left, right)
        if op == "*":
            return t.multiply(left, right)
        if op == "/":
            return t.divide(left, right)
        if op == "%":
            return t.modulo(left, right)
        raise EvaluationError(f"Unsupported operator {op}.")

    @staticmethod
    def _index(target: Any, index: Any) -> Any:
        if target is None:
            raise t.null_error()
        if isinstance(target, dict):
            if not isinstance(index, str):
                raise EvaluationError("Map keys must be strings.")
            if index not in target:
                raise EvaluationError(f"Property {index} is undefined on object.")
            return target[index]
        if isinstance(target, (list, str, t.RulesPath)):
            items = target.segments if isinstance(target, t.RulesPath) else target
            if not t.is_number(index) or not isinstance(index, int):
                raise EvaluationError("Index must be an integer.")
            if not 0 <= index < len(items):
                raise EvaluationError(f"Index out of range: {index}.")
            return items[index]
        raise EvaluationError(f"Cannot index a {t.type_name(target)}.")

    def _slice(self, node: ex.Slice, scope: Mapping[str, Any]) -> Any:
        target = self.evaluate(node.target, scope)
        if target is None:
            raise t.null_error()
        if not isinstance(target, (list, str)):
            raise EvaluationError(f"Cannot slice a {t.type_name(target)}.")
        start = 0 if node.start is None else self.evaluate(node.start, scope)
        stop = len(target) if node.stop is None else self.evaluate(node.stop, scope)
        if not (isinstance(start, int) and isinstance(stop, int)) or isinstance(start, bool):
            raise EvaluationError("Slice bounds must be integers.")
        if not 0 <= start <= stop <= len(target):
            raise EvaluationError("Slice bounds out of range.")
        return target[start:stop]

    def _path(self, node: ex.PathLit, scope: Mapping[str, Any]) -> t.RulesPath:
        segments: list[str] = []
        for segment in node.segments:
            if isinstance(segment, str):
                segments.append(segment)
                continue
            value = self.evaluate(segment, scope)
            if isinstance(value, t.RulesPath):
                segments.extend(value.segments)
            elif isinstance(value, str):
                segments.extend(part for part in value.split("/") if part)
            elif t.is_number(value) and isinstance(value, int):
                segments.append(str(value))
            elif value is None:
                raise t.null_error()
            else:
                raise EvaluationError(f"Cannot use a {t.type_name(value)} in a path.")
        return t.RulesPath(tuple(segments))

    # ---------------------------------------------------------------------------------- calls
    def _call(self, node: ex.Call, scope: Mapping[str, Any]) -> Any:
        function = node.function
        if isinstance(function, ex.Name):
            name = function.name
            args = [self.evaluate(arg, scope) for arg in node.args]
            if name in self.functions:
                return self._user_function(self.functions[name], args)
            return self._builtin(name, args)
        if isinstance(function, ex.Member):
            target_node = function.target
            if (
                isinstance(target_node, ex.Name)
                and target_node.name in methods.NAMESPACES
                and target_node.name not in scope
            ):
                namespace = methods.NAMESPACES[target_node.name]
                if function.name not in namespace:
                    raise EvaluationError(
                        f"Function not found error: Name: [{target_node.name}.{function.name}]."
                    )
                args = [self.evaluate(arg, scope) for arg in node.args]
                try:
                    return namespace[function.name](*args)
                except TypeError:
                    raise EvaluationError(
                        f"Function [{target_node.name}.{function.name}] called with the wrong "
                        "arguments."
                    ) from None
            target = self.evaluate(target_node, scope)
            args = [self.evaluate(arg, scope) for arg in node.args]
            return methods.call_method(target, function.name, args)
        raise EvaluationError("Not a function.")

    def _builtin(self, name: str, args: list[Any]) -> Any:
        if name in ("get", "getAfter", "exists", "existsAfter"):
            if len(args) != 1:
                raise EvaluationError(f"Function [{name}] takes one argument.")
            document = self.lookups.fetch(args[0], after=name.endswith("After"))
            if name.startswith("exists"):
                return document is not None
            return document
        if len(args) != 1:
            raise EvaluationError(f"Function not found error: Name: [{name}].")
        value = args[0]
        if name == "int":
            return methods.to_int(value)
        if name == "float":
            return methods.to_float(value)
        if name == "string":
            return methods.to_string(value)
        if name == "path":
            return methods.to_path(value)
        if name == "debug":
            return value
        raise EvaluationError(f"Function not found error: Name: [{name}].")

    def _user_function(self, function: Function, args: list[Any]) -> Any:
        if len(args) != len(function.params):
            raise EvaluationError(
                f"Function [{function.name}] expects {len(function.params)} arguments."
            )
        if self.depth >= MAX_CALL_DEPTH:
            raise EvaluationError("Maximum function call depth exceeded.")
        self.depth += 1
        try:
            scope: dict[str, Any] = dict(zip(function.params, args, strict=True))
            for name, expression in function.lets:
                scope[name] = self.evaluate(expression, scope)
            return self.evaluate(function.body, scope)
        finally:
            self.depth -= 1
