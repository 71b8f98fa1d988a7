"""The one retry policy: which failures are transient, how long to wait, when to give up.

Built on tenacity. The decision is a pure function of the (typed) exception:

* transient: :class:`~firebase_sync.errors.Unavailable` (gRPC UNAVAILABLE, HTTP 503 and other
  5xx), :class:`DeadlineExceeded`, :class:`ResourceExhausted` (gRPC RESOURCE_EXHAUSTED, HTTP
  429), and transport failures (connect errors, lost connections, timeouts);
* everything else is permanent and raised at once.

Idempotent calls (reads, set, update, delete) are retried on every transient failure.
Non-idempotent ones (RTDB ``push``, Firestore ``create``) are retried only when the request
provably never left (:class:`ConnectError`), so they are never applied twice.

Waits use "full jitter" exponential backoff (a random wait in a window that doubles, capped),
and the last typed error is re-raised when attempts or the deadline run out. ``sleep`` is
injectable so tests need no real time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

import tenacity
from tenacity.asyncio import AsyncRetrying
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from .errors import ConnectError, FirebaseSyncError, map_exception

__all__ = [
    "LISTENER_RECONNECT",
    "Backoff",
    "RetryPolicy",
    "classify",
    "is_transient",
    "should_retry",
]

P = ParamSpec("P")
R = TypeVar("R")
Sleep = Callable[[float], Awaitable[None]]


def classify(exc: BaseException) -> FirebaseSyncError:
    """The typed error for ``exc`` (foreign exceptions are mapped first)."""
    return map_exception(exc)


def is_transient(exc: BaseException) -> bool:
    """True if trying again later may succeed."""
    if isinstance(exc, asyncio.CancelledError):
        return False
    return bool(classify(exc).retryable)


def should_retry(exc: BaseException, *, idempotent: bool) -> bool:
    """True if the call that raised ``exc`` may be made again without harm."""
    if not is_transient(exc):
        return False
    return idempotent or isinstance(classify(exc), ConnectError)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    ``attempts`` counts the first try (``None`` = no limit), ``initial`` is the first backoff
    window in seconds, doubling up to ``maximum``; ``deadline`` bounds the total time
    (``None`` = no bound).
    """

    attempts: int | None = 5
    initial: float = 0.1
    maximum: float = 5.0
    deadline: float | None = 60.0
    sleep: Sleep = field(default=asyncio.sleep, compare=False)

    def wait_strategy(self) -> wait_base:
        """tenacity's wait: exponential backoff with full jitter, capped at ``maximum``."""
        return tenacity.wait_random_exponential(multiplier=self.initial, max=self.maximum)

    def stop_strategy(self) -> stop_base:
        """tenacity's stop: after ``attempts`` tries or ``deadline`` seconds, whichever first."""
        stop: stop_base = tenacity.stop_never
        if self.attempts is not None:
            stop = tenacity.stop_after_attempt(self.attempts)
        if self.deadline is not None:
            stop = stop | tenacity.stop_after_delay(self.deadline)
        return stop

    def retrying(self, *, idempotent: bool = True) -> AsyncRetrying:
        """A tenacity ``AsyncRetrying`` for this policy; expects typed errors."""
        return AsyncRetrying(
            sleep=self.sleep,
            stop=self.stop_strategy(),
            wait=self.wait_strategy(),
            retry=tenacity.retry_if_exception(lambda e: should_retry(e, idempotent=idempotent)),
            reraise=True,
        )

    async def call(
        self,
        fn: Callable[P, Awaitable[R]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Await ``fn(*args, **kwargs)`` as an idempotent call under this policy."""
        return await self.run(lambda: fn(*args, **kwargs), idempotent=True)

    async def run(
        self, fn: Callable[[], Awaitable[R]], *, idempotent: bool, path: str | None = None
    ) -> R:
        """Await ``fn()`` with retries; raises the last error, typed (original as cause)."""
        async for attempt in self.retrying(idempotent=idempotent):
            with attempt:
                try:
                    return await fn()
                except FirebaseSyncError:
                    raise
                except Exception as exc:
                    raise map_exception(exc, path=path) from exc
        raise AssertionError("unreachable: tenacity re-raises or returns")  # pragma: no cover

    def backoff(self) -> Backoff:
        """A reconnect backoff for a long-lived listener under this policy."""
        return Backoff(self)


#: How long listeners keep reconnecting before giving up: 12 consecutive failures, waits
#: growing from 0.25 s to 30 s (a few minutes in all). A successful sync resets the count.
LISTENER_RECONNECT = RetryPolicy(attempts=12, initial=0.25, maximum=30.0, deadline=None)


class Backoff:
    """Successive waits for a reconnect loop; :meth:`reset` after a healthy connection.

    Uses the policy's wait strategy, so reconnects and calls back off the same way.
    ``exhausted`` turns true once ``policy.attempts`` consecutive failures happened.
    """

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.failures = 0
        self._wait = policy.wait_strategy()
        self._state = tenacity.RetryCallState(AsyncRetrying(), None, (), {})

    @property
    def exhausted(self) -> bool:
        return self.policy.attempts is not None and self.failures >= self.policy.attempts

    def next_delay(self) -> float:
        """Record one more failure and return how long to wait before the next attempt."""
        self.failures += 1
        self._state.attempt_number = self.failures
        return float(self._wait(self._state))

    async def wait(self) -> float:
        """Sleep :meth:`next_delay` seconds (with the policy's sleep); return the delay."""
        delay = self.next_delay()
        await self.policy.sleep(delay)
        return delay

    def reset(self) -> None:
        self.failures = 0
