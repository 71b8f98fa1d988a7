"""Applying ``google.firestore.v1.Write``: masks, transforms, preconditions, no-op detection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf import unknown_fields

from emulator.errors import Code, ServiceError, invalid

from .store import Database, to_timestamp
from .values import (
    INT64_MAX,
    INT64_MIN,
    MAX_TRANSFORMS_PER_DOCUMENT,
    Document,
    Value,
    delete_field,
    get_field,
    is_nan,
    is_number,
    kind,
    number,
    parse_field_path,
    set_field,
    transform_equal,
    validate_document,
    validate_document_name,
    validate_value,
    validate_write_path,
)


@dataclass
class WriteOutcome:
    """What one write produced: the staged document and the WriteResult fields."""

    name: str
    doc: Any | None
    update_time: int | None
    transform_results: list[Any] = field(default_factory=list)
    #: a ``verify``: checked its precondition, wrote nothing (no write rules apply).
    verify: bool = False


#: ``Write.verify`` (field 5): the web and mobile SDKs' transactions send it for documents read
#: but not written. The Python client's generated classes lack it, so it parses as unknown.
VERIFY_FIELD = 5


def verify_target(write: Any) -> str | None:
    """The document a ``verify`` write checks, or None when ``write`` is no verify."""
    for f in unknown_fields.UnknownFieldSet(write):
        if f.field_number == VERIFY_FIELD and f.wire_type == 2:
            try:
                return bytes(f.data).decode()
            except UnicodeDecodeError:
                raise invalid("verify is not valid UTF-8") from None
    return None


def write_target(write: Any) -> str:
    k = write.WhichOneof("operation")
    if k == "update":
        return str(write.update.name)
    if k == "delete":
        return str(write.delete)
    if k == "transform":
        return str(write.transform.document)
    raise invalid("write has no operation")


def apply_write(
    db: Database, staged: dict[str, Any | None], write: Any, at: int
) -> WriteOutcome:
    """Apply one write on top of ``staged`` (then the stored state) at commit time ``at``.

    Raises ServiceError (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION).
    The caller stores ``staged`` only when every write of the commit succeeded.
    """
    verify = verify_target(write)
    name = write_target(write) if verify is None else verify
    validate_document_name(name)
    if not name.startswith(db.root + "/"):
        raise invalid(f"document {name} is not in database {db.root}")
    old = staged[name] if name in staged else db.get(name)
    if verify is not None:
        return _verify(write, old, name)
    if write.HasField("current_document"):
        _check_precondition(write.current_document, old, name)
    op = write.WhichOneof("operation")
    if op == "delete":
        if write.update_transforms or write.HasField("update_mask"):
            raise invalid("a delete cannot carry a mask or transforms")
        staged[name] = None
        return WriteOutcome(name, None, None)

    if op == "update":
        new = Document()
        new.name = name
        if write.HasField("update_mask"):
            if old is not None:
                new.fields.MergeFrom(old.fields)
            for raw in write.update_mask.field_paths:
                path = parse_field_path(raw)
                validate_write_path(path, raw)
                value = get_field(write.update.fields, path)
                if value is None:
                    delete_field(new.fields, path)
                else:
                    set_field(new.fields, path, value)
        else:
            # One C-level copy of the whole message is cheaper than merging its field map.
            new.CopyFrom(write.update)
            new.name = name
            new.ClearField("create_time")
            new.ClearField("update_time")
        transforms = list(write.update_transforms)
    else:  # legacy standalone transform write
        new = Document()
        new.name = name
        if old is not None:
            new.fields.MergeFrom(old.fields)
        transforms = list(write.transform.field_transforms)

    if len(transforms) > MAX_TRANSFORMS_PER_DOCUMENT:
        raise invalid(
            f"a document may have at most {MAX_TRANSFORMS_PER_DOCUMENT} field transforms "
            "per commit"
        )
    masked = (set(map(parse_field_path, write.update_mask.field_paths))
              if op == "update" and write.HasField("update_mask") else set())
    _check_transform_paths(transforms, masked)
    results = [_apply_transform(new.fields, t, at, db.root) for t in transforms]
    validate_document(name, new.fields)

    if old is not None and old.fields == new.fields:
        # No-op: keep the document and report its existing update_time.
        staged[name] = old
        return WriteOutcome(name, old, _us(old.update_time), results)
    if old is not None:
        new.create_time.CopyFrom(old.create_time)
    else:
        to_timestamp(at, new.create_time)
    to_timestamp(at, new.update_time)
    staged[name] = new
    return WriteOutcome(name, new, at, results)


def _verify(write: Any, old: Any | None, name: str) -> WriteOutcome:
    """A verify checks its precondition and changes nothing; like a no-op write it reports
    the stored update_time."""
    if write.WhichOneof("operation") is not None:
        raise invalid("a write cannot be both a verify and another operation")
    if write.HasField("update_mask") or write.update_transforms:
        raise invalid("a verify cannot carry a mask or transforms")
    if not write.HasField("current_document"):
        raise invalid("a verify must contain a precondition")
    _check_precondition(write.current_document, old, name)
    return WriteOutcome(name, old, None if old is None else _us(old.update_time), verify=True)


def _us(ts: Any) -> int:
    return int(ts.seconds) * 1_000_000 + int(ts.nanos) // 1000


def _check_precondition(pre: Any, old: Any | None, name: str) -> None:
    k = pre.WhichOneof("condition_type")
    if k == "exists":
        if pre.exists and old is None:
            raise ServiceError(Code.NOT_FOUND, f"No document to update: {name}")
        if not pre.exists and old is not None:
            raise ServiceError(Code.ALREADY_EXISTS, f"Document already exists: {name}")
    elif k == "update_time":
        # A version newer than the stored one can never have been read: production and the
        # official emulator call that a bad request, not a failed precondition.
        if old is not None and _us(pre.update_time) > _us(old.update_time):
            raise invalid(
                f"invalid precondition for {name}: update_time is newer than the stored version"
            )
        if old is None or old.update_time != pre.update_time:
            raise ServiceError(
                Code.FAILED_PRECONDITION,
                f"the stored version of {name} does not match the required update_time",
            )


def _check_transform_paths(transforms: list[Any], masked: set[tuple[str, ...]]) -> None:
    """Production refuses two transforms of one field, and a field both masked and
    transformed."""
    seen: set[tuple[str, ...]] = set()
    for t in transforms:
        path = parse_field_path(t.field_path)
        validate_write_path(path, t.field_path)
        if path in seen:
            raise invalid(f"field {t.field_path} has more than one transform in one write")
        if path in masked:
            raise invalid(f"field {t.field_path} cannot be both in the update mask and "
                          "transformed in one write")
        seen.add(path)


def _apply_transform(fields: Any, t: Any, at: int, database: str) -> Any:
    path = parse_field_path(t.field_path)
    current = get_field(fields, path)
    k = t.WhichOneof("transform_type")
    result = Value()
    if k == "set_to_server_value":
        if t.set_to_server_value != 1:  # REQUEST_TIME
            raise invalid("unsupported server value")
        to_timestamp(at, result.timestamp_value)
        set_field(fields, path, result)
        return result
    if k in ("increment", "maximum", "minimum"):
        operand = getattr(t, k)
        if not is_number(operand):
            raise invalid(f"{k} transform needs a numeric operand")
        if current is None or not is_number(current):
            new = operand
        elif k == "increment":
            new = _increment(current, operand)
        else:
            new = _extreme(current, operand, k == "maximum")
        set_field(fields, path, new)
        return new
    if k in ("append_missing_elements", "remove_all_from_array"):
        arg = getattr(t, k)
        for v in arg.values:
            validate_value(v, 2, database)
        existing = list(current.array_value.values) if current is not None and kind(
            current) == "array_value" else []
        if k == "append_missing_elements":
            out = existing
            for v in arg.values:
                if not any(transform_equal(v, e) for e in out):
                    out.append(v)
        else:
            out = [e for e in existing if not any(transform_equal(e, v) for v in arg.values)]
        new = Value()
        new.array_value.SetInParent()
        new.array_value.values.extend(out)
        set_field(fields, path, new)
        result.null_value = 0
        return result
    raise invalid("field transform has no operation")


def _increment(current: Any, operand: Any) -> Any:
    out = Value()
    if kind(current) == "integer_value" and kind(operand) == "integer_value":
        out.integer_value = max(INT64_MIN, min(INT64_MAX, current.integer_value
                                               + operand.integer_value))
    else:
        out.double_value = float(number(current)) + float(number(operand))
    return out


def _extreme(current: Any, operand: Any, maximum: bool) -> Any:
    if is_nan(current):
        return current
    if is_nan(operand):
        return operand
    a, b = number(current), number(operand)
    if a == b:
        return current  # equivalent operands (3 and 3.0, 0 and -0.0) keep the stored value
    pick_operand = b > a if maximum else b < a
    return operand if pick_operand else current

