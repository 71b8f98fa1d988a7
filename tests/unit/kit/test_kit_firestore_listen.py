"""The Listen state machine, fed hand-built ListenResponse messages."""

from __future__ import annotations

import datetime as dt

import pytest
from google.cloud.firestore_v1.types import document as document_types
from google.cloud.firestore_v1.types import firestore, write
from google.protobuf import timestamp_pb2
from google.rpc import status_pb2

from firebase_sync import ChangeKind, errors
from firebase_sync._wire.firestore_listen import DEFAULT_TARGET_ID as T
from firebase_sync._wire.firestore_listen import ListenMachine

ROOT = "projects/demo/databases/(default)/documents"
Kind = firestore.TargetChange.TargetChangeType


def ts(seconds: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=seconds)


def doc(key: str, version: int, price: int = 1) -> document_types.Document:
    return document_types.Document(
        name=f"{ROOT}/products/{key}",
        fields={"price": document_types.Value(integer_value=price)},
        create_time=ts(1),
        update_time=ts(version),
    )


def target(
    kind: Kind,
    ids: list[int] | None = None,
    token: bytes = b"",
    read: int | None = None,
    cause: status_pb2.Status | None = None,
) -> firestore.ListenResponse:
    change = firestore.TargetChange(
        target_change_type=kind, target_ids=[T] if ids is None else ids, resume_token=token
    )
    if read is not None:
        change.read_time = ts(read)
    if cause is not None:
        change.cause = cause
    return firestore.ListenResponse(target_change=change)


def global_no_change(read: int, token: bytes = b"") -> firestore.ListenResponse:
    return target(Kind.NO_CHANGE, ids=[], token=token, read=read)


def changed(
    d: document_types.Document, ids: list[int] | None = None, removed: list[int] | None = None
) -> firestore.ListenResponse:
    return firestore.ListenResponse(
        document_change=write.DocumentChange(
            document=d, target_ids=[T] if ids is None else ids, removed_target_ids=removed or []
        )
    )


def deleted(key: str) -> firestore.ListenResponse:
    return firestore.ListenResponse(
        document_delete=write.DocumentDelete(
            document=f"{ROOT}/products/{key}", removed_target_ids=[T]
        )
    )


def removed(key: str) -> firestore.ListenResponse:
    return firestore.ListenResponse(
        document_remove=write.DocumentRemove(
            document=f"{ROOT}/products/{key}", removed_target_ids=[T]
        )
    )


def feed_all(machine: ListenMachine, *messages: firestore.ListenResponse):  # type: ignore[no-untyped-def]
    out = []
    for message in messages:
        out.extend(machine.feed(message))
    return out


def kinds(snapshot) -> list[tuple[ChangeKind, str]]:  # type: ignore[no-untyped-def]
    return [(c.kind, c.name.rsplit("/", 1)[-1]) for c in snapshot.changes]


def initial(machine: ListenMachine, *docs: document_types.Document, read: int = 10):  # type: ignore[no-untyped-def]
    assert machine.begin_stream() is None
    return feed_all(
        machine,
        target(Kind.ADD),
        *[changed(d) for d in docs],
        target(Kind.CURRENT, token=b"tok1", read=read),
        global_no_change(read, token=b"tok1"),
    )


def test_initial_snapshot_is_delivered_only_at_global_no_change() -> None:
    machine = ListenMachine()
    machine.begin_stream()
    assert feed_all(machine, target(Kind.ADD), changed(doc("a", 2)), changed(doc("b", 2))) == []
    assert feed_all(machine, target(Kind.CURRENT, token=b"tok1", read=10)) == []
    [snapshot] = machine.feed(global_no_change(10, token=b"tok1"))
    assert kinds(snapshot) == [(ChangeKind.ADDED, "a"), (ChangeKind.ADDED, "b")]
    assert snapshot.synced and not snapshot.resumed and snapshot.size == 2
    assert snapshot.read_time == dt.datetime(1970, 1, 1, 0, 0, 10, tzinfo=dt.UTC)
    assert machine.resume_token == b"tok1"
    assert set(machine.documents) == {f"{ROOT}/products/a", f"{ROOT}/products/b"}


def test_empty_initial_result_still_yields_a_synced_snapshot() -> None:
    [snapshot] = initial(ListenMachine())
    assert snapshot.changes == () and snapshot.synced and snapshot.size == 0


def test_global_no_change_before_current_is_a_heartbeat() -> None:
    machine = ListenMachine()
    machine.begin_stream()
    assert feed_all(machine, target(Kind.ADD), changed(doc("a", 2)), global_no_change(5)) == []


def test_target_specific_or_timeless_no_change_is_ignored() -> None:
    machine = ListenMachine()
    initial(machine)
    machine.feed(changed(doc("a", 2)))
    assert machine.feed(target(Kind.NO_CHANGE, read=11)) == []
    assert machine.feed(target(Kind.NO_CHANGE, ids=[])) == []


def test_later_changes_modify_remove_and_delete() -> None:
    machine = ListenMachine()
    initial(machine, doc("a", 2), doc("b", 2), doc("c", 2))
    [snapshot] = feed_all(
        machine,
        changed(doc("a", 3, price=9)),
        changed(doc("d", 3)),
        removed("b"),
        deleted("c"),
        global_no_change(12, token=b"tok2"),
    )
    assert kinds(snapshot) == [
        (ChangeKind.MODIFIED, "a"),
        (ChangeKind.ADDED, "d"),
        (ChangeKind.REMOVED, "b"),
        (ChangeKind.REMOVED, "c"),
    ]
    modified = snapshot.changes[0]
    assert modified.previous.fields["price"].integer_value == 1
    assert modified.document.fields["price"].integer_value == 9
    assert not snapshot.synced
    assert machine.resume_token == b"tok2"


def test_unchanged_update_time_is_not_a_modification() -> None:
    machine = ListenMachine()
    initial(machine, doc("a", 2))
    assert feed_all(machine, changed(doc("a", 2)), global_no_change(12)) == []


def test_add_then_remove_within_one_snapshot_is_nothing() -> None:
    machine = ListenMachine()
    initial(machine)
    assert feed_all(machine, changed(doc("x", 3)), deleted("x"), global_no_change(12)) == []


def test_document_change_with_removed_target_leaves_the_view() -> None:
    machine = ListenMachine()
    initial(machine, doc("a", 2))
    [snapshot] = feed_all(machine, changed(doc("a", 3), ids=[], removed=[T]), global_no_change(12))
    assert kinds(snapshot) == [(ChangeKind.REMOVED, "a")]


def test_reset_then_full_resend_yields_only_the_difference() -> None:
    machine = ListenMachine()
    initial(machine, doc("a", 2), doc("b", 2), doc("c", 2))
    [snapshot] = feed_all(
        machine,
        target(Kind.RESET),
        changed(doc("a", 2)),
        changed(doc("b", 5)),
        target(Kind.CURRENT, token=b"tok3", read=20),
        global_no_change(20, token=b"tok3"),
    )
    assert kinds(snapshot) == [(ChangeKind.MODIFIED, "b"), (ChangeKind.REMOVED, "c")]


def test_reconnect_sends_resume_token_and_drops_unconfirmed_changes() -> None:
    machine = ListenMachine()
    initial(machine, doc("a", 2))
    machine.feed(changed(doc("lost", 3)))  # the stream dies before a consistent state
    assert machine.begin_stream() == b"tok1"
    [snapshot] = feed_all(
        machine,
        target(Kind.ADD),
        changed(doc("b", 4)),
        target(Kind.CURRENT, token=b"tok4", read=30),
        global_no_change(30, token=b"tok4"),
    )
    assert kinds(snapshot) == [(ChangeKind.ADDED, "b")]
    assert snapshot.synced and snapshot.resumed


def test_reconnect_without_changes_still_marks_synced() -> None:
    machine = ListenMachine()
    initial(machine, doc("a", 2))
    machine.begin_stream()
    [snapshot] = feed_all(
        machine, target(Kind.ADD), target(Kind.CURRENT, read=30), global_no_change(30)
    )
    assert snapshot.changes == () and snapshot.synced and snapshot.resumed


def saved(*keys: str) -> ListenMachine:
    """A machine started from a saved state holding ``keys`` as of ``tok-saved``."""
    machine = ListenMachine()
    when = dt.datetime(1970, 1, 1, 0, 0, 10, tzinfo=dt.UTC)
    machine.resume_from(b"tok-saved", when, [f"{ROOT}/products/{key}" for key in keys])
    return machine


def test_resume_from_a_saved_state_yields_only_the_catch_up() -> None:
    machine = saved("a", "b", "c")
    assert machine.resume_token == b"tok-saved"
    assert machine.begin_stream() == b"tok-saved"
    [snapshot] = feed_all(
        machine,
        target(Kind.ADD),
        changed(doc("b", 5, price=7)),
        deleted("c"),
        changed(doc("d", 5)),
        target(Kind.CURRENT, token=b"tok5", read=50),
        global_no_change(50, token=b"tok5"),
    )
    assert kinds(snapshot) == [
        (ChangeKind.MODIFIED, "b"),
        (ChangeKind.REMOVED, "c"),
        (ChangeKind.ADDED, "d"),
    ]
    assert snapshot.synced and snapshot.resumed and snapshot.size == 3
    assert snapshot.changes[0].previous.name == f"{ROOT}/products/b"
    assert set(machine.documents) == {f"{ROOT}/products/{k}" for k in "abd"}
    assert machine.resume_token == b"tok5" and machine.documents_received == 3


def test_resume_from_a_saved_state_without_changes_still_marks_synced() -> None:
    machine = saved("a")
    machine.begin_stream()
    [snapshot] = feed_all(
        machine, target(Kind.ADD), target(Kind.CURRENT, read=50), global_no_change(50)
    )
    assert snapshot.changes == () and snapshot.synced and snapshot.resumed
    assert snapshot.size == 1 and machine.documents_received == 0


def test_resume_from_a_token_the_server_rejects_resets_to_the_full_set() -> None:
    machine = saved("a", "b", "c")
    machine.begin_stream()
    [snapshot] = feed_all(
        machine,
        target(Kind.ADD),
        target(Kind.RESET),
        changed(doc("a", 2)),
        changed(doc("d", 2)),
        target(Kind.CURRENT, token=b"tok6", read=60),
        global_no_change(60, token=b"tok6"),
    )
    # No saved update time: a re-sent document counts as modified (the caller compares
    # values); the saved ones not re-sent are gone.
    assert sorted(kinds(snapshot), key=lambda change: change[1]) == [
        (ChangeKind.MODIFIED, "a"),
        (ChangeKind.REMOVED, "b"),
        (ChangeKind.REMOVED, "c"),
        (ChangeKind.ADDED, "d"),
    ]
    assert set(machine.documents) == {f"{ROOT}/products/a", f"{ROOT}/products/d"}


def test_resume_from_needs_a_token_and_a_machine_that_never_streamed() -> None:
    with pytest.raises(ValueError, match="empty"):
        ListenMachine().resume_from(b"", None, [])
    machine = ListenMachine()
    initial(machine)
    with pytest.raises(ValueError, match="first stream"):
        machine.resume_from(b"tok", None, [])


def test_existence_filter_mismatch_restarts_from_scratch() -> None:
    machine = ListenMachine()
    initial(machine, doc("a", 2), doc("b", 2))
    machine.feed(firestore.ListenResponse(filter=write.ExistenceFilter(target_id=T, count=2)))
    assert not machine.restart_required
    machine.feed(firestore.ListenResponse(filter=write.ExistenceFilter(target_id=T, count=1)))
    assert machine.restart_required
    assert machine.begin_stream() is None  # no resume token: the server re-sends all
    [snapshot] = feed_all(
        machine,
        target(Kind.ADD),
        changed(doc("a", 2)),
        target(Kind.CURRENT, read=40),
        global_no_change(40),
    )
    assert kinds(snapshot) == [(ChangeKind.REMOVED, "b")]


def test_several_targets_need_all_current_and_membership_is_per_target() -> None:
    machine = ListenMachine(target_ids=[1, 2])
    machine.begin_stream()
    out = feed_all(
        machine,
        target(Kind.ADD, ids=[1, 2]),
        changed(doc("a", 2), ids=[1, 2]),
        target(Kind.CURRENT, ids=[1], read=5),
        global_no_change(5),
    )
    assert out == []
    [snapshot] = feed_all(machine, target(Kind.CURRENT, ids=[2], read=6), global_no_change(6))
    assert kinds(snapshot) == [(ChangeKind.ADDED, "a")]
    assert feed_all(machine, removed_from(1, "a"), global_no_change(7)) == []
    [snapshot] = feed_all(machine, removed_from(2, "a"), global_no_change(8))
    assert kinds(snapshot) == [(ChangeKind.REMOVED, "a")]


def removed_from(target_id: int, key: str) -> firestore.ListenResponse:
    return firestore.ListenResponse(
        document_remove=write.DocumentRemove(
            document=f"{ROOT}/products/{key}", removed_target_ids=[target_id]
        )
    )


def test_target_removed_with_cause_raises_the_service_error() -> None:
    machine = ListenMachine()
    machine.begin_stream()
    cause = status_pb2.Status(code=7, message="no access")
    with pytest.raises(errors.PermissionDenied, match="no access"):
        machine.feed(target(Kind.REMOVE, cause=cause))


def test_unknown_target_is_a_protocol_error() -> None:
    machine = ListenMachine()
    machine.begin_stream()
    with pytest.raises(errors.ProtocolError):
        machine.feed(target(Kind.ADD, ids=[99]))


def test_accepts_raw_protobuf_messages() -> None:
    machine = ListenMachine()
    machine.begin_stream()
    raw = firestore.ListenResponse.pb(changed(doc("a", 2)))
    machine.feed(raw)
    machine.feed(target(Kind.CURRENT, read=3))
    [snapshot] = machine.feed(global_no_change(3))
    assert kinds(snapshot) == [(ChangeKind.ADDED, "a")]
