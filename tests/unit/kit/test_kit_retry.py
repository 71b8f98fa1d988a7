"""The retry policy, with an injected sleep: no real time passes."""

from __future__ import annotations

import grpc
import pytest

from firebase_sync import errors
from firebase_sync.retry import RetryPolicy, is_transient, should_retry


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
        (rpc(grpc.StatusCode.UNAVAILABLE), True),
        (rpc(grpc.StatusCode.DEADLINE_EXCEEDED), True),
        (rpc(grpc.StatusCode.RESOURCE_EXHAUSTED), True),
        (rpc(grpc.StatusCode.NOT_FOUND), False),
        (rpc(grpc.StatusCode.ABORTED), False),
        (errors.http_error(429, ""), True),
        (errors.http_error(500, ""), True),
        (errors.http_error(503, ""), True),
        (errors.http_error(400, ""), False),
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (ValueError("bug"), False),
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
    assert await policy.run(call, idempotent=True) == "ok"
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
        await policy.run(call, idempotent=True, path="products/p1")
    assert calls["n"] == 3
    assert caught.value.__cause__ is original
    assert caught.value.path == "products/p1"


async def test_permanent_errors_are_not_retried() -> None:
    sleep = FakeSleep()
    call, calls = flaky([rpc(grpc.StatusCode.NOT_FOUND)])
    with pytest.raises(errors.NotFound):
        await RetryPolicy(sleep=sleep).run(call, idempotent=True)
    assert calls["n"] == 1 and sleep.delays == []


async def test_push_is_not_retried_after_a_lost_connection() -> None:
    sleep = FakeSleep()
    call, calls = flaky([ConnectionResetError()])
    with pytest.raises(errors.ConnectionLost):
        await RetryPolicy(sleep=sleep).run(call, idempotent=False)
    assert calls["n"] == 1


async def test_push_is_retried_when_the_connection_was_refused() -> None:
    sleep = FakeSleep()
    call, calls = flaky([ConnectionRefusedError()])
    assert await RetryPolicy(sleep=sleep).run(call, idempotent=False) == "ok"
    assert calls["n"] == 2


async def test_call_passes_arguments() -> None:
    async def add(a: int, b: int) -> int:
        return a + b

    assert await RetryPolicy().call(add, 1, b=2) == 3


async def test_backoff_grows_caps_resets_and_exhausts() -> None:
    sleep = FakeSleep()
    backoff = RetryPolicy(attempts=4, initial=0.5, maximum=2.0, sleep=sleep).backoff()
    delays = [await backoff.wait() for _ in range(4)]
    assert all(0 <= d <= 2.0 for d in delays)
    assert delays == sleep.delays
    assert backoff.exhausted
    backoff.reset()
    assert not backoff.exhausted and backoff.failures == 0
    assert backoff.next_delay() <= 0.5
