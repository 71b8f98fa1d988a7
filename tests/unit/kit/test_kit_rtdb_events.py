"""The RTDB event applier and the SSE parser, fed hand-written events."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firebase_sync import errors
from firebase_sync._wire.rtdb_events import Absent, RtdbView
from firebase_sync._wire.sse import SseEvent, SseParser


def changes(
    view: RtdbView, event: str, path: str, data: object
) -> dict[str, tuple[object, object]]:
    return {c.key: (c.before, c.after) for c in view.apply(event, {"path": path, "data": data})}


def seeded() -> RtdbView:
    view = RtdbView()
    changes(
        view, "put", "/", {"p1": {"name": "lamp", "price": 10}, "p2": {"name": "desk", "price": 90}}
    )
    return view


def test_initial_put_adds_every_child() -> None:
    view = RtdbView()
    out = changes(view, "put", "/", {"p1": {"price": 1}, "p2": {"price": 2}})
    assert out == {"p1": (Absent, {"price": 1}), "p2": (Absent, {"price": 2})}
    assert view.full_puts == 1


def test_full_resend_of_the_same_data_changes_nothing() -> None:
    view = seeded()
    assert (
        changes(
            view,
            "put",
            "/",
            {"p2": {"price": 90, "name": "desk"}, "p1": {"name": "lamp", "price": 10}},
        )
        == {}
    )
    assert view.full_puts == 2


def test_full_resend_reports_only_real_differences() -> None:
    view = seeded()
    out = changes(view, "put", "/", {"p1": {"name": "lamp", "price": 11}, "p3": {"name": "x"}})
    assert out == {
        "p1": ({"name": "lamp", "price": 10}, {"name": "lamp", "price": 11}),
        "p2": ({"name": "desk", "price": 90}, Absent),
        "p3": (Absent, {"name": "x"}),
    }


def test_nested_put_modifies_one_child() -> None:
    view = seeded()
    out = changes(view, "put", "/p1/price", 12)
    assert out == {"p1": ({"name": "lamp", "price": 10}, {"name": "lamp", "price": 12})}


def test_put_null_deletes_and_prunes_empty_parents() -> None:
    view = RtdbView()
    changes(view, "put", "/", {"a": {"b": {"c": 1}}, "z": 1})
    assert changes(view, "put", "/a/b/c", None) == {"a": ({"b": {"c": 1}}, Absent)}
    assert view.value == {"z": 1}
    assert changes(view, "put", "/z", None) == {"z": (1, Absent)}
    assert view.value is None and view.children == {}


def test_deleting_something_absent_changes_nothing() -> None:
    view = seeded()
    assert changes(view, "put", "/p9", None) == {}
    assert changes(view, "put", "/p1/name/deeper", None) == {}
    assert view.children["p1"] == {"name": "lamp", "price": 10}


def test_patch_with_nested_keys_and_deletes() -> None:
    view = seeded()
    out = changes(view, "patch", "/", {"p1/price": 11, "p2": None, "p3": {"name": "new"}})
    assert out == {
        "p1": ({"name": "lamp", "price": 10}, {"name": "lamp", "price": 11}),
        "p2": ({"name": "desk", "price": 90}, Absent),
        "p3": (Absent, {"name": "new"}),
    }


def test_patch_below_a_child_and_no_op_patch() -> None:
    view = seeded()
    assert changes(view, "patch", "/p1", {"price": 10}) == {}
    out = changes(view, "patch", "/p1", {"stock": 3})
    assert out["p1"][1] == {"name": "lamp", "price": 10, "stock": 3}


def test_arrays_are_children_by_index() -> None:
    view = RtdbView()
    changes(view, "put", "/", ["a", "b"])
    assert dict(view.children) == {"0": "a", "1": "b"}
    assert changes(view, "put", "/1", "c") == {"1": ("b", "c")}


def test_primitive_root_has_no_children() -> None:
    view = RtdbView()
    assert changes(view, "put", "/", 5) == {}
    assert changes(view, "put", "/a", 1) == {"a": (Absent, 1)}


@pytest.mark.parametrize("payload", [None, {"data": 1}, {"path": 3, "data": 1}])
def test_malformed_events_are_protocol_errors(payload: object) -> None:
    with pytest.raises(errors.ProtocolError):
        RtdbView().apply("put", payload)
    with pytest.raises(errors.ProtocolError):
        RtdbView().apply("patch", {"path": "/", "data": [1]})


keys = st.sampled_from(["a", "b", "c"])
values = st.none() | st.integers(0, 3) | st.dictionaries(keys, st.integers(0, 3), max_size=2)


@given(
    st.lists(
        st.tuples(st.sampled_from(["put", "patch"]), st.lists(keys, max_size=2), values),
        max_size=12,
    )
)
def test_changes_replayed_reproduce_the_tree(events: list[tuple[str, list[str], object]]) -> None:
    view = RtdbView()
    mirror: dict[str, object] = {}
    for kind, path, data in events:
        if kind == "patch":
            data = {"x": data}
        for change in view.apply(kind, {"path": "/" + "/".join(path), "data": data}):
            assert change.before == mirror.get(change.key, Absent)
            if change.after is Absent:
                del mirror[change.key]
            else:
                mirror[change.key] = change.after
        assert mirror == dict(view.children)


def test_sse_parser_handles_split_chunks_crlf_comments_and_utf8() -> None:
    parser = SseParser()
    stream = (
        'event: put\ndata: {"path":"/","data":"Zoë ✓"}\n\n'
        ": a comment\n\n"
        "event: keep-alive\r\ndata: null\r\n\r\n"
        'retry: 200\nid: 7\nevent: patch\ndata: {"a":\ndata: 1}\n\n'
    ).encode()
    events: list[SseEvent] = []
    for i in range(0, len(stream), 3):  # also splits inside multi-byte characters
        events.extend(parser.feed(stream[i : i + 3]))
    assert [e.event for e in events] == ["put", "keep-alive", "patch"]
    assert "Zoë ✓" in events[0].data
    assert events[2].data == '{"a":\n1}' and events[2].id == "7"
    assert parser.retry_ms == 200
