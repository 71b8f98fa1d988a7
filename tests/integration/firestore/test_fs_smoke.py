from google.cloud import firestore


def test_set_get_query(firestore_client: firestore.Client) -> None:
    db = firestore_client
    db.collection("cities").document("SF").set({"name": "San Francisco", "pop": 870000})
    db.collection("cities").document("LA").set({"name": "Los Angeles", "pop": 3900000})
    snap = db.collection("cities").document("SF").get()
    assert snap.exists and snap.to_dict() == {"name": "San Francisco", "pop": 870000}
    assert not db.collection("cities").document("NY").get().exists
    names = [d.id for d in db.collection("cities").where("pop", ">", 1000).stream()]
    assert names == ["SF", "LA"]
