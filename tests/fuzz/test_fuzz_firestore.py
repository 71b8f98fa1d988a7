"""Fuzzing the Firestore emulator over a real gRPC channel with generated hostile requests.

``test_firestore_refuses_hostile_requests`` seeds three documents, then sends its budget
(``fuzz_support``) of requests (see ``firestore_fuzz_strategies``): raw random bytes to every RPC,
and well-formed messages with invalid content. No call may end in a crash code (UNKNOWN, INTERNAL,
...), each structured request must get a code its defects allow, and afterwards the seeded documents
must be identical (data and update times) and no other document may exist."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from firestore_fuzz_strategies import (
    CRASH_CODES,
    SEEDED,
    SERVICE,
    GrpcFuzz,
    grpc_requests,
    is_streaming,
)
from fuzz_support import Budget, budgets, fuzz_settings
from hypothesis import given

from firebase_sync.testing import EmulatorHosts

BUDGETS = budgets("FUZZ_EXAMPLES", 10_000, "FUZZ_CI_EXAMPLES", 1_000)
CHECK_EVERY = 1_000
TIMEOUT = 10.0


def snapshot(client: Any) -> list[tuple[str, Any, Any]]:
    """Every document below the root (paths, data, update times), in a stable order."""
    found: list[tuple[str, Any, Any]] = []

    def walk(collections: Any) -> None:
        for collection in collections:
            for ref in collection.list_documents():
                doc = ref.get()
                found.append((ref.path, doc.to_dict() if doc.exists else None, doc.update_time))
                walk(ref.collections())

    walk(client.collections())
    return sorted(found, key=lambda entry: entry[0])


def call(channel: grpc.Channel, request: GrpcFuzz) -> grpc.StatusCode:
    """Send the raw bytes; the final status code (streams are drained)."""
    method = SERVICE + request.rpc
    try:
        if is_streaming(request.rpc):
            stream = channel.unary_stream(method)(request.payload, timeout=TIMEOUT)
            for _ in stream:
                pass
        else:
            channel.unary_unary(method)(request.payload, timeout=TIMEOUT)
    except grpc.RpcError as exc:
        code: grpc.StatusCode = exc.code()
        return code
    return grpc.StatusCode.OK


@pytest.mark.parametrize("run", BUDGETS)
def test_firestore_refuses_hostile_requests(
    emulators: EmulatorHosts, firestore_client: Any, run: Budget
) -> None:
    """``run.examples`` hostile requests: right codes, no crash codes, data untouched."""
    client = firestore_client
    for i, path in enumerate(SEEDED):
        client.document(path).set({"n": i, "s": "seed", "arr": [1, "x"], "m": {"k": True}})
    before = snapshot(client)
    assert [path for path, *_ in before] == sorted(SEEDED)
    codes: dict[str, int] = {}
    sent = 0
    with grpc.insecure_channel(emulators.firestore_host) as channel:

        @fuzz_settings(run)
        @given(grpc_requests(emulators.project))
        def one(request: GrpcFuzz) -> None:
            nonlocal sent
            code = call(channel, request)
            assert code not in CRASH_CODES, f"{request} -> {code}"
            if not request.anything:
                assert code in request.expected, f"{request} -> {code}"
            codes[code.name] = codes.get(code.name, 0) + 1
            sent += 1
            if sent % CHECK_EVERY == 0:
                assert snapshot(client) == before, f"data changed around {request}"

        one()
        assert sent >= run.examples
        assert snapshot(client) == before
        # Still serving ordinary requests after all that.
        assert client.document(SEEDED[0]).get().to_dict()["s"] == "seed"
    assert codes.get("INVALID_ARGUMENT", 0) > run.examples // 2, codes


@pytest.mark.parametrize("rpc", ["Commit", "RunQuery"])
def test_firestore_survives_empty_requests(emulators: EmulatorHosts, rpc: str) -> None:
    """An empty message names no database: INVALID_ARGUMENT, not a crash."""
    with grpc.insecure_channel(emulators.firestore_host) as channel:
        request = GrpcFuzz(rpc, b"", {"no database": {grpc.StatusCode.INVALID_ARGUMENT}})
        assert call(channel, request) == grpc.StatusCode.INVALID_ARGUMENT


# ---------------------------------------------------------------------------- regressions
# Documented Firestore constraints the fuzzing found unenforced (each write below used to be
# accepted and stored); the generators now send these inputs in the main run too.


def _commit(channel: grpc.Channel, project: str, write_: Any) -> grpc.StatusCode:
    from google.cloud.firestore_v1.types import firestore as fs

    database = f"projects/{project}/databases/(default)"
    payload = fs.CommitRequest.pb()(database=database, writes=[write_]).SerializeToString()
    return call(channel, GrpcFuzz("Commit", payload, {}))


def _doc(project: str, path: str) -> str:
    return f"projects/{project}/databases/(default)/documents/{path}"


@pytest.mark.parametrize("lat_lng", [(-90.5, 0.0), (90.0001, 0.0), (0.0, 181.0), (0.0, -180.01)])
def test_geo_point_out_of_range_is_refused(
    emulators: EmulatorHosts, firestore_client: Any, lat_lng: tuple[float, float]
) -> None:
    from firestore_fuzz_strategies import Value, Write

    lat, lng = lat_lng
    value = Value(geo_point_value={"latitude": lat, "longitude": lng})
    write_ = Write(update={"name": _doc(emulators.project, "fuzz/g"), "fields": {"g": value}})
    with grpc.insecure_channel(emulators.firestore_host) as channel:
        assert _commit(channel, emulators.project, write_) == grpc.StatusCode.INVALID_ARGUMENT
    assert not firestore_client.document("fuzz/g").get().exists


def test_reserved_field_name_is_refused(emulators: EmulatorHosts, firestore_client: Any) -> None:
    """Field names must not match ``__.*__`` (Firestore limits); ids are checked already."""
    from firestore_fuzz_strategies import Value, Write

    fields = {"__x__": Value(integer_value=1)}
    write_ = Write(update={"name": _doc(emulators.project, "fuzz/d"), "fields": fields})
    with grpc.insecure_channel(emulators.firestore_host) as channel:
        assert _commit(channel, emulators.project, write_) == grpc.StatusCode.INVALID_ARGUMENT
    assert not firestore_client.document("fuzz/d").get().exists


@pytest.mark.parametrize(
    "reference",
    [
        "projects//databases/(default)/documents/fuzz/a",
        "projects/other/databases/(default)/documents/fuzz/a",
        "projects/{project}/databases/nope/documents/fuzz/a",
    ],
)
def test_foreign_reference_is_refused(
    emulators: EmulatorHosts, firestore_client: Any, reference: str
) -> None:
    """A stored reference must name a document of the writing database (the client SDKs
    refuse others, and the backend did: "in different app partition")."""
    from firestore_fuzz_strategies import Value, Write

    value = Value(reference_value=reference.format(project=emulators.project))
    write_ = Write(update={"name": _doc(emulators.project, "fuzz/r"), "fields": {"r": value}})
    with grpc.insecure_channel(emulators.firestore_host) as channel:
        assert _commit(channel, emulators.project, write_) == grpc.StatusCode.INVALID_ARGUMENT
    assert not firestore_client.document("fuzz/r").get().exists


def test_empty_quoted_field_path_is_refused(
    emulators: EmulatorHosts, firestore_client: Any
) -> None:
    from firestore_fuzz_strategies import Value, Write

    firestore_client.document("fuzz/e").set({"a": 1})
    write_ = Write(
        update={"name": _doc(emulators.project, "fuzz/e"), "fields": {"a": Value(integer_value=2)}},
        update_mask={"field_paths": ["a", "``"]},
    )
    with grpc.insecure_channel(emulators.firestore_host) as channel:
        assert _commit(channel, emulators.project, write_) == grpc.StatusCode.INVALID_ARGUMENT
    assert firestore_client.document("fuzz/e").get().to_dict() == {"a": 1}


@pytest.mark.parametrize(
    "reference", ["fuzz/a", "projects/x/databases/(default)/documents/fuzz/a", ""]
)
def test_foreign_name_cursor_is_refused(emulators: EmulatorHosts, reference: str) -> None:
    from firestore_fuzz_strategies import Value
    from google.cloud.firestore_v1.types import firestore as fs
    from google.cloud.firestore_v1.types import query

    sq = query.StructuredQuery.pb()(
        from_=[{"collection_id": "fuzz"}],
        order_by=[{"field": {"field_path": "__name__"}}],
        start_at={"values": [Value(reference_value=reference)]},
    )
    parent = f"projects/{emulators.project}/databases/(default)/documents"
    payload = fs.RunQueryRequest.pb()(parent=parent, structured_query=sq).SerializeToString()
    with grpc.insecure_channel(emulators.firestore_host) as channel:
        code = call(channel, GrpcFuzz("RunQuery", payload, {}))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
