"""The retry policy, with an injected sleep: no real time passes."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from firebase_sync import errors
from firebase_sync.adapters._firestore_errors import translate as grpc_wire
from firebase_sync.adapters._rtdb_http import translate as http_wire
from firebase_sync.retry import (
    Backoff,
    Deadlines,
    RetryPolicy,
    attempt_once,
    is_transient,
    keep_listening,
    should_retry,
)


class FakeSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def flaky(failures: list[BaseException], result: str = "ok"):  # type: ignore[no-untyped-def]
    calls = {"n": 0}

    async def call() -> str:
        calls["n"] += 1
        if failures:
            raise failures.pop(0)
        return result

    return call, calls


def rpc(code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), code.name)


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (grpc_wire(rpc(grpc.StatusCode.UNAVAILABLE)), True),
        (grpc_wire(rpc(grpc.StatusCode.DEADLINE_EXCEEDED)), True),
        (grpc_wire(rpc(grpc.StatusCode.RESOURCE_EXHAUSTED)), True),
        (grpc_wire(rpc(grpc.StatusCode.NOT_FOUND)), False),
        (grpc_wire(rpc(grpc.StatusCode.ABORTED)), False),
        (errors.http_error(429, ""), True),
        (errors.http_error(500, ""), True),
        (errors.http_error(503, ""), True),
        (errors.http_error(400, ""), False),
        (http_wire(ConnectionRefusedError()), True),
        (http_wire(TimeoutError()), True),
        # Untranslated exceptions are bugs: never transient, whatever their type.
        (ValueError("bug"), False),
        (ConnectionRefusedError(), False),
    ],
)
def test_classify(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_non_idempotent_calls_retry_only_when_nothing_was_sent() -> None:
    assert should_retry(errors.ConnectError("refused"), idempotent=False)
    assert not should_retry(errors.Unavailable("maybe applied"), idempotent=False)
    assert not should_retry(errors.TransportTimeout("maybe applied"), idempotent=False)
    assert should_retry(errors.Unavailable("maybe applied"), idempotent=True)


async def test_transient_failures_are_retried_with_growing_jittered_waits() -> None:
    sleep = FakeSleep()
    policy = RetryPolicy(attempts=5, initial=1.0, maximum=100.0, sleep=sleep)
    call, calls = flaky([rpc(grpc.StatusCode.UNAVAILABLE)] * 3)
    assert await policy.run(call, idempotent=True, translate=grpc_wire) == "ok"
    assert calls["n"] == 4
    assert len(sleep.delays) == 3
    # full jitter: each wait lies in a window that doubles
    for attempt, delay in enumerate(sleep.delays, start=1):
        assert 0 <= delay <= 2 ** (attempt - 1) * 1.0 * 2


async def test_last_typed_error_is_reraised_with_its_cause() -> None:
    sleep = FakeSleep()
    policy = RetryPolicy(attempts=3, sleep=sleep)
    original = rpc(grpc.StatusCode.UNAVAILABLE)
    call, calls = flaky(
        [rpc(grpc.StatusCode.UNAVAILABLE), rpc(grpc.StatusCode.UNAVAILABLE), original]
    )
    with pytest.raises(errors.Unavailable) as caught:
        await policy.run(call, idempotent=True, path="products/p1", translate=grpc_wire)
    assert calls["n"] == 3
    assert caught.value.__cause__ is original
    assert caught.value.path == "products/p1"


async def test_permanent_errors_are_not_retried() -> None:
    sleep = FakeSleep()
    call, calls = flaky([rpc(grpc.StatusCode.NOT_FOUND)])
    with pytest.raises(errors.NotFound):
        await RetryPolicy(sleep=sleep).run(call, idempotent=True, translate=grpc_wire)
    assert calls["n"] == 1 and sleep.delays == []


async def test_push_is_not_retried_after_a_lost_connection() -> None:
    sleep = FakeSleep()
    call, calls = flaky([ConnectionResetError()])
    with pytest.raises(errors.ConnectionLost):
        await RetryPolicy(sleep=sleep).run(call, idempotent=False, translate=http_wire)
    assert calls["n"] == 1


async def test_push_is_retried_when_the_connection_was_refused() -> None:
    sleep = FakeSleep()
    call, calls = flaky([ConnectionRefusedError()])
    assert await RetryPolicy(sleep=sleep).run(call, idempotent=False, translate=http_wire) == "ok"
    assert calls["n"] == 2


async def test_call_passes_arguments() -> None:
    async def add(a: int, b: int) -> int:
        return a + b

    assert await RetryPolicy().call(add, 1, b=2) == 3


async def test_backoff_retries_at_once_then_grows_caps_resets_and_exhausts() -> None:
    sleep = FakeSleep()
    backoff = RetryPolicy(attempts=4, initial=0.5, maximum=2.0, sleep=sleep).backoff()
    delays = [await backoff.wait() for _ in range(4)]
    assert delays[0] == 0.0  # the first retry is immediate
    assert all(0 <= d <= 2.0 for d in delays)
    assert delays == sleep.delays
    assert backoff.exhausted
    backoff.reset()
    assert not backoff.exhausted and backoff.failures == 0
    assert backoff.next_delay() == 0.0
    assert backoff.next_delay() <= 0.5


def test_backoff_gives_up_after_its_deadline_of_consecutive_failures() -> None:
    now = [100.0]
    policy = RetryPolicy(attempts=None, initial=0.1, maximum=1.0, deadline=30.0)
    backoff = Backoff(policy, clock=lambda: now[0])
    backoff.next_delay()
    now[0] += 29.0
    backoff.next_delay()
    assert not backoff.exhausted
    now[0] += 1.0
    assert backoff.exhausted
    backoff.reset()  # a successful sync starts the count again
    assert not backoff.exhausted


async def test_a_bug_is_not_retried_and_comes_out_as_internal_error() -> None:
    sleep = FakeSleep()
    call, calls = flaky([KeyError("oops")])
    with pytest.raises(errors.InternalError) as caught:
        await RetryPolicy(sleep=sleep).run(call, idempotent=True, translate=http_wire)
    assert calls["n"] == 1 and sleep.delays == []
    assert isinstance(caught.value.__cause__, KeyError)


async def test_a_silent_call_is_a_retryable_timeout_within_its_deadline() -> None:
    async def silent() -> None:
        await asyncio.sleep(10)

    started = asyncio.get_running_loop().time()
    with pytest.raises(errors.TransportTimeout) as caught:
        await attempt_once(silent, timeout=0.05, path="a")
    assert asyncio.get_running_loop().time() - started < 1
    assert caught.value.retryable


def test_deadlines_must_be_positive() -> None:
    with pytest.raises(ValueError, match="connect"):
        Deadlines(connect=0)


async def test_keep_listening_reports_backs_off_resets_and_raises_the_permanent() -> None:
    sleep = FakeSleep()
    policy = RetryPolicy(attempts=None, initial=0.5, maximum=1.0, deadline=None, sleep=sleep)
    outcomes: list[errors.FirebaseSyncError] = [
        errors.ConnectionLost("cut"),
        errors.ConnectionLost("cut"),
        errors.Unauthenticated("auth_revoked"),
        errors.PermissionDenied("cancel"),
    ]
    reports: list[tuple[int, float]] = []
    sessions = 0

    async def session(backoff: Backoff) -> errors.FirebaseSyncError:
        nonlocal sessions
        sessions += 1
        if sessions == 3:
            backoff.reset()  # this one synced before it was revoked
        return outcomes.pop(0)

    async def report(attempt: int, delay: float, error: errors.FirebaseSyncError) -> None:
        reports.append((attempt, delay))

    with pytest.raises(errors.PermissionDenied):
        await keep_listening(
            session,
            policy=policy,
            report=report,
            resumable=lambda e: e.retryable or isinstance(e, errors.Unauthenticated),
        )
    assert sessions == 4
    # immediate first retry, then a jittered wait; the revocation counts as a failure
    assert [attempt for attempt, _ in reports] == [1, 2, 1]
    assert reports[0][1] == 0.0 and 0 <= reports[1][1] <= 0.5 and reports[2][1] == 0.0
    assert sleep.delays == [d for _, d in reports if d > 0]
