"""Realtime Database security rules: compiled once per upload, evaluated on every request.

The rules document is a tree mirroring the data: at each level ``.read`` / ``.write`` (which
cascade: a grant at a level covers everything below it, and nothing below can take it back),
``.validate`` (evaluated for every node a write leaves non-null, at the written location, its
ancestors and its descendants; never cascading), ``.indexOn`` (accepted), literal children and
at most one ``$variable`` child. Expressions are JavaScript-like; they see ``auth``, ``now``,
``root``, ``data``, ``newData``, ``query`` and the ``$variables`` of the path. Any evaluation
error counts as ``false``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.database.paths import Path
from emulator.database.values import (
    PRIORITY,
    VALUE,
    Node,
    children,
    descend,
    is_number,
    priority_of,
    render,
)
from emulator.errors import Code, ServiceError, invalid
from emulator.identity import Identity
from emulator.rules import expressions as ex
from emulator.rules.errors import EvaluationError, RulesSyntaxError
from emulator.rules.expressions import parse_expression

PERMISSION_DENIED = "Permission denied"
_RULE_KEYS = frozenset({".read", ".write", ".validate", ".indexOn"})
_TOKENS = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.DOTALL)

Condition = ex.Node | bool


@dataclass(slots=True)
class RuleNode:
    """One level of the rules tree."""

    read: Condition | None = None
    write: Condition | None = None
    validate: Condition | None = None
    children: dict[str, RuleNode] = field(default_factory=dict)
    #: ``($name, node)`` for a ``$variable`` child.
    wildcard: tuple[str, RuleNode] | None = None

    def child(self, key: str) -> tuple[RuleNode, str | None] | None:
        """The rule node for data child ``key``, and the variable it binds (if a wildcard)."""
        if key in self.children:
            return self.children[key], None
        if self.wildcard is not None:
            return self.wildcard[1], self.wildcard[0]
        return None


def compile_rules(text: str) -> RuleNode:
    """Parse and compile a rules document; raises ``ServiceError(INVALID_ARGUMENT)`` naming
    the line of the first problem, as ``Error saving rules - Line N: ...``."""
    stripped = _TOKENS.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " ", text)
    try:
        document = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise invalid(f"Error saving rules - Line {exc.lineno}: {exc.msg}.") from None
    except RecursionError:
        raise invalid("Error saving rules - Line 1: nested too deeply.") from None
    if not isinstance(document, dict) or "rules" not in document:
        raise invalid('Error saving rules - Line 1: Expected a top-level "rules" object.')
    return _compile_node(document["rules"], text, "/")


def _line_of(text: str, needle: str) -> int:
    index = text.find(needle)
    return text.count("\n", 0, index) + 1 if index >= 0 else 1


def _compile_node(raw: Any, text: str, where: str) -> RuleNode:
    if not isinstance(raw, dict):
        raise invalid(f"Error saving rules - Line 1: Expected an object at {where}.")
    node = RuleNode()
    for key, value in raw.items():
        if key.startswith("."):
            if key not in _RULE_KEYS:
                raise invalid(
                    f"Error saving rules - Line {_line_of(text, json.dumps(key))}: "
                    f"Invalid key {key} at {where}."
                )
            if key == ".indexOn":
                if not isinstance(value, str | list):
                    raise invalid(
                        f"Error saving rules - Line 1: .indexOn at {where} must be a "
                        "string or a list of strings."
                    )
                continue
            setattr(node, key[1:], _condition(key, value, text, where))
        elif key.startswith("$"):
            if node.wildcard is not None:
                raise invalid(
                    f"Error saving rules - Line {_line_of(text, json.dumps(key))}: "
                    f"Only one $location is allowed at {where}."
                )
            node.wildcard = (key, _compile_node(value, text, f"{where}{key}/"))
        else:
            node.children[key] = _compile_node(value, text, f"{where}{key}/")
    return node


def _condition(key: str, value: Any, text: str, where: str) -> Condition:
    if isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise invalid(
            f"Error saving rules - Line 1: {key} at {where} must be a string or a boolean."
        )
    try:
        return parse_expression(value, "database")
    except RulesSyntaxError as exc:
        line = _line_of(text, value)
        raise invalid(
            f"Error saving rules - Line {line}: {exc.message} ({key} at {where}, "
            f"column {exc.column})."
        ) from None
    except RecursionError:
        raise invalid(
            f"Error saving rules - Line {_line_of(text, value)}: expression nested too deeply."
        ) from None


# --------------------------------------------------------------------------------- snapshots
View = Callable[[Path], "Node | None"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """``data`` / ``newData`` / ``root``: a path into one version of the tree."""

    view: View
    path: Path

    def node(self) -> Node | None:
        return self.view(self.path)


def _relative(text: Any) -> Path:
    if not isinstance(text, str):
        raise EvaluationError("child paths are strings")
    return tuple(part for part in text.split("/") if part)


def _snapshot_method(snap: Snapshot, name: str, args: list[Any]) -> Any:
    node = snap.node()
    if name == "val" and not args:
        return render(node)
    if name == "child" and len(args) == 1:
        return Snapshot(snap.view, snap.path + _relative(args[0]))
    if name == "parent" and not args:
        if not snap.path:
            raise EvaluationError("the root has no parent")
        return Snapshot(snap.view, snap.path[:-1])
    if name == "exists" and not args:
        return node is not None
    if name == "hasChild" and len(args) == 1:
        return descend(node, _relative(args[0])) is not None
    if name == "hasChildren":
        if not args:
            return any(True for _ in children(node))
        wanted = args[0]
        if len(args) != 1 or not isinstance(wanted, list):
            raise EvaluationError("hasChildren takes a list of keys")
        return all(descend(node, _relative(key)) is not None for key in wanted)
    if name == "getPriority" and not args:
        return priority_of(node)
    leaf = node[VALUE] if isinstance(node, dict) and VALUE in node else node
    if name == "isNumber" and not args:
        return is_number(leaf)
    if name == "isString" and not args:
        return isinstance(leaf, str)
    if name == "isBoolean" and not args:
        return isinstance(leaf, bool)
    raise EvaluationError(f"No such method {name}")


def _string_method(value: str, name: str, args: list[Any]) -> Any:
    if name == "contains" and len(args) == 1 and isinstance(args[0], str):
        return args[0] in value
    if name == "beginsWith" and len(args) == 1 and isinstance(args[0], str):
        return value.startswith(args[0])
    if name == "endsWith" and len(args) == 1 and isinstance(args[0], str):
        return value.endswith(args[0])
    if name == "replace" and len(args) == 2 and all(isinstance(a, str) for a in args):
        return value.replace(args[0], args[1])
    if name == "toLowerCase" and not args:
        return value.lower()
    if name == "toUpperCase" and not args:
        return value.upper()
    if name == "matches" and len(args) == 1 and isinstance(args[0], re.Pattern):
        return args[0].search(value) is not None
    raise EvaluationError(f"No such string method {name}")


# --------------------------------------------------------------------------------- evaluator
class _Evaluator:
    def __init__(self, variables: Mapping[str, Any]) -> None:
        self.variables = variables

    def truth(self, condition: Condition) -> bool:
        if isinstance(condition, bool):
            return condition
        try:
            value = self.eval(condition)
        except (EvaluationError, RecursionError, TypeError, ValueError, ZeroDivisionError):
            return False
        return value is True

    def eval(self, node: ex.Node) -> Any:
        if isinstance(node, ex.Const):
            return node.value
        if isinstance(node, ex.Name):
            if node.name not in self.variables:
                raise EvaluationError(f"Unknown variable {node.name}")
            return self.variables[node.name]
        if isinstance(node, ex.RegexLit):
            return node.pattern
        if isinstance(node, ex.Member):
            target = self.eval(node.target)
            if isinstance(target, str) and node.name == "length":
                return len(target)
            if isinstance(target, dict):
                if node.name not in target:
                    return None
                return target[node.name]
            raise EvaluationError(f"No property {node.name}")
        if isinstance(node, ex.Index):
            target = self.eval(node.target)
            key = self.eval(node.index)
            if isinstance(target, dict) and isinstance(key, str):
                return target.get(key)
            raise EvaluationError("Cannot index")
        if isinstance(node, ex.Call):
            return self._call(node)
        if isinstance(node, ex.Unary):
            value = self.eval(node.operand)
            if node.op == "!":
                if not isinstance(value, bool):
                    raise EvaluationError("! needs a boolean")
                return not value
            if not is_number(value):
                raise EvaluationError("- needs a number")
            return -value
        if isinstance(node, ex.Ternary):
            condition = self.eval(node.condition)
            if not isinstance(condition, bool):
                raise EvaluationError("?: needs a boolean")
            return self.eval(node.if_true if condition else node.if_false)
        if isinstance(node, ex.Binary):
            return self._binary(node)
        if isinstance(node, ex.ListLit):
            return [self.eval(item) for item in node.items]
        raise EvaluationError(f"Unsupported expression {type(node).__name__}")

    def _call(self, node: ex.Call) -> Any:
        function = node.function
        if not isinstance(function, ex.Member):
            raise EvaluationError("Not a method call")
        target = self.eval(function.target)
        args = [self.eval(arg) for arg in node.args]
        if isinstance(target, Snapshot):
            return _snapshot_method(target, function.name, args)
        if isinstance(target, str):
            return _string_method(target, function.name, args)
        raise EvaluationError(f"No method {function.name}")

    def _binary(self, node: ex.Binary) -> Any:
        op = node.op
        if op in ("&&", "||"):
            left = self.eval(node.left)
            if not isinstance(left, bool):
                raise EvaluationError(f"{op} needs booleans")
            if (op == "&&" and not left) or (op == "||" and left):
                return left
            right = self.eval(node.right)
            if not isinstance(right, bool):
                raise EvaluationError(f"{op} needs booleans")
            return right
        left = self.eval(node.left)
        right = self.eval(node.right)
        if op in ("==", "==="):
            return _same(left, right)
        if op in ("!=", "!=="):
            return not _same(left, right)
        if op == "+":
            if isinstance(left, str) or isinstance(right, str):
                return _js_string(left) + _js_string(right)
            return _number(left) + _number(right)
        if op in ("<", "<=", ">", ">="):
            if not (is_number(left) and is_number(right)) and not (
                isinstance(left, str) and isinstance(right, str)
            ):
                raise EvaluationError("comparison needs two numbers or two strings")
            return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[
                op
            ]
        a, b = _number(left), _number(right)
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        if op == "%":
            return a % b
        raise EvaluationError(f"Unsupported operator {op}")


def _same(left: Any, right: Any) -> bool:
    if is_number(left) and is_number(right):
        return bool(left == right)
    if isinstance(left, Snapshot) or isinstance(right, Snapshot):
        raise EvaluationError("compare snapshot values with .val()")
    return type(left) is type(right) and bool(left == right)


def _number(value: Any) -> int | float:
    if not is_number(value):
        raise EvaluationError("arithmetic needs numbers")
    return value  # type: ignore[no-any-return]


def _js_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if is_number(value):
        return str(value)
    raise EvaluationError("cannot concatenate")


# ------------------------------------------------------------------------------- decisions
def _overlay(old: View, planned: list[tuple[Path, Node | None]]) -> View:
    """The tree as it would be after ``planned`` (non-overlapping) replacements."""

    def view(path: Path) -> Node | None:
        node = old(path)
        for target, replacement in planned:
            if target[: len(path)] == path:
                node = _put_copy(node, target[len(path) :], replacement)
            elif path[: len(target)] == target:
                node = descend(replacement, path[len(target) :])
        return node

    return view


def _put_copy(node: Node | None, rest: Path, replacement: Node | None) -> Node | None:
    if not rest:
        return replacement
    copy: dict[str, Any] = dict(node) if isinstance(node, dict) and VALUE not in node else {}
    if isinstance(node, dict) and VALUE in node and PRIORITY in node:
        copy = {PRIORITY: node[PRIORITY]}
    child = _put_copy(copy.get(rest[0]), rest[1:], replacement)
    if child is None:
        copy.pop(rest[0], None)
    else:
        copy[rest[0]] = child
    return copy if any(not key.startswith(".") for key in copy) else None


def auth_variable(identity: Identity) -> dict[str, Any] | None:
    """``auth``: uid, provider and the token's claims (``None`` for nobody)."""
    if identity.override is not None:
        return dict(identity.override)
    if identity.claims is None:
        return None
    claims = identity.claims
    firebase = claims.get("firebase")
    provider = firebase.get("sign_in_provider") if isinstance(firebase, dict) else None
    return {"uid": identity.uid, "provider": provider or "custom", "token": dict(claims)}


def query_variable(query: Any) -> dict[str, Any]:
    """``query``: how a read is ordered and bounded (``None`` / ``False`` when not)."""
    out: dict[str, Any] = {
        "orderByKey": False,
        "orderByValue": False,
        "orderByPriority": False,
        "orderByChild": None,
        "startAt": None,
        "endAt": None,
        "equalTo": None,
        "limitToFirst": None,
        "limitToLast": None,
    }
    if query is None:
        return out
    order = getattr(query, "order_by", None)
    child = getattr(query, "child", ())
    if child:
        out["orderByChild"] = "/".join(child)
    elif order == "$key":
        out["orderByKey"] = True
    elif order == "$value":
        out["orderByValue"] = True
    else:
        out["orderByPriority"] = True
    start, end = getattr(query, "start", None), getattr(query, "end", None)
    start = None if type(start).__name__ == "_Unbounded" else start
    end = None if type(end).__name__ == "_Unbounded" else end
    if start is not None and start == end:
        out["equalTo"] = start
    else:
        out["startAt"], out["endAt"] = start, end
    out["limitToFirst"] = getattr(query, "limit_first", None)
    out["limitToLast"] = getattr(query, "limit_last", None)
    return out


class NamespaceRules:
    """The compiled rules of one namespace."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.root = compile_rules(text)

    def _walk(self, path: Path) -> Iterator[tuple[int, RuleNode, dict[str, Any]]]:
        """Rule nodes from the root to ``path`` with their depth and bound variables."""
        node: RuleNode | None = self.root
        bound: dict[str, Any] = {}
        depth = 0
        while node is not None:
            yield depth, node, dict(bound)
            if depth == len(path):
                return
            found = node.child(path[depth])
            if found is None:
                return
            node, variable = found
            if variable is not None:
                bound[variable] = path[depth]
            depth += 1

    def can_read(self, identity: Identity, old: View, path: Path, query: Any, now: int) -> bool:
        """Whether a read (or listen) at ``path`` is allowed: any ``.read`` on the way."""
        if identity.admin:
            return True
        base = {
            "auth": auth_variable(identity),
            "now": now,
            "root": Snapshot(old, ()),
            "query": query_variable(query),
        }
        for depth, node, bound in self._walk(path):
            if node.read is None:
                continue
            variables = {**base, **bound, "data": Snapshot(old, path[:depth])}
            if _Evaluator(variables).truth(node.read):
                return True
        return False

    def can_write(self, identity: Identity, old: View, path: Path, now: int) -> bool:
        """Whether ``.write`` lets ``identity`` change ``path`` at all (``newData`` is the
        data as it stands: cancelling an onDisconnect registration writes nothing)."""
        if identity.admin:
            return True
        base = {"auth": auth_variable(identity), "now": now, "root": Snapshot(old, ())}
        return self._granted(base, old, old, path)

    def check_write(
        self, identity: Identity, old: View, planned: list[tuple[Path, Node | None]], now: int
    ) -> None:
        """Raise PERMISSION_DENIED unless every planned replacement may be written and the
        result validates."""
        if identity.admin:
            return
        new = _overlay(old, planned)
        base = {"auth": auth_variable(identity), "now": now, "root": Snapshot(old, ())}
        validated: set[Path] = set()
        for path, replacement in planned:
            if not self._granted(base, old, new, path):
                raise ServiceError(Code.PERMISSION_DENIED, PERMISSION_DENIED)
            for depth, node, bound in self._walk(path):
                self._validate(base, old, new, path[:depth], node, bound, validated)
            if replacement is not None:
                self._validate_below(base, old, new, path, validated)

    def _granted(self, base: dict[str, Any], old: View, new: View, path: Path) -> bool:
        for depth, node, bound in self._walk(path):
            if node.write is None:
                continue
            where = path[:depth]
            variables = {
                **base,
                **bound,
                "data": Snapshot(old, where),
                "newData": Snapshot(new, where),
            }
            if _Evaluator(variables).truth(node.write):
                return True
        return False

    def _validate(
        self,
        base: dict[str, Any],
        old: View,
        new: View,
        where: Path,
        node: RuleNode,
        bound: dict[str, Any],
        validated: set[Path],
    ) -> None:
        if node.validate is None or where in validated:
            return
        validated.add(where)
        if new(where) is None:
            return
        variables = {**base, **bound, "data": Snapshot(old, where), "newData": Snapshot(new, where)}
        if not _Evaluator(variables).truth(node.validate):
            raise ServiceError(Code.PERMISSION_DENIED, PERMISSION_DENIED)

    def _validate_below(
        self, base: dict[str, Any], old: View, new: View, path: Path, validated: set[Path]
    ) -> None:
        start = None
        bound: dict[str, Any] = {}
        for depth, node, variables in self._walk(path):
            if depth == len(path):
                start, bound = node, variables
        if start is None:
            return
        pending: list[tuple[Path, RuleNode, dict[str, Any]]] = [(path, start, bound)]
        while pending:
            where, node, variables = pending.pop()
            for key, _child in children(new(where)):
                found = node.child(key)
                if found is None:
                    continue
                child_node, variable = found
                child_vars = {**variables, variable: key} if variable else variables
                child_path = (*where, key)
                self._validate(base, old, new, child_path, child_node, child_vars, validated)
                pending.append((child_path, child_node, child_vars))
