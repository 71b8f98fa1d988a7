"""Replaying one queued write exactly once, and the conflict policy.

Every replay is a read followed by a *conditional* write that also stores the write's id in
the entry's marker field (:data:`~firebase_sync.offline.ops.MARKER_FIELD`):

1. read the entry with its version (Firestore ``update_time``; RTDB ETag);
2. if its marker already holds this write's id, the write was applied before (the worker died
   after the server committed it but before the queue forgot it): done, nothing is sent;
3. otherwise compute the new value from the value just read, and write it together with the
   marker *on condition that the version is still the one read* (Firestore: ``update_time``
   precondition, or ``exists=False`` for a new document; RTDB: ``if-match`` ETag);
4. if the condition failed, someone wrote in between (possibly a request of the dead worker
   that was still in flight): go back to 1.

The value and its marker change in one atomic server write, and that write happens only if
nothing changed since the check, so no write is ever applied twice; increments included.
Queued writes of a source are replayed one at a time in queue order, so a later write of
ours can never hide an earlier one's marker. A delete leaves no marker: replaying it on a
missing entry does nothing, which is the same outcome.

``before_write`` is told each value about to be written, and the replay reports the value the
write left on the server (:class:`Replayed`): the offline listener uses both to recognise the
server's echo of the write, whichever of the echo and the acknowledgement comes first (see
:mod:`firebase_sync.offline.listener`).

Each request of a replay runs under the repository's ``deadlines.replay``; failures come out
typed by the adapter's wire translator, so the flusher can tell a transient failure (kept,
retried) from a definitive refusal (the write fails) and from a bug (raised).

Conflicts: a write remembers the value its writer saw (``base``). If the server holds another
value when the write is replayed, the policy decides: last writer wins (apply anyway), fail
(keep the write as failed and raise :class:`WriteConflict`), or a callback that returns the
value to store or a :class:`Resolution`.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeAlias, TypeVar

from ..errors import Aborted, AlreadyExists, FailedPrecondition, NotFound
from ..models import Document
from .cache import PendingWrite
from .errors import WriteConflict
from .ops import MARKER_FIELD, UNKNOWN, WriteOp, apply_fields, apply_op, decode_entry

if TYPE_CHECKING:
    from ..adapters.firestore import FirestoreRepository
    from ..adapters.realtime import RealtimeRepository

__all__ = [
    "Conflict",
    "ConflictPolicy",
    "FirestoreTarget",
    "Outcome",
    "RealtimeTarget",
    "Replayed",
    "Resolution",
    "Seen",
    "Target",
    "replay",
]

T = TypeVar("T", bound=Document)
_MAX_RACES = 20


class Outcome(StrEnum):
    """What a replay did."""

    APPLIED = "applied"
    ALREADY_APPLIED = "already_applied"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class Replayed:
    """What a replay did, and the value the entry holds on the server after it.

    ``value`` is a model, ``None`` (no entry) or :data:`~firebase_sync.offline.ops.UNKNOWN`
    (it cannot be typed, or the write was dropped and the server value is not ours).
    """

    outcome: Outcome
    value: Any


class ConflictPolicy(StrEnum):
    """What to do when the server value changed since a queued write was made."""

    LAST_WRITER_WINS = "last_writer_wins"
    FAIL = "fail"


class Resolution(StrEnum):
    """A conflict callback's answer when it returns no value to store."""

    APPLY = "apply"
    KEEP_SERVER = "keep_server"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Conflict(Generic[T]):
    """A queued write about to be replayed over a value its writer did not see.

    ``expected`` is what the writer saw, ``server`` what the server holds, ``local`` the
    value the write would store (``None``: deleted).
    """

    write_id: str
    key: str
    op: WriteOp
    expected: T | None
    server: T | None
    local: T | None


ConflictCallback: TypeAlias = Callable[
    [Conflict[Any]], "Document | Resolution | Awaitable[Document | Resolution]"
]
ConflictHandler: TypeAlias = "ConflictPolicy | ConflictCallback"


@dataclass(frozen=True, slots=True)
class Seen:
    """An entry as read before a conditional write: raw data, marker, typed value, version."""

    raw: dict[str, Any] | None
    marker: Any
    value: Any
    version: Any


class Target(Protocol):
    """One database's side of a replay."""

    async def read(self, key: str) -> Seen: ...

    async def write(self, write_id: str, op: WriteOp, new: Any, seen: Seen, *, whole: bool) -> bool:
        """Write ``new`` with the marker if the entry is still at ``seen.version``; False if
        it is not."""
        ...


async def replay(
    write: PendingWrite,
    target: Target,
    model: type[T],
    conflict: ConflictHandler,
    *,
    path: str | None = None,
    before_write: Callable[[Any], None] | None = None,
) -> Replayed:
    """Apply ``write`` exactly once (see the module docstring); raises typed errors."""
    op = WriteOp(write.op, write.key, write.data)  # type: ignore[arg-type]
    for _ in range(_MAX_RACES):
        seen = await target.read(write.key)
        if seen.marker == write.write_id:
            # Applied before: what was just read holds it (and maybe later writes).
            return Replayed(Outcome.ALREADY_APPLIED, seen.value)
        if op.kind == "delete" and seen.raw is None:
            return Replayed(Outcome.APPLIED, None)
        current = seen.value
        new = apply_op(model, current, op, path=path)
        whole = False
        if write.base is not None:
            expected = _base_value(model, write, path)
            if expected != current:
                decided = await _decide(conflict, write, op, expected, current, new, path)
                if decided is Resolution.KEEP_SERVER:
                    return Replayed(Outcome.DROPPED, UNKNOWN)
                if isinstance(decided, Document):
                    new, whole = decided.model_copy(update={"id": write.key}), True
        if before_write is not None:
            before_write(new)
        if await target.write(write.write_id, op, new, seen, whole=whole):
            return Replayed(Outcome.APPLIED, new)
    raise Aborted(f"the entry kept changing during {_MAX_RACES} replays", path=path)


def _base_value(model: type[T], write: PendingWrite, path: str | None) -> T | None:
    value = write.base.get("value") if isinstance(write.base, dict) else None
    return None if value is None else decode_entry(model, write.key, value, path=path)


async def _decide(
    conflict: ConflictHandler,
    write: PendingWrite,
    op: WriteOp,
    expected: Any,
    server: Any,
    local: Any,
    path: str | None,
) -> Document | Resolution:
    if conflict is ConflictPolicy.LAST_WRITER_WINS:
        return Resolution.APPLY
    decided: Document | Resolution = Resolution.FAIL
    if not isinstance(conflict, ConflictPolicy):
        local_value = None if local is UNKNOWN else local
        result = conflict(Conflict(write.write_id, write.key, op, expected, server, local_value))
        decided = await result if inspect.isawaitable(result) else result
    if decided is Resolution.FAIL:
        raise WriteConflict(
            f"the server value changed since write {write.write_id} was queued",
            path=path,
            write_id=write.write_id,
            expected=expected,
            found=server,
        )
    return decided


class FirestoreTarget(Generic[T]):
    """Replays into a Firestore collection: ``update_time`` / ``exists`` preconditions."""

    def __init__(self, repo: FirestoreRepository[T], *, timeout: float | None = None) -> None:
        self.repo = repo
        self.timeout = repo.deadlines.replay if timeout is None else timeout

    async def _once(self, fn: Callable[[], Awaitable[Any]], path: str) -> Any:
        from ..adapters._firestore_errors import translate
        from ..retry import attempt_once

        return await attempt_once(fn, path=path, timeout=self.timeout, translate=translate)

    async def read(self, key: str) -> Seen:
        ref = self.repo.ref(key)
        snapshot = await self._once(lambda: ref.get(retry=None, timeout=self.timeout), ref.path)
        if not snapshot.exists:
            return Seen(None, None, None, None)
        raw = snapshot.to_dict() or {}
        return Seen(raw, raw.get(MARKER_FIELD), self.repo.decode(snapshot), snapshot.update_time)

    async def write(self, write_id: str, op: WriteOp, new: Any, seen: Seen, *, whole: bool) -> bool:
        from google.cloud.firestore_v1 import DELETE_FIELD
        from google.cloud.firestore_v1.field_path import FieldPath

        repo, client = self.repo, self.repo.client
        ref = repo.ref(op.key)
        batch = client.batch()
        if new is UNKNOWN:
            raise NotFound("a queued update met no document", path=ref.path)
        if seen.raw is None:
            if new is None:
                return True
            batch.create(ref, {**repo.encode(new), MARKER_FIELD: write_id})
        else:
            option = client.write_option(last_update_time=seen.version)
            if new is None:
                batch.delete(ref, option=option)
            else:
                encoded = repo.encode(new)
                if op.kind == "update" and not whole:
                    fields = op.top_fields()
                else:
                    fields = [*encoded, *(f for f in seen.raw if f not in encoded)]
                updates = {
                    FieldPath(f).to_api_repr(): encoded.get(f, DELETE_FIELD)
                    for f in fields
                    if f != MARKER_FIELD
                }
                updates[MARKER_FIELD] = write_id
                batch.update(ref, updates, option=option)
        try:
            await self._once(lambda: batch.commit(retry=None, timeout=self.timeout), ref.path)
        except (FailedPrecondition, AlreadyExists, NotFound):
            return False  # someone wrote since the read: read again
        return True


class RealtimeTarget(Generic[T]):
    """Replays into RTDB children: ``if-match`` ETag conditions on the child."""

    def __init__(self, repo: RealtimeRepository[T], *, timeout: float | None = None) -> None:
        self.repo = repo
        self.timeout = repo.endpoint.deadlines.replay if timeout is None else timeout

    async def read(self, key: str) -> Seen:
        from ..adapters.realtime import _etag

        path = self.repo.child_path(key)
        response = await self.repo.endpoint.request(
            "GET", path, headers={"X-Firebase-ETag": "true"}, timeout=self.timeout
        )
        raw = response.json()
        etag = _etag(response.headers)
        if raw is None:
            return Seen(None, None, None, etag)
        if not isinstance(raw, dict):
            raw = {"value": raw}
        return Seen(raw, raw.get(MARKER_FIELD), self.repo.decode(key, raw), etag)

    async def write(self, write_id: str, op: WriteOp, new: Any, seen: Seen, *, whole: bool) -> bool:
        path = self.repo.child_path(op.key)
        body: dict[str, Any] | None
        if new is None:
            body = None
        elif new is UNKNOWN:
            body = apply_fields(copy.deepcopy(seen.raw or {}), op.data)
        elif op.kind == "update" and not whole and seen.raw is not None:
            body = copy.deepcopy(seen.raw)
            encoded = self.repo.encode(new)
            for field in op.top_fields():
                if encoded.get(field) is None:
                    body.pop(field, None)
                else:
                    body[field] = encoded[field]
        else:
            body = dict(self.repo.encode(new))
        if body is not None:
            body[MARKER_FIELD] = write_id
        response = await self.repo.endpoint.request(
            "PUT",
            path,
            body=body,
            headers={"if-match": seen.version},
            ok=(412,),
            timeout=self.timeout,
        )
        return response.status != 412
