"""The ``Write`` streaming RPC on the raw wire (the web SDK's own use is in test_fs_node_web).

Each test drives one stream: requests go in through a queue, answers come back in order, and
the stream's end (OK or an error status) is part of what is checked.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from fs_helpers import Snapshots
from google.cloud import firestore
from google.cloud.firestore_v1.types import common
from google.cloud.firestore_v1.types import firestore as fs
from google.cloud.firestore_v1.types import write as w

from emulator.firestore.wire import delimited
from firebase_sync.testing import session_project

DB = f"projects/{session_project()}/databases/(default)"  # the plugin's, per xdist worker
ROOT = DB + "/documents"
WriteRequest = fs.WriteRequest.pb()
WriteResponse = fs.WriteResponse.pb()
Write = w.Write.pb()


class RawWrite:
    """One Write stream: ``send`` a request and get its answer, or the status that ended it."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._requests: queue.Queue[bytes | None] = queue.Queue()
        call = channel.stream_stream(
            "/google.firestore.v1.Firestore/Write",
            request_serializer=None,
            response_deserializer=None,
        )
        self._call = call(iter(self._requests.get, None), timeout=10)

    def send(self, request: Any) -> Any:
        """The answer to ``request`` (a message or raw bytes), or the ending grpc.StatusCode."""
        raw = request if isinstance(request, bytes) else request.SerializeToString()
        self._requests.put(raw)
        try:
            return WriteResponse.FromString(next(self._call))
        except StopIteration:
            return self._call.code()
        except grpc.RpcError as exc:
            return exc.code()

    def close(self) -> None:
        self._requests.put(None)
        self._call.cancel()


@pytest.fixture
def stream(firestore_emulator: Any, firestore_client: firestore.Client) -> Iterator[RawWrite]:
    channel = grpc.insecure_channel(firestore_emulator.host)
    raw = RawWrite(channel)
    try:
        yield raw
    finally:
        raw.close()
        channel.close()


def _set(path: str, **fields: int) -> Any:
    out = Write()
    out.update.name = f"{ROOT}/{path}"
    for k, v in fields.items():
        out.update.fields[k].integer_value = v
    return out


def _handshake(stream: RawWrite) -> bytes:
    first = stream.send(WriteRequest(database=DB))
    assert first.stream_id and first.stream_token
    assert not first.write_results and not first.HasField("commit_time")
    return bytes(first.stream_token)


def test_batches_commit_atomically_and_reach_listeners(
    stream: RawWrite, firestore_client: firestore.Client
) -> None:
    watch = Snapshots()
    unsubscribe = firestore_client.collection("ws").on_snapshot(watch)
    try:
        watch.wait_for(1)
        token = _handshake(stream)
        bump = _set("ws/a", n=1)
        bump.update_transforms.add(field_path="n", increment={"integer_value": 2})
        answer = stream.send(WriteRequest(stream_token=token, writes=[bump, _set("ws/b", n=5)]))
        assert answer.stream_token and answer.stream_token != token
        assert len(answer.write_results) == 2
        assert answer.write_results[0].transform_results[0].integer_value == 3
        assert answer.write_results[0].update_time == answer.commit_time
        a = firestore_client.document("ws/a").get()
        assert a.to_dict() == {"n": 3}
        assert a.update_time.timestamp_pb() == answer.commit_time
        docs = watch.wait_for(2)[-1][0]
        assert sorted(d.id for d in docs) == ["a", "b"]  # one snapshot: one atomic batch

        # The same stream goes on: a stale token is only an acknowledgement, not an error.
        again = stream.send(WriteRequest(stream_token=token, writes=[_set("ws/c", n=1)]))
        assert len(again.write_results) == 1 and again.commit_time.ToMicroseconds() > (
            answer.commit_time.ToMicroseconds()
        )
    finally:
        unsubscribe.unsubscribe()  # type: ignore[no-untyped-call]


def test_a_refused_batch_ends_the_stream_and_applies_nothing(
    stream: RawWrite, firestore_client: firestore.Client
) -> None:
    token = _handshake(stream)
    must_exist = _set("ws/none", n=1)
    must_exist.current_document.exists = True
    ended = stream.send(WriteRequest(stream_token=token, writes=[_set("ws/x", n=1), must_exist]))
    assert ended == grpc.StatusCode.NOT_FOUND
    assert not firestore_client.document("ws/x").get().exists


def test_an_empty_request_is_answered_then_the_stream_ends(stream: RawWrite) -> None:
    token = _handshake(stream)
    last = stream.send(WriteRequest(stream_token=token))
    assert last.stream_token and not last.write_results
    assert (
        stream.send(WriteRequest(stream_token=last.stream_token, writes=[_set("ws/late", n=1)]))
        == grpc.StatusCode.OK
    )


@pytest.mark.parametrize(
    "first",
    [
        WriteRequest(),  # no database
        WriteRequest(database=DB, writes=[_set("ws/a", n=1)]),  # writes in the handshake
        WriteRequest(database=DB, stream_id="7"),  # resuming
        WriteRequest(database="projects/p"),  # not a database name
        b"\xff\xff\xff\xff\x0f garbage",
    ],
    ids=["no-database", "writes", "stream-id", "bad-database", "garbage"],
)
def test_a_bad_handshake_is_invalid_argument(stream: RawWrite, first: Any) -> None:
    assert stream.send(first) == grpc.StatusCode.INVALID_ARGUMENT


def test_resuming_mid_stream_is_refused(stream: RawWrite) -> None:
    token = _handshake(stream)
    assert stream.send(WriteRequest(stream_id="0", stream_token=token)) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )


def test_writes_outside_the_database_are_refused(stream: RawWrite) -> None:
    token = _handshake(stream)
    other = Write()
    other.update.name = "projects/other/databases/(default)/documents/ws/a"
    assert stream.send(WriteRequest(stream_token=token, writes=[other])) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )


def _verify(path: str, **precondition: Any) -> bytes:
    """A ``Write`` with ``verify`` (field 5, absent from the Python client's classes)."""
    body = delimited(5, f"{ROOT}/{path}".encode())
    if precondition:
        body += delimited(4, common.Precondition.pb()(**precondition).SerializeToString())
    return delimited(3, body)  # WriteRequest.writes


def test_verify_checks_its_precondition_and_writes_nothing(
    stream: RawWrite, firestore_client: firestore.Client
) -> None:
    firestore_client.document("ws/v").set({"n": 1})
    stored = firestore_client.document("ws/v").get().update_time
    token = _handshake(stream)
    head = WriteRequest(stream_token=token).SerializeToString()
    ok = stream.send(head + _verify("ws/v", exists=True))
    assert (
        ok.write_results[0].update_time.ToMicroseconds() == stored.timestamp_pb().ToMicroseconds()
    )
    assert firestore_client.document("ws/v").get().update_time == stored
    assert stream.send(head + _verify("ws/gone", exists=True)) == grpc.StatusCode.NOT_FOUND


def test_verify_needs_a_precondition(stream: RawWrite) -> None:
    token = _handshake(stream)
    head = WriteRequest(stream_token=token).SerializeToString()
    assert stream.send(head + _verify("ws/v")) == grpc.StatusCode.INVALID_ARGUMENT


def test_garbage_mid_stream_is_invalid_argument(stream: RawWrite) -> None:
    _handshake(stream)
    assert stream.send(b"\xff\xff\xff\xff\x0f garbage") == grpc.StatusCode.INVALID_ARGUMENT
