"""The raw wire: malformed requests, unimplemented methods, exact Listen sequences."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.cloud import firestore
from google.cloud.firestore_v1.types import firestore as fs
from google.cloud.firestore_v1.types import query as q

from firebase_sync.testing import session_project

DB = f"projects/{session_project()}/databases/(default)"
ROOT = DB + "/documents"
M = "/google.firestore.v1.Firestore/"
ListenRequest = fs.ListenRequest.pb()
ListenResponse = fs.ListenResponse.pb()


@pytest.fixture
def channel(firestore_emulator: Any, firestore_client: firestore.Client) -> Iterator[Any]:
    ch = grpc.insecure_channel(firestore_emulator.host)
    try:
        yield ch
    finally:
        ch.close()


def test_garbage_is_invalid_argument_and_server_survives(channel: Any,
                                                        firestore_client: firestore.Client
                                                        ) -> None:
    for method in ("Commit", "BeginTransaction", "GetDocument"):
        call = channel.unary_unary(M + method, request_serializer=None,
                                   response_deserializer=None)
        with pytest.raises(grpc.RpcError) as err:
            call(b"\xff\xff\xff\xff\x0f garbage", timeout=5)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    stream = channel.unary_stream(M + "RunQuery", request_serializer=None,
                                  response_deserializer=None)
    with pytest.raises(grpc.RpcError) as err:
        list(stream(b"\x0a\xff", timeout=5))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    firestore_client.collection("c").document("d").set({"still": "serving"})
    assert firestore_client.collection("c").document("d").get().exists


def test_semantically_invalid_requests(channel: Any) -> None:
    commit = channel.unary_unary(M + "Commit", request_serializer=None,
                                 response_deserializer=None)
    bad = fs.CommitRequest.serialize(fs.CommitRequest(database="nonsense"))
    with pytest.raises(grpc.RpcError) as err:
        commit(bad, timeout=5)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    req = fs.CommitRequest(database=DB)
    req.writes.append({"update": {"name": ROOT + "/odd", "fields": {}}})
    with pytest.raises(grpc.RpcError) as err:
        commit(fs.CommitRequest.serialize(req), timeout=5)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_unknown_method_is_unimplemented(channel: Any) -> None:
    call = channel.unary_unary(M + "ExecutePipeline", request_serializer=None,
                               response_deserializer=None)
    with pytest.raises(grpc.RpcError) as err:
        list([call(b"", timeout=5)])
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED


class RawListen:
    """A Listen stream driven by hand."""

    def __init__(self, channel: Any) -> None:
        self.requests: queue.Queue[Any] = queue.Queue()
        call = channel.stream_stream(M + "Listen",
                                     request_serializer=ListenRequest.SerializeToString,
                                     response_deserializer=ListenResponse.FromString)
        self.call = call(iter(self.requests.get, None))
        self.responses: queue.Queue[Any] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        try:
            for msg in self.call:
                self.responses.put(msg)
            self.responses.put("END")  # the server finished the call with OK
        except grpc.RpcError as exc:
            self.responses.put(exc)

    def send(self, **kwargs: Any) -> None:
        self.requests.put(ListenRequest(database=DB, **kwargs))

    def take(self, n: int) -> list[Any]:
        return [self.responses.get(timeout=5) for _ in range(n)]

    def close(self) -> None:
        self.call.cancel()
        self.requests.put(None)


def kinds(msgs: list[Any]) -> list[str]:
    out = []
    for m in msgs:
        which = m.WhichOneof("response_type")
        if which == "target_change":
            tc = m.target_change
            name = fs.TargetChange.TargetChangeType(tc.target_change_type).name
            out.append(f"{name}{list(tc.target_ids)}")
        elif which == "document_change":
            dc = m.document_change
            out.append(f"CHANGE {dc.document.name.rsplit('/', 1)[1]} {list(dc.target_ids)}")
        else:
            part = getattr(m, which)
            out.append(f"{which} {part.document.rsplit('/', 1)[1]} {list(part.removed_target_ids)}")
    return out


def query_target(tid: int, coll: str, token: bytes = b"") -> Any:
    sq = q.StructuredQuery(from_=[q.StructuredQuery.CollectionSelector(collection_id=coll)])
    target = fs.Target.pb()(target_id=tid)
    target.query.parent = ROOT
    target.query.structured_query.CopyFrom(q.StructuredQuery.pb(sq))
    if token:
        target.resume_token = token
    return target


def test_listen_half_close_ends_the_call_with_ok(channel: Any,
                                                 firestore_client: firestore.Client) -> None:
    # The Node client stops a watch by half-closing, then waits for the call to finish.
    listen = RawListen(channel)
    listen.send(add_target=query_target(7, "a"))
    assert kinds(listen.take(3)) == ["ADD[7]", "CURRENT[7]", "NO_CHANGE[]"]
    listen.requests.put(None)
    assert listen.take(1) == ["END"]


def test_listen_sequences_several_targets(channel: Any,
                                          firestore_client: firestore.Client) -> None:
    firestore_client.collection("a").document("1").set({"x": 1})
    listen = RawListen(channel)
    try:
        listen.send(add_target=query_target(7, "a"))
        msgs = listen.take(4)
        assert kinds(msgs) == ["ADD[7]", "CHANGE 1 [7]", "CURRENT[7]", "NO_CHANGE[]"]
        token = msgs[3].target_change.resume_token
        assert msgs[2].target_change.resume_token == token
        docs_target = fs.Target.pb()(target_id=8)
        docs_target.documents.documents.append(ROOT + "/a/1")
        listen.send(add_target=docs_target)
        assert kinds(listen.take(4)) == ["ADD[8]", "CHANGE 1 [8]", "CURRENT[8]", "NO_CHANGE[]"]
        firestore_client.collection("a").document("1").delete()
        got = listen.take(3)
        assert sorted(kinds(got[:2])) == ["document_delete 1 [7]", "document_delete 1 [8]"]
        assert kinds(got[2:]) == ["NO_CHANGE[]"]
        listen.send(remove_target=7)
        assert kinds(listen.take(1)) == ["REMOVE[7]"]
        firestore_client.collection("a").document("2").set({"x": 2})
        firestore_client.collection("a").document("1").set({"x": 3})
        assert kinds(listen.take(2)) == ["CHANGE 1 [8]", "NO_CHANGE[]"]
    finally:
        listen.close()


def test_listen_resume_token_replays_only_changes(channel: Any,
                                                  firestore_client: firestore.Client) -> None:
    coll = firestore_client.collection("r")
    for i in range(3):
        coll.document(f"d{i}").set({"i": i})
    listen = RawListen(channel)
    try:
        listen.send(add_target=query_target(5, "r"))
        token = listen.take(6)[5].target_change.resume_token
    finally:
        listen.close()
    coll.document("d1").update({"i": 10})
    coll.document("d2").delete()
    coll.document("d3").set({"i": 3})
    again = RawListen(channel)
    try:
        again.send(add_target=query_target(5, "r", token))
        got = kinds(again.take(6))
        assert got[0] == "ADD[5]" and got[-2:] == ["CURRENT[5]", "NO_CHANGE[]"]
        assert sorted(got[1:4]) == ["CHANGE d1 [5]", "CHANGE d3 [5]", "document_delete d2 [5]"]
        again.send(add_target=query_target(6, "r", b"stale-token"))
        got = kinds(again.take(7))
        assert got[:2] == ["ADD[6]", "RESET[6]"] and got[-2:] == ["CURRENT[6]", "NO_CHANGE[]"]
        assert sorted(got[2:5]) == ["CHANGE d0 [6]", "CHANGE d1 [6]", "CHANGE d3 [6]"]
    finally:
        again.close()


def test_listen_bad_target_gets_remove_with_cause(channel: Any) -> None:
    listen = RawListen(channel)
    try:
        target = fs.Target.pb()(target_id=3)
        target.query.parent = "projects/other/databases/(default)/documents"
        listen.send(add_target=target)
        (msg,) = listen.take(1)
        assert kinds([msg]) == ["REMOVE[3]"]
        assert msg.target_change.cause.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    finally:
        listen.close()


def test_listen_garbage_ends_stream_invalid_argument(channel: Any) -> None:
    call = channel.stream_stream(M + "Listen", request_serializer=None,
                                 response_deserializer=None)
    with pytest.raises(grpc.RpcError) as err:
        list(call(iter([b"\xff\xff garbage"]), timeout=5))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_avg_of_nothing_is_null_on_the_wire(channel: Any) -> None:
    call = channel.unary_stream(M + "RunAggregationQuery", request_serializer=None,
                                response_deserializer=fs.RunAggregationQueryResponse.pb().FromString)
    req = fs.RunAggregationQueryRequest.pb()(parent=ROOT)
    saq = req.structured_aggregation_query
    saq.structured_query.from_.add().collection_id = "empty"
    saq.aggregations.add().avg.field.field_path = "n"
    saq.aggregations.add().sum.field.field_path = "n"
    (resp,) = list(call(req.SerializeToString(), timeout=5))
    fields = resp.result.aggregate_fields
    assert fields["field_1"].WhichOneof("value_type") == "null_value"
    assert fields["field_2"].WhichOneof("value_type") == "integer_value"
