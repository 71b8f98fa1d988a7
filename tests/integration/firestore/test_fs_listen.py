"""on_snapshot for documents and queries against the emulator."""

from __future__ import annotations

from typing import Any

from fs_helpers import Snapshots, changes_of, ids, indexes_of
from google.cloud import firestore


def test_query_snapshot_added_modified_removed(firestore_client: firestore.Client) -> None:
    db = firestore_client
    cities = db.collection("cities")
    cities.document("SF").set({"pop": 870_000})
    cities.document("tiny").set({"pop": 10})
    snaps = Snapshots()
    watch = cities.where("pop", ">", 1000).order_by("pop").on_snapshot(snaps)
    try:
        first = snaps.wait_for(1)[0]
        assert ids(first) == ["SF"]
        assert changes_of(first) == [("ADDED", "SF")]
        assert indexes_of(first) == [("SF", -1, 0)]
        cities.document("LA").set({"pop": 3_900_000})
        assert indexes_of(snaps.wait_for(2)[1]) == [("LA", -1, 1)]
        cities.document("SF").update({"pop": firestore.Increment(1)})
        assert changes_of(snaps.wait_for(3)[2]) == [("MODIFIED", "SF")]
        assert ids(snaps.last()) == ["SF", "LA"]
        cities.document("SF").update({"pop": 5})
        assert changes_of(snaps.wait_for(4)[3]) == [("REMOVED", "SF")]
        cities.document("LA").delete()
        call = snaps.wait_for(5)[4]
        assert changes_of(call) == [("REMOVED", "LA")]
        assert ids(call) == []
    finally:
        watch.unsubscribe()


def test_resume_after_unavailable(firestore_client: firestore.Client,
                                  firestore_emulator: Any) -> None:
    db = firestore_client
    cities = db.collection("cities")
    cities.document("SF").set({"pop": 1})
    snaps = Snapshots()
    watch = cities.on_snapshot(snaps)
    try:
        snaps.wait_for(1)
        n = firestore_emulator.emulator.abort_listen_streams("UNAVAILABLE")
        assert n >= 1
        cities.document("NY").set({"pop": 2})
        call = snaps.wait_for(2)[1]
        assert changes_of(call) == [("ADDED", "NY")]
        assert ids(call) == ["NY", "SF"]
    finally:
        watch.unsubscribe()


def test_document_watch(firestore_client: firestore.Client) -> None:
    ref = firestore_client.collection("w").document("d")
    snaps = Snapshots()
    watch = ref.on_snapshot(snaps)
    try:
        assert snaps.wait_for(1)[0][0] == []  # missing document: no docs
        ref.set({"a": 1})
        docs, _, _ = snaps.wait_for(2)[1]
        assert [d.to_dict() for d in docs] == [{"a": 1}]
        ref.set({"a": 1})  # no-op: update_time unchanged, so no callback
        ref.update({"a": 2})
        docs, changes, _ = snaps.wait_for(3)[2]
        assert docs[0].to_dict() == {"a": 2} and changes[0].type.name == "MODIFIED"
        ref.delete()
        assert snaps.wait_for(4)[3][0] == []
        assert len(snaps.calls) == 4
    finally:
        watch.unsubscribe()


def test_limit_window(firestore_client: firestore.Client) -> None:
    coll = firestore_client.collection("scores")
    for i in (10, 20, 30, 40):
        coll.document(f"s{i}").set({"v": i})
    snaps = Snapshots()
    watch = coll.order_by("v", direction=firestore.Query.DESCENDING).limit(2).on_snapshot(snaps)
    try:
        assert sorted(ids(snaps.wait_for(1)[0])) == ["s30", "s40"]
        coll.document("s50").set({"v": 50})  # enters, pushes s30 out
        call = snaps.wait_for(2)[1]
        assert sorted(changes_of(call)) == [("ADDED", "s50"), ("REMOVED", "s30")]
        coll.document("s50").delete()  # s30 comes back into the window
        call = snaps.wait_for(3)[2]
        assert sorted(changes_of(call)) == [("ADDED", "s30"), ("REMOVED", "s50")]
        coll.document("s10").set({"v": 11})  # outside the window: nothing to say
        coll.document("s40").update({"v": 41})
        call = snaps.wait_for(4)[3]
        assert changes_of(call) == [("MODIFIED", "s40")]
    finally:
        watch.unsubscribe()


def test_collection_group_watch_and_reset(firestore_client: firestore.Client,
                                          firestore_emulator: Any) -> None:
    db = firestore_client
    db.document("a/1/items/x").set({"n": 1})
    snaps = Snapshots()
    watch = db.collection_group("items").on_snapshot(snaps)
    try:
        assert ids(snaps.wait_for(1)[0]) == ["x"]
        db.document("b/2/items/y").set({"n": 2})
        assert changes_of(snaps.wait_for(2)[1]) == [("ADDED", "y")]
        firestore_emulator.reset()  # clearing the database removes everything
        call = snaps.wait_for(3)[2]
        assert sorted(changes_of(call)) == [("REMOVED", "x"), ("REMOVED", "y")]
        db.document("c/3/items/z").set({"n": 3})
        assert changes_of(snaps.wait_for(4)[3]) == [("ADDED", "z")]
    finally:
        watch.unsubscribe()


def test_resume_sees_changes_made_while_disconnected(firestore_client: firestore.Client,
                                                    firestore_emulator: Any) -> None:
    coll = firestore_client.collection("r")
    coll.document("a").set({"v": 1})
    coll.document("b").set({"v": 1})
    snaps = Snapshots()
    watch = coll.where("v", "==", 1).on_snapshot(snaps)
    try:
        snaps.wait_for(1)
        for _ in range(3):
            firestore_emulator.emulator.abort_listen_streams("UNAVAILABLE")
        batch = firestore_client.batch()
        batch.update(coll.document("a"), {"v": 2})
        batch.set(coll.document("c"), {"v": 1})
        batch.commit()
        call = snaps.wait_for(2)[1]
        assert sorted(changes_of(call)) == [("ADDED", "c"), ("REMOVED", "a")]
        assert ids(call) == ["b", "c"]
    finally:
        watch.unsubscribe()


def test_many_watchers_one_write(firestore_client: firestore.Client) -> None:
    coll = firestore_client.collection("many")
    snaps = [Snapshots() for _ in range(5)]
    watches = [coll.on_snapshot(s) for s in snaps]
    try:
        for s in snaps:
            s.wait_for(1)
        coll.document("x").set({"a": 1})
        for s in snaps:
            assert changes_of(s.wait_for(2)[1]) == [("ADDED", "x")]
    finally:
        for w in watches:
            w.unsubscribe()
