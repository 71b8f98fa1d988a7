"""Namespaces, listener fan-out and the overflow policy (with a real event loop)."""

from __future__ import annotations

import asyncio

import pytest

from firebase_sync_emulator.database.events import Event
from firebase_sync_emulator.database.listeners import Listener, Signal
from firebase_sync_emulator.database.query import parse_query
from firebase_sync_emulator.database.state import DatabaseState
from firebase_sync_emulator.errors import ServiceError


def drain(listener: Listener) -> list[object]:
    items: list[object] = []
    while listener.pending:
        items.append(listener._queue.get_nowait())
    return items


async def test_initial_put_then_ordered_events() -> None:
    state = DatabaseState()
    state.write("ns", ("a",), lambda t: t.set(("a",), {"b": 1}))
    listener = Listener(("a",), None, asyncio.get_running_loop())
    state.subscribe("ns", listener)
    state.write("ns", ("a", "b"), lambda t: t.set(("a", "b"), 2))
    state.write("ns", ("x",), lambda t: t.set(("x",), 2))  # sibling: nothing
    state.write("ns", (), lambda t: t.update((), {"a/c": 3}))
    state.write("ns", (), lambda t: t.set((), None))
    state.write("other", ("a",), lambda t: t.set(("a",), 1))  # other namespace: nothing
    assert drain(listener) == [
        Event("put", "/", {"b": 1}),
        Event("put", "/b", 2),
        Event("patch", "/", {"c": 3}),
        Event("put", "/", None),
    ]


async def test_query_listener_gets_whole_window_when_it_changes() -> None:
    state = DatabaseState()
    query = parse_query({"orderBy": '"$value"', "limitToLast": "2"})
    listener = Listener(("s",), query, asyncio.get_running_loop())
    state.write("ns", ("s",), lambda t: t.set(("s",), {"a": 1, "b": 2, "c": 3}))
    state.subscribe("ns", listener)
    state.write("ns", ("s", "a"), lambda t: t.set(("s", "a"), 0))  # outside the window
    state.write("ns", ("s", "d"), lambda t: t.set(("s", "d"), 9))
    assert drain(listener) == [
        Event("put", "/", {"b": 2, "c": 3}),
        Event("put", "/", {"c": 3, "d": 9}),
    ]


async def test_slow_listener_is_cancelled_not_buffered_forever() -> None:
    state = DatabaseState()
    listener = Listener((), None, asyncio.get_running_loop(), max_pending=3)
    state.subscribe("ns", listener)
    for i in range(10):
        state.write("ns", ("k",), lambda t, i=i: t.set(("k",), i))  # type: ignore[misc]
    assert listener.overflowed
    assert drain(listener) == [Signal.CANCEL]


async def test_offer_from_another_thread_lands_on_the_loop() -> None:
    listener = Listener((), None, asyncio.get_running_loop())
    await asyncio.to_thread(listener.offer, Event("put", "/", 1))
    assert await asyncio.wait_for(listener.next(), 1) == Event("put", "/", 1)
    assert listener.delivered == 1


async def test_reset_forgets_unwatched_namespaces_and_notifies_listeners() -> None:
    state = DatabaseState()
    state.write("a", ("x",), lambda t: t.set(("x",), 1))
    state.write("b", ("x",), lambda t: t.set(("x",), 1))
    listener = Listener(("x",), None, asyncio.get_running_loop())
    state.subscribe("b", listener)
    state.reset()
    assert state.names() == ["b"]
    assert drain(listener) == [Event("put", "/", 1), Event("put", "/", None)]


def test_rules_are_stored_as_given() -> None:
    state = DatabaseState()
    assert '".read": true' in state.rules("x")
    text = '{\n  // comment\n  "rules": {".read": "auth != null"}\n}'
    state.set_rules("x", text)
    assert state.rules("x") == text


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000,  # deeper than the JSON parser recurses
        '{"rules": {}, "x": "\\ud800"}',  # an escaped lone surrogate
        '{"rules": {}, "x": "\ud800"}',  # a raw one (text given directly, not from UTF-8)
        '{"rules": {".read": NaN}}',
        '{"rules": {}, "n": ' + "9" * 5000 + "}",
    ],
)
def test_hostile_rules_are_refused_and_not_stored(text: str) -> None:
    state = DatabaseState()
    before = state.rules("x")
    with pytest.raises(ServiceError):
        state.set_rules("x", text)
    assert state.rules("x") == before
    with pytest.raises(ServiceError):
        DatabaseState(rules_text=text)
