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

**Deadlines.** :class:`Deadlines` is the one place that says how long any network call of the
kit may take: connect, silence while reading, one attempt of a unary call, a stream's first
byte, a stream's silence, and each request of an offline replay. Every repository takes one
(``deadlines=``); a silent backend becomes a retryable
:class:`~firebase_sync.errors.TransportTimeout`. A call's worst case is therefore
``deadlines.request`` per attempt, times ``RetryPolicy.attempts``, plus the waits between them,
and never more than ``RetryPolicy.deadline`` plus one attempt.

**Reconnects.** :func:`keep_listening` is the one reconnect driver of every listener (both
databases): the first retry is immediate, then full-jitter waits double from
``RetryPolicy.initial`` up to ``RetryPolicy.maximum``; a successful sync resets the count;
revoked credentials count as failures like any other. :data:`LISTENER_RECONNECT` caps waits at
1 s so that a source is synced again within about a second of the backend's return; a larger
cap trades that latency for fewer reconnect attempts during long outages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import NoReturn, ParamSpec, TypeVar

import tenacity
from tenacity.asyncio import AsyncRetrying
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from .errors import ConnectError, FirebaseSyncError, TransportTimeout, map_exception

__all__ = [
    "DEADLINES",
    "LISTENER_RECONNECT",
    "Backoff",
    "Deadlines",
    "RetryPolicy",
    "Translate",
    "classify",
    "is_transient",
    "keep_listening",
    "should_retry",
]

P = ParamSpec("P")
R = TypeVar("R")
Sleep = Callable[[float], Awaitable[None]]
#: an adapter's wire translator: a foreign exception (and the path concerned) to our error
Translate = Callable[..., FirebaseSyncError]


@dataclass(frozen=True, slots=True)
class Deadlines:
    """How long each network step of the kit may take, in seconds (see the module docstring).

    ``connect``: opening a connection (TCP and TLS). ``read``: silence while a reply is read.
    ``request``: one attempt of a unary call (REST request, gRPC call), start to end.
    ``first_byte``: a stream (RTDB event stream, Firestore Listen) from opening to its first
    event. ``idle``: silence on an open RTDB event stream (the server sends ``keep-alive``
    events well within it). ``replay``: each request of an offline replay.
    """

    connect: float = 5.0
    read: float = 10.0
    request: float = 15.0
    first_byte: float = 10.0
    idle: float = 60.0
    replay: float = 10.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "request", "first_byte", "idle", "replay"):
            if not getattr(self, name) > 0:
                raise ValueError(f"deadline {name} must be positive")


#: The kit's default deadlines.
DEADLINES = Deadlines()


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
        self,
        fn: Callable[[], Awaitable[R]],
        *,
        idempotent: bool,
        path: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 -- a per-attempt deadline, not a wait
        translate: Translate = map_exception,
    ) -> R:
        """Await ``fn()`` with retries; raises the last error, typed (original as cause).

        ``timeout`` bounds each attempt (a miss is a retryable ``TransportTimeout``);
        ``translate`` is the adapter's wire translator (anything it does not know is an
        ``InternalError``, raised at once).
        """
        async for attempt in self.retrying(idempotent=idempotent):
            with attempt:
                return await attempt_once(fn, path=path, timeout=timeout, translate=translate)
        raise AssertionError("unreachable: tenacity re-raises or returns")  # pragma: no cover

    def backoff(self) -> Backoff:
        """A reconnect backoff for a long-lived listener under this policy."""
        return Backoff(self)


async def attempt_once(
    fn: Callable[[], Awaitable[R]],
    *,
    path: str | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 -- a deadline, not a wait
    translate: Translate = map_exception,
) -> R:
    """Await ``fn()`` once within ``timeout``; every failure comes out typed."""
    try:
        async with asyncio.timeout(timeout) as scope:
            return await fn()
    except FirebaseSyncError:
        raise
    except TimeoutError as exc:
        if scope.expired():
            raise TransportTimeout(
                f"no reply within the {timeout:g} s deadline", path=path
            ) from exc
        raise translate(exc, path=path) from exc
    except Exception as exc:
        raise translate(exc, path=path) from exc


#: How listeners reconnect: first retry at once, then waits in a window doubling from 0.1 s to
#: 1 s; they give up after 10 minutes of consecutive failures. A successful sync resets it.
LISTENER_RECONNECT = RetryPolicy(attempts=None, initial=0.1, maximum=1.0, deadline=600.0)


class Backoff:
    """Successive waits for a reconnect loop; :meth:`reset` after a healthy connection.

    The first failure waits nothing (a single cut is usually over by then); later ones use
    the policy's wait strategy. ``exhausted`` turns true once ``policy.attempts`` consecutive
    failures happened or they have lasted ``policy.deadline`` seconds.
    """

    def __init__(self, policy: RetryPolicy, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.failures = 0
        self._clock = clock
        self._since: float | None = None
        self._wait = policy.wait_strategy()
        self._state = tenacity.RetryCallState(AsyncRetrying(), None, (), {})

    @property
    def exhausted(self) -> bool:
        if self.policy.attempts is not None and self.failures >= self.policy.attempts:
            return True
        deadline = self.policy.deadline
        return (
            deadline is not None
            and self._since is not None
            and (self._clock() - self._since >= deadline)
        )

    def next_delay(self) -> float:
        """Record one more failure and return how long to wait before the next attempt."""
        self.failures += 1
        if self._since is None:
            self._since = self._clock()
        if self.failures == 1:
            return 0.0
        self._state.attempt_number = self.failures - 1
        return float(self._wait(self._state))

    async def wait(self) -> float:
        """Sleep :meth:`next_delay` seconds (with the policy's sleep); return the delay."""
        delay = self.next_delay()
        await self.policy.sleep(delay)
        return delay

    def reset(self) -> None:
        self.failures = 0
        self._since = None


async def keep_listening(
    session: Callable[[Backoff], Awaitable[FirebaseSyncError]],
    *,
    policy: RetryPolicy,
    report: Callable[[int, float, FirebaseSyncError], Awaitable[None]],
    resumable: Callable[[FirebaseSyncError], bool],
) -> NoReturn:
    """The reconnect driver of every listener: run ``session`` again and again.

    ``session(backoff)`` runs one connection and returns why it ended (it calls
    ``backoff.reset()`` once synced, and raises what must end the listener). An error that is
    not ``resumable``, or one more failure once the backoff is exhausted, is raised; otherwise
    it is reported (``report(attempt, delay, error)``) and the next session starts after the
    backoff's delay.
    """
    backoff = Backoff(policy)
    while True:
        error = await session(backoff)
        if not resumable(error) or backoff.exhausted:
            raise error
        delay = backoff.next_delay()
        await report(backoff.failures, delay, error)
        if delay > 0:
            await policy.sleep(delay)
