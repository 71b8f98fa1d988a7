"""The checks behind ``Guard``: build each request's ``Access`` and ask the compiled rules.

Loaded only once some project has rules, so an emulator without rules never imports the rules
engine.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from ...errors import Code, ServiceError
from ...identity import Identity
from ..values import parse_field_path
from . import types as t
from .documents import document_path, fields_map, rules_value
from .engine import ANY_SEGMENTS, UNKNOWN_SEGMENT, Access, Rules, document_map
from .evaluate import Lookups

#: production allows 20 lookups for a batch or transaction, 10 for a single request.
MAX_BATCH_LOOKUPS = 20
_EQUALITY_OPS = {"EQUAL": 5, "IN": 8}
_RANGE_OPS = {1: ("high", False), 2: ("high", True), 3: ("low", False), 4: ("low", True)}


def check_get(rules: Rules, identity: Identity, database: Any, name: str, doc: Any | None) -> None:
    """A single-document read (``get``) of ``name``, whose stored value is ``doc``."""
    _, db_id, path = document_path(name)
    access = Access(
        "get",
        db_id,
        path,
        identity.auth_variable(),
        _now(),
        resource=None if doc is None else document_map(db_id, path, fields_map(doc.fields)),
    )
    _decide(rules, access, database, {})


def check_list(
    rules: Rules,
    identity: Identity,
    database: Any,
    parent: str,
    collection_id: str,
    all_descendants: bool,
    structured_query: Any | None,
) -> None:
    """A query (``list``) over ``collection_id`` below ``parent``."""
    _, db_id, parent_path = document_path(parent + "/x")
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
    _decide(rules, access, database, {})


def check_writes(
    rules: Rules,
    identity: Identity,
    database: Any,
    outcomes: Iterable[tuple[str, Any | None]],
    staged: Mapping[str, Any | None],
    commit_us: int | None,
) -> None:
    """Every write of one commit, with ``getAfter`` seeing the whole commit applied;
    ``request.time`` is the commit time (so it equals a server timestamp)."""
    now = _now() if commit_us is None else t.Timestamp(commit_us * 1000)
    lookups = _lookups(database, staged, MAX_BATCH_LOOKUPS)
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


def _decide(rules: Rules, access: Access, database: Any, staged: Mapping[str, Any | None]) -> None:
    lookups = _lookups(database, staged, None)
    decision = rules.check(access, lookups.before, lookups.after, lookups)
    if not decision.allowed:
        raise ServiceError(Code.PERMISSION_DENIED, decision.message)


def _lookups(database: Any, staged: Mapping[str, Any | None], limit: int | None) -> Lookups:
    root: str = database.root
    db_id = root.split("/")[3]

    def read(path: tuple[str, ...], after: bool) -> dict[str, Any] | None:
        name = root + "/" + "/".join(path)
        doc = staged[name] if after and name in staged else database.get(name)
        if doc is None:
            return None
        return document_map(db_id, path, fields_map(doc.fields))

    lookups = Lookups(db_id, lambda path: read(path, False), lambda path: read(path, True))
    if limit is not None:
        lookups.limit = limit
    return lookups


def _equality_constraints(where: Any) -> dict[tuple[str, ...], tuple[Any, ...]]:
    """Field path -> allowed values, from the ``==`` / ``in`` filters ANDed at the top; a field
    only range filters bound gets one ``Bounded`` value."""
    filters: list[Any] = []
    if where.HasField("field_filter"):
        filters.append(where.field_filter)
    elif where.HasField("composite_filter") and where.composite_filter.op == 1:  # AND
        for sub in where.composite_filter.filters:
            if sub.HasField("field_filter"):
                filters.append(sub.field_filter)
    out: dict[tuple[str, ...], tuple[Any, ...]] = {}
    bounds: dict[tuple[str, ...], t.Bounded] = {}
    for field_filter in filters:
        path = parse_field_path(field_filter.field.field_path)
        if field_filter.op == _EQUALITY_OPS["EQUAL"]:
            out[path] = (rules_value(field_filter.value),)
        elif field_filter.op == _EQUALITY_OPS["IN"]:
            out[path] = tuple(rules_value(v) for v in field_filter.value.array_value.values)
        elif field_filter.op in _RANGE_OPS:
            side, inclusive = _RANGE_OPS[field_filter.op]
            current = bounds.get(path, t.Bounded())
            value = rules_value(field_filter.value)
            if side == "low":
                bounds[path] = t.Bounded(value, inclusive, current.high, current.high_inclusive)
            else:
                bounds[path] = t.Bounded(current.low, current.low_inclusive, value, inclusive)
    for path, bounded in bounds.items():
        out.setdefault(path, (bounded,))
    return out


def _now() -> t.Timestamp:
    return t.Timestamp(time.time_ns())
