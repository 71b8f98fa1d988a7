"""Push IDs."""

from __future__ import annotations

import random

from firebase_sync_emulator.database.pushid import ALPHABET, PushIdGenerator


def test_shape_and_alphabet() -> None:
    push_id = PushIdGenerator()()
    assert len(push_id) == 20
    assert set(push_id) <= set(ALPHABET)
    assert list(ALPHABET) == sorted(ALPHABET)


def test_timestamp_prefix_is_big_endian_base64() -> None:
    generator = PushIdGenerator(clock=lambda: 0, rng=random.Random(1))
    assert generator()[:8] == "--------"
    generator = PushIdGenerator(clock=lambda: 65, rng=random.Random(1))
    assert generator()[:8] == "------00"  # 65 = 1 * 64 + 1


def test_ids_increase_within_one_millisecond_and_across() -> None:
    now = [1_700_000_000_000]
    generator = PushIdGenerator(clock=lambda: now[0], rng=random.Random(7))
    ids = []
    for step in range(300):
        if step % 100 == 99:
            now[0] += 1
        ids.append(generator())
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_clock_going_backwards_keeps_order() -> None:
    now = [5000]
    generator = PushIdGenerator(clock=lambda: now[0])
    first = generator()
    now[0] = 10
    assert generator() > first


def test_random_part_carries_when_saturated() -> None:
    class Max(random.Random):
        def randrange(self, *args: object, **kwargs: object) -> int:
            return 63

    generator = PushIdGenerator(clock=lambda: 100, rng=Max())
    first = generator()
    assert first.endswith("z" * 12)
    second = generator()
    assert second > first
