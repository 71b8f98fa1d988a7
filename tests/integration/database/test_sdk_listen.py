"""``Reference.listen()`` through firebase-admin: what each listener sees."""

from __future__ import annotations

import time
from typing import Any

from firebase_admin import db


def ref(app: Any, path: str) -> db.Reference:
    return db.reference(path, app=app)


def test_initial_put_then_set(rtdb_app: Any, listen: Any) -> None:
    ref(rtdb_app, "room").set({"topic": "hi"})
    with listen(ref(rtdb_app, "room")) as events:
        ref(rtdb_app, "room/topic").set("bye")
        ref(rtdb_app, "room").set({"fresh": True})
        assert events.wait(3) == [
            ("put", "/", {"topic": "hi"}),
            ("put", "/topic", "bye"),
            ("put", "/", {"fresh": True}),
        ]


def test_initial_put_of_missing_node_is_null(rtdb_app: Any, listen: Any) -> None:
    with listen(ref(rtdb_app, "nothing/here")) as events:
        assert events.wait(1) == [("put", "/", None)]


def test_update_is_one_patch_with_keys_as_sent(rtdb_app: Any, listen: Any) -> None:
    ref(rtdb_app, "r").set({"a": 1})
    with listen(ref(rtdb_app, "r")) as events:
        ref(rtdb_app, "r").update({"a": 0, "b/d": 0})
        ref(rtdb_app, "r/b").update({"e": [1, 2]})
        assert events.wait(3)[1:] == [
            ("patch", "/", {"a": 0, "b/d": 0}),
            ("patch", "/b", {"e": [1, 2]}),
        ]


def test_push_and_delete(rtdb_app: Any, listen: Any) -> None:
    with listen(ref(rtdb_app, "/")) as events:
        key = ref(rtdb_app, "msgs").push({"text": "hello"}).key
        ref(rtdb_app, f"msgs/{key}").delete()
        assert events.wait(3)[1:] == [
            ("put", f"/msgs/{key}", {"text": "hello"}),
            ("put", f"/msgs/{key}", None),
        ]


def test_ancestor_overwrite_reaches_descendant_listener(rtdb_app: Any, listen: Any) -> None:
    ref(rtdb_app, "a/b/c").set(1)
    with listen(ref(rtdb_app, "a/b/c")) as events:
        ref(rtdb_app, "a").set({"b": {"c": 2}})
        ref(rtdb_app, "a").set({"b": {"c": 2}, "x": 1})  # listener's value unchanged: nothing
        ref(rtdb_app, "/").update({"a/b": None})
        ref(rtdb_app, "/").update({"a/b/c/d": 5})  # a key inside the listener: rebased patch
        assert events.wait(4) == [
            ("put", "/", 1),
            ("put", "/", 2),
            ("put", "/", None),
            ("patch", "/", {"d": 5}),
        ]
        ref(rtdb_app, "/").delete()
        assert events.wait(5)[4] == ("put", "/", None)


def test_siblings_get_nothing(rtdb_app: Any, listen: Any) -> None:
    with listen(ref(rtdb_app, "left")) as left, listen(ref(rtdb_app, "left/deep")) as deep:
        ref(rtdb_app, "right").set(1)
        ref(rtdb_app, "leftover").set(1)
        ref(rtdb_app, "left/other").set(1)
        ref(rtdb_app, "/").update({"right": 2, "left/other": 2})
        ref(rtdb_app, "left/deep").set("mine")  # a marker both must see, after all of the above
        assert left.wait(4)[1:] == [
            ("put", "/other", 1),
            ("patch", "/", {"other": 2}),
            ("put", "/deep", "mine"),
        ]
        assert deep.wait(2) == [("put", "/", None), ("put", "/", "mine")]
        time.sleep(0.05)
        assert len(left.events) == 4 and len(deep.events) == 2


def test_several_listeners_and_unicode(rtdb_app: Any, listen: Any) -> None:
    with listen(ref(rtdb_app, "u")) as one, listen(ref(rtdb_app, "u")) as two:
        ref(rtdb_app, "u/ü").set("Zoë ✓ 🙂")
        assert one.wait(2)[1] == two.wait(2)[1] == ("put", "/ü", "Zoë ✓ 🙂")


def test_callback_latency_is_small(rtdb_app: Any, listen: Any) -> None:
    with listen(ref(rtdb_app, "fast")) as events:
        start = time.perf_counter()
        ref(rtdb_app, "fast").set(1)
        events.wait(2, timeout=1.0)
        assert time.perf_counter() - start < 0.5


def test_close_is_quick_and_clean(rtdb_app: Any) -> None:
    received: list[Any] = []
    registration = ref(rtdb_app, "c").listen(received.append)
    deadline = time.monotonic() + 5
    while not received and time.monotonic() < deadline:
        time.sleep(0.01)
    start = time.perf_counter()
    registration.close()
    # woken by the next keep-alive (0.2 s here); the thread ends without an exception, which
    # pytest would otherwise report as an unhandled thread exception
    assert time.perf_counter() - start < 1.0
    assert not registration._thread.is_alive()
