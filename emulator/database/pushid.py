"""Chronological push IDs, as Firebase's ``NextPushId`` makes them.

Twenty characters over the ASCII-ordered alphabet ``-0-9A-Z_a-z``: eight encode the millisecond
timestamp (most significant first), twelve are random. Within one millisecond (or when the clock
goes backwards) the previous random part is incremented instead, so IDs sort in creation order.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

ALPHABET = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
_BASE = len(ALPHABET)


class PushIdGenerator:
    """Makes strictly increasing push IDs; ``clock`` returns epoch milliseconds."""

    def __init__(
        self,
        clock: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        rng: random.Random | None = None,
    ) -> None:
        self._clock = clock
        self._rng = rng or random.SystemRandom()
        self._last_ms = -1
        self._last_random = [0] * 12

    def __call__(self) -> str:
        """The next push ID."""
        now = self._clock()
        if now > self._last_ms:
            self._last_random = [self._rng.randrange(_BASE) for _ in range(12)]
            self._last_ms = now
        else:
            self._increment()
        stamp = []
        ms = self._last_ms
        for _ in range(8):
            stamp.append(ALPHABET[ms % _BASE])
            ms //= _BASE
        return "".join(reversed(stamp)) + "".join(ALPHABET[d] for d in self._last_random)

    def _increment(self) -> None:
        digits = self._last_random
        i = 11
        while i >= 0 and digits[i] == _BASE - 1:
            digits[i] = 0
            i -= 1
        if i < 0:
            # 64**12 IDs in one millisecond: move to the next millisecond instead of wrapping.
            self._last_ms += 1
        else:
            digits[i] += 1
