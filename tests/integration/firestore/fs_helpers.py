"""Small helpers shared by the Firestore integration tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: the thread in which the python client's watch closes itself (and re-raises the final
#: status) when the server ends the Listen stream.
WATCH_CLOSE_THREAD = "Thread-OnRpcTerminated"


class Snapshots:
    """Collects ``on_snapshot`` callbacks and lets a test wait for a condition."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[Any], list[Any], Any]] = []
        self._cond = threading.Condition()

    def __call__(self, docs: list[Any], changes: list[Any], read_time: Any) -> None:
        with self._cond:
            self.calls.append((list(docs), list(changes), read_time))
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[list[Any], list[Any], Any]]:
        """Block until at least ``count`` callbacks arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.calls) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} snapshots, got {len(self.calls)}")
                self._cond.wait(left)
            return list(self.calls)

    def last(self) -> tuple[list[Any], list[Any], Any]:
        return self.calls[-1]


def changes_of(call: tuple[list[Any], list[Any], Any]) -> list[tuple[str, str]]:
    """(type, id) for each change of one callback, in the client's order."""
    return [(c.type.name, c.document.id) for c in call[1]]


def indexes_of(call: tuple[list[Any], list[Any], Any]) -> list[tuple[str, int, int]]:
    """(id, old_index, new_index) per change. The python client derives these from its
    tree's insertion counters, so they are only positional for additions to a fresh tree."""
    return [(c.document.id, c.old_index, c.new_index) for c in call[1]]


def ids(call: tuple[list[Any], list[Any], Any]) -> list[str]:
    return [d.id for d in call[0]]


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@contextmanager
def watch_terminations(timeout: float = 10.0) -> Iterator[list[BaseException]]:
    """Collect what the client's watch raises in its closing thread, and wait for every such
    thread started inside the block to finish before leaving it.

    The client marks a watch closed *before* its closing thread raises the final status, so
    without the wait that exception can surface during the next test (flaky under load).
    Exceptions from any other thread still reach pytest.
    """
    before = set(threading.enumerate())
    caught: list[BaseException] = []
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.thread is not None and args.thread.name == WATCH_CLOSE_THREAD:
            if args.exc_value is not None:
                caught.append(args.exc_value)
            return
        previous(args)

    threading.excepthook = hook
    try:
        yield caught
        deadline = time.monotonic() + timeout
        for thread in set(threading.enumerate()) - before:
            if thread.name == WATCH_CLOSE_THREAD:
                thread.join(max(0.0, deadline - time.monotonic()))
                assert not thread.is_alive(), "the watch's closing thread did not finish"
    finally:
        threading.excepthook = previous
