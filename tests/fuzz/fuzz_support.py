"""Shared pieces of the emulator fuzz tests: budgets, hypothesis settings, raw HTTP access.

The emulators come from the shared plugin's session fixture ``emulators``; each fuzz test runs
its ``@given`` function *inside* the test body, so it can snapshot the data before and compare
after, and no function-scoped fixture is re-used across examples.

Budgets. Each fuzz test runs twice over: a ``ci`` variant with a small budget and a random seed
(printed in the test's output and the session summary; set ``FUZZ_SEED`` to replay a run), and
a ``full`` variant under the ``slow`` marker (skipped unless selected: ``pytest -m slow
tests/fuzz``), derandomized, with the full budget:
``FUZZ_EXAMPLES`` (default 10,000 requests per emulator) and ``FUZZ_RAW_EXAMPLES`` (default 500
raw-socket HTTP messages). ``FUZZ_CI_EXAMPLES`` (default 1,000) and ``FUZZ_CI_RAW_EXAMPLES``
(default 200) set the ``ci`` budgets.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, seed, settings

from firebase_sync.testing import xdist_worker

# one pair per xdist worker, so workers sharing an emulator never clear each other's data
_WORKER = f"-{xdist_worker()}" if xdist_worker() else ""
FUZZ_NAMESPACE = f"fuzz-seeded{_WORKER}"
SANDBOX_NAMESPACE = f"fuzz-sandbox{_WORKER}"


def budget(variable: str, default: int) -> int:
    """A positive example count read from the environment."""
    value = int(os.environ.get(variable, default))
    if value < 1:
        raise ValueError(f"{variable} must be positive, not {value}")
    return value


F = TypeVar("F", bound=Callable[..., Any])

#: The seed of this session's ``ci`` runs: ``FUZZ_SEED`` or a fresh random one.
SEED = int(os.environ.get("FUZZ_SEED") or random.SystemRandom().randrange(2**32))


@dataclass(frozen=True)
class Budget:
    """How many examples a fuzz run generates, and from which seed (``None``: derandomized)."""

    examples: int
    seed: int | None

    def describe(self) -> str:
        if self.seed is None:
            return f"{self.examples} derandomized examples"
        return f"{self.examples} examples, seed {self.seed} (replay with FUZZ_SEED={self.seed})"


def budgets(full_variable: str, full: int, ci_variable: str, ci: int) -> list[Any]:
    """The ``ci`` and ``full`` (slow) budgets of one fuzz test, for ``parametrize``."""
    full_budget = budget(full_variable, full)
    ci_budget = min(budget(ci_variable, ci), full_budget)
    return [
        pytest.param(Budget(ci_budget, SEED), id="ci"),
        pytest.param(Budget(full_budget, None), id="full", marks=pytest.mark.slow),
    ]


def fuzz_settings(run: Budget) -> Callable[[F], F]:
    """Generation-only hypothesis settings (and seed) for a fuzz run of ``run``'s size."""
    configured = settings(
        max_examples=run.examples,
        derandomize=run.seed is None,
        database=None,
        deadline=None,
        phases=[Phase.generate],  # no shrinking: a failure reports the request it sent
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=False,
    )
    # Printed so that a failing run's captured output names the seed that replays it.
    print(f"fuzz: {run.describe()}")

    def decorate(test: F) -> F:
        wrapped = configured(test)
        return wrapped if run.seed is None else seed(run.seed)(wrapped)

    return decorate


@dataclass
class Answer:
    """One HTTP response, fully read."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class KeepAliveClient:
    """A blocking HTTP/1.1 client on one keep-alive connection, reopened when closed."""

    def __init__(self, host: str, timeout: float = 10.0) -> None:
        self.host = host
        self.timeout = timeout
        self.reconnects = 0
        self._conn = http.client.HTTPConnection(host, timeout=timeout)

    def request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """Send one request; a connection the server closed is reopened once."""
        for attempt in (0, 1):
            try:
                self._conn.request(method, target, body=body, headers=headers or {})
                response = self._conn.getresponse()
                data = response.read()
                answer = Answer(
                    response.status, {k.lower(): v for k, v in response.getheaders()}, data
                )
                if response.will_close:
                    self._reopen()
                return answer
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                self._reopen()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _reopen(self) -> None:
        self._conn.close()
        self.reconnects += 1
        self._conn = http.client.HTTPConnection(self.host, timeout=self.timeout)

    def close(self) -> None:
        self._conn.close()


@dataclass
class SseWatcher:
    """Reads an RTDB event stream on a thread and keeps every event but keep-alives."""

    host: str
    target: str
    events: list[tuple[str, str]] = field(default_factory=list)
    error: BaseException | None = None
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        name, port = self.host.rsplit(":", 1)
        self._sock = socket.create_connection((name, int(port)), timeout=10)
        self._sock.sendall(
            f"GET {self.target} HTTP/1.1\r\nHost: {self.host}\r\n"
            "Accept: text/event-stream\r\nAuthorization: Bearer owner\r\n\r\n".encode()
        )
        self._sock.settimeout(None)
        self._thread = threading.Thread(target=self._run, name="fuzz-sse", daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the stream never delivered its initial put"

    def _run(self) -> None:
        assert self._sock is not None
        buffer = b""
        try:
            while True:
                chunk = self._sock.recv(65536)
                if not chunk:
                    return
                buffer += chunk
                while b"\n\n" in buffer:
                    frame, buffer = buffer.split(b"\n\n", 1)
                    if frame.startswith(b"HTTP/"):
                        frame = frame.split(b"\r\n\r\n", 1)[-1]
                    lines = dict(
                        line.split(": ", 1) for line in frame.decode().split("\n") if ": " in line
                    )
                    event = lines.get("event", "")
                    if event and event != "keep-alive":
                        self.events.append((event, lines.get("data", "")))
                        self._ready.set()
        except OSError as exc:
            self.error = exc

    def stop(self) -> None:
        if self._sock is not None:
            self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
        if self._thread is not None:
            self._thread.join(5)
