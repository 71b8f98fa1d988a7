"""Where the Firestore emulator asks the rules: reads, queries, listen targets and commits.

The caller's identity travels in a context variable that each wire handler sets from the
request's ``authorization`` metadata or header (``CALLER``); code that runs outside a request
(exports, test hooks) acts as the administrator. A project without uploaded rules is open, as
the official emulator is when no rules file is given.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any

from emulator.errors import Code, ServiceError
from emulator.firestore.values import parse_field_path
from emulator.identity import ADMIN, Identity
from emulator.rules.errors import RulesSyntaxError

from . import types as t
from .documents import document_path, fields_map, rules_value
from .engine import ANY_SEGMENTS, UNKNOWN_SEGMENT, Access, Rules, document_map
from .evaluate import Lookups
from .language import Warning_

CALLER: ContextVar[Identity] = ContextVar("firestore_caller", default=ADMIN)
#: production allows 20 lookups for a batch or transaction, 10 for a single request.
MAX_BATCH_LOOKUPS = 20
_EQUALITY_OPS = {"EQUAL": 5, "IN": 8}


class RulesError(ServiceError):
    """Rules text that does not compile: INVALID_ARGUMENT naming the line and column."""

    def __init__(self, error: RulesSyntaxError) -> None:
        super().__init__(Code.INVALID_ARGUMENT, f"Error compiling rules:\n{error}")
        self.line = error.line
        self.column = error.column


class Guard:
    """The rules of each project and the checks the servicer runs before answering."""

    def __init__(self, default_text: str | None = None) -> None:
        self._rules: dict[str, Rules] = {}
        #: rules for every project without its own upload (the ``--rules`` file / firebase.json).
        self._default: Rules | None = None
        if default_text is not None:
            try:
                self._default = Rules(default_text)
            except RulesSyntaxError as exc:
                raise RulesError(exc) from None

    def set_rules(self, project: str, text: str) -> list[Warning_]:
        """Compile and install ``text``, returning its warnings; on a syntax error
        (``RulesError``) the previous rules stay."""
        try:
            compiled = Rules(text)
        except RulesSyntaxError as exc:
            raise RulesError(exc) from None
        self._rules[project] = compiled
        return list(compiled.ruleset.warnings)

    def rules_text(self, project: str) -> str | None:
        rules = self._rules.get(project, self._default)
        return None if rules is None else rules.source

    def clear(self, project: str) -> None:
        self._rules.pop(project, None)

    def _active(self, project: str) -> tuple[Rules, Identity] | None:
        identity = CALLER.get()
        if identity.admin:
            return None
        rules = self._rules.get(project, self._default)
        return None if rules is None else (rules, identity)

    # ------------------------------------------------------------------------------- reads
    def check_get(self, database: Any, name: str, doc: Any | None) -> None:
        """A single-document read (``get``) of ``name``, whose stored value is ``doc``."""
        project, db_id, path = document_path(name)
        active = self._active(project)
        if active is None:
            return
        rules, identity = active
        access = Access(
            "get",
            db_id,
            path,
            identity.auth_variable(),
            _now(),
            resource=None if doc is None else document_map(db_id, path, fields_map(doc.fields)),
        )
        self._decide(rules, access, database, {})

    def check_list(
        self,
        database: Any,
        parent: str,
        collection_id: str,
        all_descendants: bool,
        structured_query: Any | None,
    ) -> None:
        """A query (``list``) over ``collection_id`` below ``parent``."""
        project, db_id, parent_path = document_path(parent + "/x")
        active = self._active(project)
        if active is None:
            return
        rules, identity = active
        prefix: tuple[Any, ...] = parent_path[:-1]
        if all_descendants:
            prefix = (*prefix, ANY_SEGMENTS)
        query: dict[str, Any] = {"limit": None, "offset": 0, "orderBy": {}}
        constraints: dict[tuple[str, ...], tuple[Any, ...]] = {}
        if structured_query is not None:
            sq = structured_query
            if sq.HasField("limit"):
                query["limit"] = int(sq.limit.value)
            query["offset"] = int(sq.offset)
            query["orderBy"] = {
                order.field.field_path: "DESC" if order.direction == 2 else "ASC"
                for order in sq.order_by
            }
            if sq.HasField("where"):
                constraints = _equality_constraints(sq.where)
        access = Access(
            "list",
            db_id,
            (*prefix, collection_id, UNKNOWN_SEGMENT),
            identity.auth_variable(),
            _now(),
            query=query,
            constraints=constraints,
        )
        self._decide(rules, access, database, {})

    # ------------------------------------------------------------------------------ writes
    def check_writes(
        self, database: Any, root: str, outcomes: Iterable[tuple[str, Any | None]],
        staged: Mapping[str, Any | None], commit_us: int | None = None,
    ) -> None:
        """Every write of one commit, with ``getAfter`` seeing the whole commit applied.

        ``request.time`` is the commit time, so ``request.resource.data.t == request.time``
        holds for a server-timestamp transform."""
        project, _, _ = document_path(root + "/x")
        active = self._active(project)
        if active is None:
            return
        rules, identity = active
        now = _now() if commit_us is None else t.Timestamp(commit_us * 1000)
        lookups = self._lookups(database, staged, MAX_BATCH_LOOKUPS)
        for name, after in outcomes:
            _, db_id, path = document_path(name)
            before = database.get(name)
            before_map = None if before is None else document_map(
                db_id, path, fields_map(before.fields))
            if after is None:
                method = "delete"
                request_resource = None
            else:
                method = "update" if before is not None else "create"
                request_resource = document_map(db_id, path, fields_map(after.fields))
            access = Access(
                method,
                db_id,
                path,
                identity.auth_variable(),
                now,
                resource=before_map,
                request_resource=request_resource,
            )
            decision = rules.check(access, lookups.before, lookups.after, lookups)
            if not decision.allowed:
                raise ServiceError(Code.PERMISSION_DENIED, decision.message)

    # ----------------------------------------------------------------------------- helpers
    def _decide(self, rules: Rules, access: Access, database: Any,
                staged: Mapping[str, Any | None]) -> None:
        lookups = self._lookups(database, staged, None)
        decision = rules.check(access, lookups.before, lookups.after, lookups)
        if not decision.allowed:
            raise ServiceError(Code.PERMISSION_DENIED, decision.message)

    @staticmethod
    def _lookups(database: Any, staged: Mapping[str, Any | None], limit: int | None) -> Lookups:
        root: str = database.root

        def read(path: tuple[str, ...], after: bool) -> dict[str, Any] | None:
            name = root + "/" + "/".join(path)
            doc = staged[name] if after and name in staged else database.get(name)
            if doc is None:
                return None
            db_id = root.split("/")[3]
            return document_map(db_id, path, fields_map(doc.fields))

        lookups = Lookups(
            root.split("/")[3],
            lambda path: read(path, False),
            lambda path: read(path, True),
        )
        if limit is not None:
            lookups.limit = limit
        return lookups


def _equality_constraints(where: Any) -> dict[tuple[str, ...], tuple[Any, ...]]:
    """Field path -> allowed values, from the ``==`` / ``in`` filters ANDed at the top."""
    filters: list[Any] = []
    if where.HasField("field_filter"):
        filters.append(where.field_filter)
    elif where.HasField("composite_filter") and where.composite_filter.op == 1:  # AND
        for sub in where.composite_filter.filters:
            if sub.HasField("field_filter"):
                filters.append(sub.field_filter)
    out: dict[tuple[str, ...], tuple[Any, ...]] = {}
    for field_filter in filters:
        path = parse_field_path(field_filter.field.field_path)
        if field_filter.op == _EQUALITY_OPS["EQUAL"]:
            out[path] = (rules_value(field_filter.value),)
        elif field_filter.op == _EQUALITY_OPS["IN"]:
            out[path] = tuple(rules_value(v) for v in field_filter.value.array_value.values)
    return out


def _now() -> t.Timestamp:
    return t.Timestamp(time.time_ns())
