"""The pending-write overlay on its own: pure state, driven call by call."""

from __future__ import annotations

from firebase_sync import Document, Increment
from firebase_sync.offline.cache import PendingWrite
from firebase_sync.offline.ops import WriteOp
from firebase_sync.offline.overlay import Overlay, PendingWrites


class Item(Document):
    name: str = ""
    stock: int = 0


def pending(seq: int, op: WriteOp) -> PendingWrite:
    return PendingWrite(
        seq, f"w{seq}", "src", op.key, op.kind, op.data, None, 0.0, 0, "pending", None
    )


def test_pending_writes_keep_queue_order_per_key() -> None:
    first = pending(1, WriteOp.update("a", {"stock": 1}))
    other = pending(2, WriteOp.delete("b"))
    second = pending(3, WriteOp.update("a", {"stock": 2}))
    queue = PendingWrites([first, other, second])
    assert queue.of("a") == [first, second] and queue.keys() == ["a", "b"]
    queue.remove(first)
    queue.remove(first)  # unknown now: ignored
    queue.remove(other)
    assert queue.of("a") == [second] and queue.of("b") == () and queue.keys() == ["a"]


def test_desired_lays_queued_writes_over_the_server_value() -> None:
    queue = PendingWrites()
    overlay = Overlay(Item, queue)
    overlay.received("a", Item(id="a", name="a", stock=3))
    assert overlay.desired("a") == (Item(id="a", name="a", stock=3), False)
    queue.add(pending(1, WriteOp.update("a", {"stock": Increment(2)})))
    queue.add(pending(2, WriteOp.set(Item(id="n", name="new"))))
    assert overlay.desired("a") == (Item(id="a", name="a", stock=5), True)
    assert overlay.desired("n") == (Item(id="n", name="new"), True)
    assert overlay.keys() == ["a", "n"]
    queue.add(pending(3, WriteOp.delete("a")))
    assert overlay.desired("a") == (None, True)


def test_an_echo_is_not_applied_twice_and_an_ack_is_held_until_seen() -> None:
    queue = PendingWrites()
    overlay = Overlay(Item, queue)
    overlay.received("a", Item(id="a", stock=1))
    write = pending(1, WriteOp.update("a", {"stock": Increment(1)}))
    queue.add(write)
    stored = Item(id="a", stock=2)
    overlay.writing(write, stored)
    overlay.received("a", stored)  # the echo, before the acknowledgement
    assert overlay.desired("a") == (stored, False)  # the echo holds it: not 3
    queue.remove(write)
    overlay.settled(write, applied=True, stored=stored)
    assert overlay.desired("a") == (stored, False)

    second = pending(2, WriteOp.update("a", {"stock": Increment(5)}))
    queue.add(second)
    overlay.writing(second, Item(id="a", stock=7))
    queue.remove(second)
    overlay.settled(second, applied=True, stored=Item(id="a", stock=7))
    assert overlay.desired("a") == (Item(id="a", stock=7), True)  # held, flagged
    overlay.received("a", Item(id="a", stock=7))
    assert overlay.desired("a") == (Item(id="a", stock=7), False)
