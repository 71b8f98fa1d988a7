"""The service around the RPCs: HTTP endpoints, ports, shutdown, export/import, bulk."""

from __future__ import annotations

import asyncio
import json
import math
import socket
import urllib.error
from pathlib import Path
from typing import Any

import grpc
import pytest
from fs_helpers import Snapshots, eventually, watch_terminations
from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.types import document as d
from google.cloud.firestore_v1.types import firestore as fs

from emulator.firestore import FirestoreEmulator
from firebase_sync.testing import session_project

PROJECT = session_project()
ROOT = f"projects/{PROJECT}/databases/(default)/documents"
M = "/google.firestore.v1.Firestore/"


def test_http_endpoints(firestore_emulator: Any, firestore_client: firestore.Client) -> None:
    assert firestore_emulator.http("GET", "/") == (200, b"Ok")
    source = "service cloud.firestore { match /{d=**} { allow read, write; } }"
    body = json.dumps({"rules": {"files": [{"name": "firestore.rules", "content": source}]}})
    status, reply = firestore_emulator.http(
        "PUT", f"/emulator/v1/projects/{PROJECT}:securityRules", body.encode())
    assert status == 200 and json.loads(reply) == {}
    status, reply = firestore_emulator.http(
        "GET", f"/emulator/v1/projects/{PROJECT}:securityRules")
    assert json.loads(reply)["rules"]["files"][0]["content"] == source
    firestore_emulator.emulator.guard.clear(PROJECT)
    with pytest.raises(urllib.error.HTTPError) as err:
        firestore_emulator.http("GET", "/nope")
    assert err.value.code == 404
    err.value.close()


def test_reset_endpoint_whole_and_one_collection(firestore_emulator: Any,
                                                 firestore_client: firestore.Client) -> None:
    db = firestore_client
    db.document("keep/a").set({"a": 1})
    db.document("drop/a").set({"a": 1})
    db.document("drop/a/sub/b").set({"a": 1})
    firestore_emulator.http(
        "DELETE", f"/emulator/v1/projects/{PROJECT}/databases/(default)/documents/drop")
    assert db.document("keep/a").get().exists
    assert not db.document("drop/a").get().exists
    assert not db.document("drop/a/sub/b").get().exists
    firestore_emulator.http(
        "DELETE", f"/emulator/v1/projects/{PROJECT}/databases/(default)/documents")
    assert not db.document("keep/a").get().exists


def test_port_in_use_raises_oserror(firestore_emulator: Any) -> None:
    other = FirestoreEmulator()
    with pytest.raises(OSError):
        firestore_emulator.call(other.start("127.0.0.1", firestore_emulator.port))


def test_stop_cancels_listeners_cleanly(firestore_emulator: Any,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    emu = FirestoreEmulator()
    port = firestore_emulator.call(emu.start("127.0.0.1", 0))
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{port}")
    client = firestore.Client(project=PROJECT)
    try:
        client.document("x/y").set({"a": 1})
        snaps = Snapshots()
        with watch_terminations() as ended:
            watch = client.collection("x").on_snapshot(snaps)
            snaps.wait_for(1)
            firestore_emulator.call(emu.stop())
            eventually(lambda: watch._closed)
        # the client re-raises the final status in its closing thread: CANCELLED, nothing else
        assert [type(e) for e in ended] == [gexc.Cancelled], ended
        watch.unsubscribe()
        with socket.socket() as s:  # the port is free again
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
    finally:
        client.close()


def test_export_import_round_trip(firestore_emulator: Any, firestore_client: firestore.Client,
                                  tmp_path: Path) -> None:
    db = firestore_client
    db.document("e/a").set({"n": 2**63 - 1, "f": math.nan, "b": b"\x00\x01", "s": "✓",
                            "t": firestore.SERVER_TIMESTAMP, "m": {"x": [1, 2.5, None]}})
    db.document("e/a/sub/b").set({"g": firestore.GeoPoint(1.5, -2.5)})
    other = firestore.Client(project=PROJECT, database="second")
    other.document("o/1").set({"other": True})
    before = db.document("e/a").get()
    emu = firestore_emulator.emulator
    meta = emu.export_data(tmp_path)
    assert (tmp_path / meta["metadata_file"]).exists()  # the official emulator's format
    assert not list(tmp_path.rglob("*.tmp"))
    emu.reset()
    assert not db.document("e/a").get().exists
    emu.import_data(tmp_path, meta)
    after = db.document("e/a").get()
    assert after.update_time == before.update_time and after.create_time == before.create_time
    got = after.to_dict()
    assert got["n"] == 2**63 - 1 and math.isnan(got["f"]) and got["b"] == b"\x00\x01"
    assert got["m"] == {"x": [1, 2.5, None]} and got["t"] == before.to_dict()["t"]
    assert db.document("e/a/sub/b").get().to_dict()["g"] == firestore.GeoPoint(1.5, -2.5)
    assert other.document("o/1").get().to_dict() == {"other": True}
    other.close()


def test_bulk_writer(firestore_client: firestore.Client) -> None:
    coll = firestore_client.collection("bulk")
    coll.document("existing").set({"kept": True})
    bw = firestore_client.bulk_writer()
    failures: list[Any] = []
    bw.on_write_error(lambda err, _bw: failures.append(err) and False)
    for i in range(50):
        bw.set(coll.document(f"d{i:02}"), {"i": i})
    # BulkWriter sends batches concurrently, so the conflict must not depend on their order.
    bw.create(coll.document("existing"), {"dup": True})
    bw.close()
    assert len(list(coll.stream())) == 51
    assert coll.document("existing").get().to_dict() == {"kept": True}
    assert [f.code for f in failures] == [6]  # ALREADY_EXISTS, not retried


def test_batch_write_statuses_raw(firestore_emulator: Any,
                                  firestore_client: firestore.Client) -> None:
    firestore_client.document("bw/exists").set({"a": 1})
    req = fs.BatchWriteRequest(database=f"projects/{PROJECT}/databases/(default)")
    req.writes.append({"update": {"name": ROOT + "/bw/new", "fields": {}}})
    req.writes.append({"update": {"name": ROOT + "/bw/exists", "fields": {}},
                       "current_document": {"exists": False}})
    with grpc.insecure_channel(firestore_emulator.host) as ch:
        call = ch.unary_unary(M + "BatchWrite", request_serializer=None,
                              response_deserializer=fs.BatchWriteResponse.pb().FromString)
        resp = call(fs.BatchWriteRequest.serialize(req), timeout=5)
    assert [s.code for s in resp.status] == [0, 6]
    assert resp.write_results[0].HasField("update_time")


def test_document_crud_rpcs_raw(firestore_emulator: Any) -> None:
    Doc = d.Document.pb()
    with grpc.insecure_channel(firestore_emulator.host) as ch:
        def rpc(name: str, req: Any, resp_cls: Any) -> Any:
            return ch.unary_unary(M + name, request_serializer=None,
                                  response_deserializer=resp_cls.FromString)(
                req.SerializeToString(), timeout=5)

        create = fs.CreateDocumentRequest.pb()(parent=ROOT, collection_id="crud",
                                               document_id="one")
        create.document.fields["a"].integer_value = 1
        made = rpc("CreateDocument", create, Doc)
        assert made.name == ROOT + "/crud/one" and made.fields["a"].integer_value == 1
        with pytest.raises(grpc.RpcError) as err:
            rpc("CreateDocument", create, Doc)
        assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
        update = fs.UpdateDocumentRequest.pb()()
        update.document.name = made.name
        update.document.fields["b"].string_value = "x"
        update.update_mask.field_paths.append("b")
        got = rpc("UpdateDocument", update, Doc)
        assert set(got.fields) == {"a", "b"}
        fetched = rpc("GetDocument", fs.GetDocumentRequest.pb()(name=made.name), Doc)
        assert fetched == got
        from google.protobuf import empty_pb2

        rpc("DeleteDocument", fs.DeleteDocumentRequest.pb()(name=made.name), empty_pb2.Empty)
        with pytest.raises(grpc.RpcError) as err:
            rpc("GetDocument", fs.GetDocumentRequest.pb()(name=made.name), Doc)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_async_client_queries(async_firestore_client: firestore.AsyncClient) -> None:
    db = async_firestore_client
    await asyncio.gather(*(db.collection("as").document(f"d{i}").set({"i": i})
                           for i in range(5)))
    got = [s.id async for s in db.collection("as").where("i", ">=", 2).order_by(
        "i", direction=firestore.Query.DESCENDING).stream()]
    assert got == ["d4", "d3", "d2"]
    (res,) = await db.collection("as").count().get()
    assert res[0].value == 5
    snaps = [s async for s in db.get_all([db.document("as/d1"), db.document("as/none")])]
    assert sorted((s.id, s.exists) for s in snaps) == [("d1", True), ("none", False)]
    assert [c.id async for c in db.collections()] == ["as"]
    assert len([r async for r in db.collection("as").list_documents()]) == 5
    await db.recursive_delete(db.collection("as"))
    assert [s async for s in db.collection("as").stream()] == []
