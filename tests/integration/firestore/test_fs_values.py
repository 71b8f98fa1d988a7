"""Every value type survives a round trip through the emulator, via each client."""

from __future__ import annotations

import datetime
import math
from typing import Any

import firebase_admin
from firebase_admin import firestore as admin_firestore
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.vector import Vector

from firebase_sync.testing import session_project

PROJECT = session_project()


def sample(db: Any) -> dict[str, Any]:
    return {
        "null": None,
        "true": True,
        "false": False,
        "int": 42,
        "int_max": 2**63 - 1,
        "int_min": -(2**63),
        "float": 3.25,
        "inf": math.inf,
        "ninf": -math.inf,
        "neg_zero": -0.0,
        "str": "héllo wörld ✓ 𝄞",
        "empty": "",
        "bytes": b"\x00\xff\x10binary",
        "ts": datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.UTC),
        "geo": firestore.GeoPoint(37.77, -122.42),
        "ref": db.collection("other").document("doc"),
        "array": [1, "two", 3.0, None, {"nested": True}],
        "empty_array": [],
        "map": {"a": {"b": {"c": [1, 2]}}, "x y": 1},
        "empty_map": {},
        "vector": Vector([1.0, 2.5, -3.0]),
    }


def check_same(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert set(got) == set(want)
    for key, value in want.items():
        if key == "ref":
            assert got[key].path == value.path
        elif key == "neg_zero":
            assert got[key] == 0.0 and math.copysign(1, got[key]) == -1
        else:
            assert got[key] == value, key


def test_round_trip_sync(firestore_client: firestore.Client) -> None:
    data = sample(firestore_client)
    ref = firestore_client.collection("types").document("all")
    ref.set(data)
    check_same(ref.get().to_dict(), data)
    nan_ref = firestore_client.collection("types").document("nan")
    nan_ref.set({"nan": math.nan, "arr": [math.nan]})
    got = nan_ref.get().to_dict()
    assert math.isnan(got["nan"]) and math.isnan(got["arr"][0])


async def test_round_trip_async(async_firestore_client: firestore.AsyncClient) -> None:
    data = sample(async_firestore_client)
    ref = async_firestore_client.collection("types").document("all")
    await ref.set(data)
    check_same((await ref.get()).to_dict(), data)


def test_firebase_admin_client(firestore_client: firestore.Client) -> None:
    app = firebase_admin.initialize_app(AnonymousCredentials(), {"projectId": PROJECT},
                                        name="fs-values")
    try:
        db = admin_firestore.client(app)
        db.collection("admin").document("a").set({"via": "firebase_admin", "n": 1})
        assert firestore_client.collection("admin").document("a").get().to_dict() == {
            "via": "firebase_admin", "n": 1}
        assert [d.id for d in db.collection("admin").stream()] == ["a"]
        db.close()
    finally:
        firebase_admin.delete_app(app)


def test_timestamps_truncate_to_microseconds(firestore_client: firestore.Client) -> None:
    from google.api_core.datetime_helpers import DatetimeWithNanoseconds

    ts = DatetimeWithNanoseconds(2024, 1, 2, 3, 4, 5, nanosecond=123456789,
                                 tzinfo=datetime.UTC)
    ref = firestore_client.collection("types").document("ts")
    ref.set({"ts": ts})
    got = ref.get().to_dict()["ts"]
    assert got.microsecond == 123456


def test_databases_are_separate(firestore_client: firestore.Client) -> None:
    other = firestore.Client(project=PROJECT, database="second")
    try:
        other.collection("c").document("d").set({"db": "second"})
        assert not firestore_client.collection("c").document("d").get().exists
        assert other.collection("c").document("d").get().to_dict() == {"db": "second"}
        other.collection("c").document("d").delete()
    finally:
        other.close()
