"""Production's value and path rules the emulator enforces, and the client conventions it
must still accept: geo point ranges, references confined to the database, reserved field
names (``__.*__``), empty quoted field paths, and ``__name__`` cursors and filters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1 import bson
from google.cloud.firestore_v1.field_path import FieldPath
from google.cloud.firestore_v1.types import document, write
from google.cloud.firestore_v1.types import firestore as fs
from google.cloud.firestore_v1.types import query as q
from google.cloud.firestore_v1.vector import Vector

Value = document.Value.pb()
Write = write.Write.pb()
SERVICE = "/google.firestore.v1.Firestore/"


@pytest.fixture
def channel(firestore_emulator: Any) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(firestore_emulator.host) as ch:
        yield ch


def _root(client: firestore.Client) -> str:
    return f"projects/{client.project}/databases/(default)/documents"


def _commit(channel: grpc.Channel, client: firestore.Client, *writes: Any) -> grpc.StatusCode:
    request = fs.CommitRequest.pb()(
        database=f"projects/{client.project}/databases/(default)", writes=list(writes)
    )
    try:
        channel.unary_unary(SERVICE + "Commit")(request.SerializeToString(), timeout=10)
    except grpc.RpcError as exc:
        code: grpc.StatusCode = exc.code()
        return code
    return grpc.StatusCode.OK


def _run_query(channel: grpc.Channel, parent: str, sq: Any) -> grpc.StatusCode:
    request = fs.RunQueryRequest.pb()(parent=parent, structured_query=sq)
    try:
        for _ in channel.unary_stream(SERVICE + "RunQuery")(
            request.SerializeToString(), timeout=10
        ):
            pass
    except grpc.RpcError as exc:
        code: grpc.StatusCode = exc.code()
        return code
    return grpc.StatusCode.OK


# ---------------------------------------------------------------- geo points


@pytest.mark.parametrize("lat_lng", [(-90.5, 0.0), (90.0001, 0.0), (0.0, 181.0), (0.0, -180.01)])
def test_geo_point_out_of_range_is_refused(
    firestore_client: firestore.Client, lat_lng: tuple[float, float]
) -> None:
    ref = firestore_client.document("geo/bad")
    with pytest.raises(exceptions.InvalidArgument, match="outside permitted range"):
        ref.set({"g": firestore.GeoPoint(*lat_lng)})
    assert not ref.get().exists


def test_geo_point_nan_is_refused(channel: grpc.Channel, firestore_client: Any) -> None:
    value = Value(geo_point_value={"latitude": float("nan"), "longitude": 0.0})
    w = Write(update={"name": _root(firestore_client) + "/geo/nan", "fields": {"g": value}})
    assert _commit(channel, firestore_client, w) == grpc.StatusCode.INVALID_ARGUMENT


def test_geo_point_range_edges_are_stored(firestore_client: firestore.Client) -> None:
    ref = firestore_client.document("geo/edges")
    data = {f"g{i}": firestore.GeoPoint(lat, lng)
            for i, (lat, lng) in enumerate([(90.0, 180.0), (-90.0, -180.0), (0.0, -0.0)])}
    ref.set(data)
    assert ref.get().to_dict() == data


# ---------------------------------------------------------------- references


def test_reference_to_another_project_is_refused(
    firestore_client: firestore.Client, firestore_emulator: Any
) -> None:
    other = firestore.Client(project="other-project", credentials=AnonymousCredentials())
    ref = firestore_client.document("refs/foreign")
    with pytest.raises(exceptions.InvalidArgument, match="same database"):
        ref.set({"r": other.document("c/d")})
    with pytest.raises(exceptions.InvalidArgument, match="same database"):
        ref.set({"m": {"list": [other.document("c/d")]}})
    assert not ref.get().exists


# Production refuses references outside the database; the official emulator stores them.
@pytest.mark.extension
def test_reference_to_another_database_is_refused(firestore_client: firestore.Client) -> None:
    other = firestore.Client(project=firestore_client.project, database="nope",
                             credentials=AnonymousCredentials())
    ref = firestore_client.document("refs/foreign-db")
    with pytest.raises(exceptions.InvalidArgument, match="same database"):
        ref.set({"r": other.document("c/d")})
    assert not ref.get().exists


# Production refuses references outside the database; the official emulator stores them.
@pytest.mark.extension
def test_reference_in_array_union_to_another_database_is_refused(
    firestore_client: firestore.Client,
) -> None:
    other = firestore.Client(project="other-project", credentials=AnonymousCredentials())
    ref = firestore_client.document("refs/union")
    ref.set({"a": []})
    with pytest.raises(exceptions.InvalidArgument, match="same database"):
        ref.update({"a": firestore.ArrayUnion([other.document("c/d")])})
    assert ref.get().to_dict() == {"a": []}


@pytest.mark.parametrize(
    "reference",
    [
        "projects//databases/(default)/documents/refs/a",
        "projects/{project}/databases//documents/refs/a",
        "projects/{project}/databases/(default)/documents/refs",
        "refs/a",
    ],
)
def test_malformed_reference_is_refused(
    channel: grpc.Channel, firestore_client: firestore.Client, reference: str
) -> None:
    value = Value(reference_value=reference.format(project=firestore_client.project))
    w = Write(update={"name": _root(firestore_client) + "/refs/bad", "fields": {"r": value}})
    assert _commit(channel, firestore_client, w) == grpc.StatusCode.INVALID_ARGUMENT
    assert not firestore_client.document("refs/bad").get().exists


def test_reference_in_the_same_database_is_stored(firestore_client: firestore.Client) -> None:
    ref = firestore_client.document("refs/ok")
    target = firestore_client.document("people/ada/pets/tom")
    ref.set({"r": target, "arr": [target]})
    got = ref.get().to_dict()
    assert got["r"].path == target.path and got["arr"][0].path == target.path


def test_imported_foreign_references_still_load(firestore_emulator: Any) -> None:
    """Production exports keep references to the source project; importing must not fail."""
    doc = document.Document.pb()(
        name="projects/imp/databases/(default)/documents/c/d",
        fields={"r": Value(reference_value="projects/src/databases/(default)/documents/c/e")},
    )
    firestore_emulator.emulator.store.load(("imp", "(default)"), [doc])
    client = firestore.Client(project="imp", credentials=AnonymousCredentials())
    # (the Python client itself refuses to decode a foreign reference, so list names only)
    assert [ref.id for ref in client.collection("c").list_documents()] == ["d"]


# ---------------------------------------------------------------- reserved field names


@pytest.mark.parametrize("data", [
    {"__x__": 1},
    {"m": {"__name__": 1}},
    # production reserves __.*__ at any depth; the official emulator stores this one
    pytest.param({"a": [{"____": 1}]}, marks=pytest.mark.extension),
])
def test_reserved_field_name_is_refused(
    firestore_client: firestore.Client, data: dict[str, Any]
) -> None:
    ref = firestore_client.document("reserved/set")
    with pytest.raises(exceptions.InvalidArgument, match="reserved"):
        ref.set(data)
    assert not ref.get().exists


@pytest.mark.parametrize("path", ["__x__", "m.__y__"])
def test_reserved_field_path_in_update_is_refused(
    firestore_client: firestore.Client, path: str
) -> None:
    ref = firestore_client.document("reserved/update")
    ref.set({"a": 1})
    with pytest.raises(exceptions.InvalidArgument, match="reserved"):
        ref.update({path: 2})
    with pytest.raises(exceptions.InvalidArgument, match="reserved"):
        ref.update({path: firestore.Increment(1)})
    with pytest.raises(exceptions.InvalidArgument, match="reserved"):
        ref.update({path: firestore.DELETE_FIELD})
    assert ref.get().to_dict() == {"a": 1}


def test_names_that_only_look_reserved_are_stored(firestore_client: firestore.Client) -> None:
    ref = firestore_client.document("reserved/near")
    data = {"__x": 1, "x__": 2, "_x_": 3, "___": 4, "a__b__c": 5}
    ref.set(data)
    assert ref.get().to_dict() == data


# The official emulator refuses BSON-typed maps on a standard database
# ("Value type DECIMAL128 is not allowed").
@pytest.mark.extension
def test_vector_and_bson_maps_are_stored(firestore_client: firestore.Client) -> None:
    """The special-type maps (``__type__``, BSON single-key maps) are client conventions
    that production stores, although their keys match ``__.*__``."""
    ref = firestore_client.document("reserved/special")
    data = {
        "v": Vector([1.0, 2.0]),
        "nested": {"v": Vector([0.5])},
        "int": bson.BSONInt32(7),
        "oid": bson.BSONObjectId("507f191e810c19729de860ea"),
        "min": bson.BSONMinKey(),
        "max": bson.BSONMaxKey(),
        "ts": bson.BSONTimestamp(1, 2),
        "re": bson.BSONRegex("^a", "i"),
        "dec": bson.BSONDecimal128("1.5"),
        "bin": bson.BSONBinary(b"\x01", 1),
    }
    ref.set(data)
    got = ref.get().to_dict()
    assert got == data
    ref.set({"v": Vector([3.0])}, merge=True)
    assert ref.get().to_dict()["v"] == Vector([3.0])


# Production reserves __.*__ names; the official emulator stores a stray __type__.
@pytest.mark.extension
def test_type_key_outside_a_vector_is_refused(firestore_client: firestore.Client) -> None:
    ref = firestore_client.document("reserved/type")
    with pytest.raises(exceptions.InvalidArgument, match="reserved"):
        ref.set({"m": {"__type__": "other"}})
    with pytest.raises(exceptions.InvalidArgument, match="reserved"):
        ref.set({"m": {"__int__": 1, "x": 2}})  # a BSON key only counts alone


# ---------------------------------------------------------------- field paths


@pytest.mark.parametrize("path", ["``", "a.``", "``.a", "__name__.x"])
def test_bad_mask_path_is_refused(
    channel: grpc.Channel, firestore_client: firestore.Client, path: str
) -> None:
    ref = firestore_client.document("paths/mask")
    ref.set({"a": 1})
    w = Write(
        update={"name": _root(firestore_client) + "/paths/mask",
                "fields": {"a": Value(integer_value=2)}},
        update_mask={"field_paths": ["a", path]},
    )
    assert _commit(channel, firestore_client, w) == grpc.StatusCode.INVALID_ARGUMENT
    assert ref.get().to_dict() == {"a": 1}


def test_quoted_paths_that_name_fields_still_work(firestore_client: firestore.Client) -> None:
    ref = firestore_client.document("paths/quoted")
    ref.set({"a.b": 1, "c": {"d-e": 2}})
    ref.update({FieldPath("a.b").to_api_repr(): 3, "c.`d-e`": 4})
    assert ref.get().to_dict() == {"a.b": 3, "c": {"d-e": 4}}


@pytest.mark.parametrize("path", ["``", "__name__.x"])
def test_bad_query_path_is_refused(
    channel: grpc.Channel, firestore_client: firestore.Client, path: str
) -> None:
    sq = q.StructuredQuery.pb()(
        from_=[{"collection_id": "paths"}], order_by=[{"field": {"field_path": path}}]
    )
    assert _run_query(channel, _root(firestore_client), sq) == grpc.StatusCode.INVALID_ARGUMENT


# ---------------------------------------------------------------- __name__ cursors, filters


@pytest.mark.parametrize(
    "reference",
    [
        "fuzz/a",
        "",
        "projects/x/databases/(default)/documents/fuzz/a",
        "projects/{project}/databases/nope/documents/fuzz/a",
        "projects/{project}/databases/(default)/documents/fuzz",
        "projects/{project}/databases/(default)/documents/fuzz//a",
    ],
)
def test_name_cursor_outside_the_database_is_refused(
    channel: grpc.Channel, firestore_client: firestore.Client, reference: str
) -> None:
    value = Value(reference_value=reference.format(project=firestore_client.project))
    sq = q.StructuredQuery.pb()(
        from_=[{"collection_id": "fuzz"}],
        order_by=[{"field": {"field_path": "__name__"}}],
        start_at={"values": [value]},
    )
    assert _run_query(channel, _root(firestore_client), sq) == grpc.StatusCode.INVALID_ARGUMENT


def test_name_filter_on_another_project_is_refused(firestore_client: firestore.Client) -> None:
    other = firestore.Client(project="other-project", credentials=AnonymousCredentials())
    query = firestore_client.collection("c").where(
        filter=firestore.FieldFilter("__name__", "==", other.document("c/a")))
    # ours names the value, the official emulator the two databases
    with pytest.raises(exceptions.InvalidArgument,
                       match="not a document in database|attempting to access database"):
        list(query.stream())


def test_name_cursors_from_the_client_still_work(firestore_client: firestore.Client) -> None:
    coll = firestore_client.collection("names")
    for doc_id in ("a", "b", "c"):
        coll.document(doc_id).set({"n": 1})
        coll.document(doc_id).collection("sub").document("x").set({"n": 2})
    snap_b = coll.document("b").get()
    got = [d.id for d in coll.order_by("__name__").start_after(snap_b).stream()]
    assert got == ["c"]
    got = [d.id for d in coll.order_by("__name__").start_at({"__name__": coll.document("b")})
           .stream()]
    assert got == ["b", "c"]
    got = [d.id for d in coll.where(
        filter=firestore.FieldFilter("__name__", "in", [coll.document("a"), coll.document("c")])
    ).stream()]
    assert got == ["a", "c"]
    # recursive() bounds use __id-9223372036854775808__ and a "names\0" collection
    assert len(list(coll.recursive().stream())) == 6
