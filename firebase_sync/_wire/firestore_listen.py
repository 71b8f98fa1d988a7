"""The Firestore Listen protocol as a pure state machine: ``feed(response) -> [snapshot]``.

The server streams target changes and document changes; only a global ``NO_CHANGE`` (no
target ids, a read time, every target CURRENT) marks a consistent state. Until then changes
are held as pending; at that point they are diffed against the last consistent view and
returned as one :class:`ListenSnapshot`. A document counts as modified only if its
``update_time`` changed, so a full re-send after ``RESET`` or a reconnect yields only the real
differences.

Call :meth:`ListenMachine.begin_stream` before each (re)opened stream: it drops pending
changes of the dead stream (the server re-sends everything after the resume token) and
returns the resume token to send.

A machine can also start from a state saved earlier (a local cache):
:meth:`~ListenMachine.resume_from` takes the saved resume token and the names of the documents
that state held. The first stream then sends that token, so a server that still has the
history sends only what changed since (deletions included); one that does not sends ``RESET``
and the whole result, and the documents it leaves out come out as removed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from google.cloud.firestore_v1.types import document as document_types
from google.cloud.firestore_v1.types import firestore as firestore_types
from google.rpc import code_pb2

from ..change import ChangeKind
from ..errors import ProtocolError, service_error
from .firestore_values import timestamp_to_datetime

__all__ = [
    "DEFAULT_TARGET_ID",
    "DocumentDelta",
    "ListenMachine",
    "ListenResponsePb",
    "ListenSnapshot",
    "listen_request",
    "raw",
]

#: The target id the official client uses; any id works as long as both sides agree.
DEFAULT_TARGET_ID = 0x5079

_TargetChangePb: Any = firestore_types.TargetChange.pb()
_DocumentPb: Any = document_types.Document.pb()
_ListenRequestPb: Any = firestore_types.ListenRequest.pb()
ListenResponsePb: Any = firestore_types.ListenResponse.pb()
_NO_CHANGE = _TargetChangePb.NO_CHANGE
_ADD = _TargetChangePb.ADD
_REMOVE = _TargetChangePb.REMOVE
_CURRENT = _TargetChangePb.CURRENT
_RESET = _TargetChangePb.RESET
_DOCUMENT_MESSAGES = frozenset({"document_change", "document_delete", "document_remove"})


def listen_request(
    database: str,
    parent: str,
    structured_query: Any,
    *,
    target_id: int = DEFAULT_TARGET_ID,
    resume_token: bytes | None = None,
) -> Any:
    """The ``ListenRequest`` adding one query target (resuming after ``resume_token``)."""
    request = _ListenRequestPb(database=database)
    target = request.add_target
    target.target_id = target_id
    target.query.parent = parent
    target.query.structured_query.CopyFrom(raw(structured_query))
    if resume_token:
        target.resume_token = resume_token
    return request


def raw(message: Any) -> Any:
    """The raw protobuf inside a proto-plus message (or the message itself)."""
    pb = getattr(type(message), "pb", None)
    return pb(message) if callable(pb) and not hasattr(message, "DESCRIPTOR") else message


@dataclass(frozen=True, slots=True)
class DocumentDelta:
    """One document's net change between two consistent states (raw ``Document`` protos)."""

    kind: ChangeKind
    name: str
    document: Any | None
    previous: Any | None


@dataclass(frozen=True, slots=True)
class ListenSnapshot:
    """A consistent state: what changed since the previous one, and where we are."""

    read_time: dt.datetime
    resume_token: bytes
    changes: tuple[DocumentDelta, ...]
    #: number of documents in the view after this snapshot
    size: int
    #: first consistent state of this stream (initial sync, or caught up after reconnect)
    synced: bool
    #: this stream continues an earlier state (a reconnect, or a state saved by a past run)
    resumed: bool


@dataclass(frozen=True, slots=True)
class _Entry:
    document: Any
    targets: frozenset[int]


class ListenMachine:
    """Tracks targets and documents of one Listen stream (and its reconnects)."""

    def __init__(self, target_ids: Iterable[int] = (DEFAULT_TARGET_ID,)) -> None:
        self.target_ids = frozenset(target_ids)
        if not self.target_ids:
            raise ValueError("at least one target id is needed")
        self.resume_token: bytes | None = None
        self.read_time: dt.datetime | None = None
        #: set when an existence filter disagreed: reopen the stream without a resume token
        self.restart_required = False
        self.streams = 0
        self._committed: dict[str, _Entry] = {}
        self._pending: dict[str, _Entry | None] = {}
        self._current: set[int] = set()
        self._synced = False
        self._last_token: bytes | None = None
        self._from_saved = False
        #: document messages fed (changes, deletes, removes), over every stream
        self.documents_received = 0

    @property
    def documents(self) -> Mapping[str, Any]:
        """The last consistent view: document name -> ``Document`` proto."""
        return {name: entry.document for name, entry in self._committed.items()}

    def resume_from(
        self, resume_token: bytes, read_time: dt.datetime | None, names: Iterable[str]
    ) -> None:
        """Start from a saved consistent state: the documents ``names`` (in every target) as
        of ``resume_token``. Call before the first :meth:`begin_stream`.

        Only the names are known, not the saved update times: a document the server sends
        again counts as modified (the caller compares values). Raises ``ValueError`` once a
        stream has begun or when ``resume_token`` is empty.
        """
        if self.streams:
            raise ValueError("resume_from() must come before the first stream")
        if not resume_token:
            raise ValueError("an empty resume token resumes nothing")
        self._committed = {name: _Entry(_DocumentPb(name=name), self.target_ids) for name in names}
        self.resume_token = resume_token
        self.read_time = read_time
        self._from_saved = True

    def begin_stream(self) -> bytes | None:
        """Prepare for a new stream; return the resume token to send (``None``: from scratch)."""
        self.streams += 1
        self._pending.clear()
        self._current.clear()
        self._synced = False
        if self.restart_required:
            self.resume_token = None
            self.restart_required = False
        if self.resume_token is None:
            # No token: the server sends the whole result again, so anything it leaves out
            # must come out as removed at the next consistent state.
            self._reset(self.target_ids)
        self._last_token = self.resume_token
        return self.resume_token

    def feed(self, message: Any) -> list[ListenSnapshot]:
        """Apply one ``ListenResponse``; return the snapshot it completes, if any.

        Raises a :class:`~firebase_sync.errors.ServiceError` when the server removes a target
        with a cause, :class:`~firebase_sync.errors.ProtocolError` on messages the protocol
        does not allow.
        """
        message = raw(message)
        kind = message.WhichOneof("response_type")
        if kind == "target_change":
            return self._on_target_change(message.target_change)
        if kind in _DOCUMENT_MESSAGES:
            self.documents_received += 1
        if kind == "document_change":
            change = message.document_change
            self._on_document(change.document, change.target_ids, change.removed_target_ids)
        elif kind == "document_delete":
            self._remove(message.document_delete.document, self.target_ids)
        elif kind == "document_remove":
            remove = message.document_remove
            self._remove(remove.document, remove.removed_target_ids or self.target_ids)
        elif kind == "filter":
            self._on_filter(message.filter.target_id, message.filter.count)
        return []

    # -- target changes -------------------------------------------------------------------

    def _on_target_change(self, change: Any) -> list[ListenSnapshot]:
        targets = self._targets_of(change.target_ids)
        if change.resume_token:
            self._last_token = bytes(change.resume_token)
        kind = change.target_change_type
        if kind == _NO_CHANGE:
            if not change.target_ids and change.HasField("read_time"):
                return self._consistent(timestamp_to_datetime(change.read_time))
        elif kind == _ADD:
            return []
        elif kind == _CURRENT:
            self._current |= targets
        elif kind == _RESET:
            self._reset(targets)
        elif kind == _REMOVE:
            if change.HasField("cause") and change.cause.code != code_pb2.OK:
                name = code_pb2.Code.Name(change.cause.code)
                raise service_error(name, change.cause.message or "listen target removed")
            raise ProtocolError(f"server removed listen targets {sorted(targets)}")
        return []

    def _targets_of(self, ids: Iterable[int]) -> frozenset[int]:
        ids = frozenset(ids)
        if not ids:
            return self.target_ids
        unknown = ids - self.target_ids
        if unknown:
            raise ProtocolError(f"unknown listen target ids {sorted(unknown)}")
        return ids

    def _reset(self, targets: frozenset[int]) -> None:
        self._current -= targets
        for name in self._names():
            entry = self._lookup(name)
            if entry is not None and entry.targets & targets:
                self._put(name, entry.document, entry.targets - targets)

    def _consistent(self, read_time: dt.datetime) -> list[ListenSnapshot]:
        if self._current != self.target_ids:
            return []  # a heartbeat while some target is still catching up
        changes = []
        for name, new in self._pending.items():
            old = self._committed.get(name)
            if new is None:
                if old is not None:
                    del self._committed[name]
                    changes.append(DocumentDelta(ChangeKind.REMOVED, name, None, old.document))
                continue
            self._committed[name] = new
            if old is None:
                changes.append(DocumentDelta(ChangeKind.ADDED, name, new.document, None))
            elif _changed(old.document, new.document):
                changes.append(DocumentDelta(ChangeKind.MODIFIED, name, new.document, old.document))
        self._pending.clear()
        self.read_time = read_time
        if self._last_token:
            self.resume_token = self._last_token
        first = not self._synced
        self._synced = True
        if not changes and not first:
            return []
        return [
            ListenSnapshot(
                read_time=read_time,
                resume_token=self.resume_token or b"",
                changes=tuple(changes),
                size=len(self._committed),
                synced=first,
                resumed=self.streams > 1 or self._from_saved,
            )
        ]

    # -- documents --------------------------------------------------------------------------

    def _on_document(self, document: Any, added: Iterable[int], removed: Iterable[int]) -> None:
        added_ids = frozenset(added) & self.target_ids
        removed_ids = frozenset(removed)
        entry = self._lookup(document.name)
        targets = (entry.targets if entry else frozenset()) | added_ids
        self._put(document.name, document, targets - removed_ids)

    def _remove(self, name: str, targets: Iterable[int]) -> None:
        entry = self._lookup(name)
        if entry is not None:
            self._put(name, entry.document, entry.targets - frozenset(targets))

    def _on_filter(self, target_id: int, count: int) -> None:
        present = 0
        for name in self._names():
            entry = self._lookup(name)
            if entry is not None and target_id in entry.targets:
                present += 1
        if present != count:
            self.restart_required = True

    def _names(self) -> list[str]:
        """Every known name, in a stable order (committed first, then pending)."""
        return list(dict.fromkeys([*self._committed, *self._pending]))

    def _lookup(self, name: str) -> _Entry | None:
        if name in self._pending:
            return self._pending[name]
        return self._committed.get(name)

    def _put(self, name: str, document: Any, targets: frozenset[int]) -> None:
        self._pending[name] = _Entry(document, targets) if targets else None


def _changed(old: Any, new: Any) -> bool:
    if old.HasField("update_time") and new.HasField("update_time"):
        return bool(old.update_time != new.update_time)
    return bool(old != new)
