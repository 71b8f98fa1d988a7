"""Hand-framed responses parse to the same messages the generated classes build."""

from __future__ import annotations

from google.cloud.firestore_v1.types import firestore as fs
from google.protobuf.timestamp_pb2 import Timestamp

from firebase_sync_emulator.firestore import wire
from firebase_sync_emulator.firestore.values import Document

ListenResponse = fs.ListenResponse.pb()
RunQueryResponse = fs.RunQueryResponse.pb()


def sample_document() -> object:
    doc = Document()
    doc.name = "projects/p/databases/(default)/documents/c/" + "x" * 300
    doc.fields["s"].string_value = "é" * 200
    doc.fields["n"].integer_value = -5
    doc.create_time.seconds = 1
    doc.update_time.seconds = 2
    return doc


def test_varint() -> None:
    assert wire.varint(0) == b"\x00"
    assert wire.varint(300) == b"\xac\x02"
    assert wire.varint(-1) == b"\xff" * 9 + b"\x01"


def test_listen_document_change_matches_generated() -> None:
    doc = sample_document()
    for ids in ([20601], [1, 2, 2**31 - 1]):
        expected = ListenResponse()
        expected.document_change.document.CopyFrom(doc)
        expected.document_change.target_ids.extend(ids)
        raw = wire.listen_document_change(wire.serialized(doc), wire.target_ids_field(ids))
        assert ListenResponse.FromString(raw) == expected


def test_run_query_response_matches_generated() -> None:
    doc = sample_document()
    stamp = Timestamp(seconds=1_700_000_000, nanos=123_000)
    expected = RunQueryResponse()
    expected.document.CopyFrom(doc)
    expected.read_time.CopyFrom(stamp)
    expected.transaction = b"\x01\x02"
    raw = wire.run_query_response(wire.serialized(doc), wire.serialized(stamp), b"\x01\x02")
    assert RunQueryResponse.FromString(raw) == expected
    empty = RunQueryResponse.FromString(wire.run_query_response(b"", wire.serialized(stamp)))
    assert not empty.HasField("document") and empty.read_time == stamp
