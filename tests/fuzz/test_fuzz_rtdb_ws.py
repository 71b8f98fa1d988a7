"""Fuzzing the Realtime Database emulator's WebSocket protocol (``/.ws``) with hostile frames.

Generated cases (hypothesis, derandomised) are lists of text frames: mutated requests of every
action, raw garbage, JSON of the wrong shape, frame counts followed by pieces that do not join
into a message, deep nesting and oversized announcements. Every write carries a wrong hash and
every onDisconnect operation invalid data, so none may change anything. After each case a
sentinel request must be answered (or, after a case that breaks the protocol, the server must
have closed the socket with a protocol close code); every answer's status must be one the
protocol allows. Afterwards the seeded namespace must be byte-identical, no namespace may have
appeared, no answer may be an internal error, and the server must still serve.

Budgets (``fuzz_support``): the ``ci`` variant sends ``FUZZ_CI_WS_FRAMES`` frames (default
5,000) from a random seed it prints (``FUZZ_SEED`` replays it); the ``full`` variant (``slow``)
sends ``FUZZ_WS_FRAMES`` (default 50,000), derandomized.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from fuzz_support import Budget, budgets, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from emulator.database import DatabaseEmulator
from emulator.database.values import canonical

NS = "fuzz-ws-seeded"
BUDGETS = budgets("FUZZ_WS_FRAMES", 50_000, "FUZZ_CI_WS_FRAMES", 5_000)
SEED = {
    "users": {
        "alice": {"age": 31, "name": "Alice", ".priority": 2},
        "bob": {"age": 25, "name": "Bób ✓", "tags": {"0": "x", "1": "y"}},
    },
    "scores": {"a": 1, "b": 2.5, "c": "three", "d": True},
    "leaf": {".value": "text", ".priority": "p"},
}
STATUSES = {"ok", "invalid_args", "datastale", "invalid_token"}
CLOSE_CODES = {1002, 1003, 1009}

paths = st.one_of(
    st.sampled_from(["/", "/users", "/users/alice", "/scores/b", "/leaf/.priority", "/nope"]),
    st.text(max_size=40),
    st.lists(st.text(min_size=1, max_size=10), max_size=40).map("/".join),
    st.integers(),
    st.none(),
)
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.one_of(
                st.text(max_size=8),
                st.sampled_from([".sv", ".value", ".priority", "a.b", "$x", "a/b", "#", ""]),
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=6,
)
query_objects = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "sp": json_values,
            "sn": st.one_of(st.text(max_size=8), st.sampled_from(["[MIN_NAME]", "[MAX_NAME]"])),
            "sin": st.one_of(st.booleans(), json_values),
            "ep": json_values,
            "en": json_values,
            "ein": st.booleans(),
            "l": st.one_of(st.integers(min_value=-5, max_value=2**33), json_values),
            "vf": st.sampled_from(["l", "r", "x", ""]),
            "i": st.one_of(st.sampled_from([".key", ".value", ".priority", "age", "a/b"]), paths),
        },
    ),
    json_values,
)
bogus_hashes = st.text(max_size=30).map(lambda text: "h:" + text)
# The invalid data an onDisconnect operation carries, so that it can never run.
invalid_data = st.sampled_from(
    [{"a.b": 1}, {"$x": True}, {".sv": "nonsense"}, {"x": {".sv": {"increment": "1"}}}, {"#": 1}]
)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    action = draw(
        st.sampled_from(
            ["p", "m", "q", "n", "g", "o", "om", "oc", "auth", "gauth", "unauth", "s", "zz"]
        )
    )
    body: Any
    if action in ("p", "m"):
        body = {"p": draw(paths), "d": draw(json_values), "h": draw(bogus_hashes)}
    elif action in ("q", "n", "g"):
        body = {"p": draw(paths), "q": draw(query_objects)}
        if draw(st.booleans()):
            body["t"] = draw(st.one_of(st.integers(), json_values))
        if action == "q":
            body["h"] = draw(st.text(max_size=5))
    elif action in ("o", "om"):
        body = {"p": draw(paths), "d": draw(invalid_data)}
    elif action in ("auth", "gauth"):
        body = {"cred": draw(st.one_of(st.text(max_size=40), json_values))}
    else:
        body = draw(st.one_of(st.just({}), json_values))
    data: dict[str, Any] = {"r": draw(st.integers(min_value=1, max_value=2**40)), "a": action}
    if draw(st.integers(min_value=0, max_value=9)):
        data["b"] = body
    return {"t": "d", "d": data}


def _split(text: str, pieces: int) -> list[str]:
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[str], bool]:
    """Frames to send, and whether they may break the protocol (a close is then allowed)."""
    kind = draw(st.integers(min_value=0, max_value=9))
    if kind <= 4:
        return [json.dumps(draw(requests()))], False
    if kind == 5:  # a request split into counted frames
        text = json.dumps(draw(requests()))
        frames = _split(text, draw(st.integers(min_value=2, max_value=6)))
        return [str(len(frames)), *frames], False
    if kind == 6:  # control messages and keep-alives
        control = draw(
            st.sampled_from(["0", '{"t":"c","d":{"t":"p","d":{}}}', '{"t":"c","d":{"t":"n"}}'])
        )
        return [control], False
    if kind == 7:  # text that is not a protocol message
        return [draw(st.one_of(st.text(min_size=7, max_size=60), st.just("[" * 5000)))], True
    if kind == 8:  # JSON of the wrong shape
        value = draw(
            st.one_of(
                json_values,
                st.fixed_dictionaries({"t": st.text(max_size=3), "d": json_values}),
                st.fixed_dictionaries({"t": st.just("d"), "d": json_values}),
            )
        )
        text = json.dumps(value)
        # Digits alone would announce a frame count (tested apart): keep it one message.
        return [text + " " if text.isdigit() else text], True
    # counts whose pieces do not make a message, or announce too much
    count = draw(st.integers(min_value=1, max_value=4))
    pieces = [draw(st.text(max_size=20)) for _ in range(count)]
    announced = draw(st.sampled_from([str(count), "999999"]))
    return ([announced, *pieces] if announced == str(count) else [announced]), True


def generate(run: Budget) -> list[tuple[list[str], bool]]:
    """``run.examples`` generated cases."""
    out: list[tuple[list[str], bool]] = []

    @fuzz_settings(run)
    @given(cases())
    def collect(case: tuple[list[str], bool]) -> None:
        out.append(case)

    collect()
    return out


@pytest.fixture
async def emulator() -> AsyncIterator[tuple[DatabaseEmulator, str]]:
    service = DatabaseEmulator(keepalive_interval=0.5)
    port = await service.start("127.0.0.1", 0)
    try:
        yield service, f"127.0.0.1:{port}"
    finally:
        await service.stop()


class Session:
    """One WebSocket, reopened whenever the server closes it."""

    def __init__(self, http: aiohttp.ClientSession, host: str) -> None:
        self.http = http
        self.host = host
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.closes = 0
        self.answers = 0

    async def open(self) -> aiohttp.ClientWebSocketResponse:
        if self.ws is None or self.ws.closed:
            self.ws = await self.http.ws_connect(f"http://{self.host}/.ws?v=5&ns={NS}")
            hello = json.loads(await self.ws.receive_str())
            assert hello["d"]["t"] == "h"
        return self.ws

    async def run(self, frames: list[str], may_close: bool, sentinel: int) -> None:
        ws = await self.open()
        for frame in frames:
            await ws.send_str(frame)
        await ws.send_str(json.dumps({"t": "d", "d": {"r": f"s{sentinel}", "a": "s", "b": {}}}))
        async with asyncio.timeout(10):
            while True:
                message = await ws.receive()
                if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    assert may_close, f"closed ({message.data}) after {frames!r}"
                    assert message.data in CLOSE_CODES, f"close code {message.data} for {frames!r}"
                    self.closes += 1
                    await ws.close()
                    return
                assert message.type is aiohttp.WSMsgType.TEXT, message
                text = message.data
                if text.isdigit():
                    text = "".join([await ws.receive_str() for _ in range(int(text))])
                envelope = json.loads(text)
                data = envelope["d"]
                if envelope["t"] == "c" or "a" in data:
                    continue  # a pong or a push for a listen the case made
                assert data["b"]["s"] in STATUSES, f"{data} after {frames!r}"
                self.answers += 1
                if data["r"] == f"s{sentinel}":
                    assert data["b"]["s"] == "ok"
                    return


async def fuzz(host: str, service: DatabaseEmulator, run: Budget) -> None:
    frames_budget = run.examples
    service.state.load(NS, json.loads(json.dumps(SEED)))
    before = service.state.export_json(NS)
    names = set(service.state.names())
    # A case averages about 2.5 frames (its own and the sentinel): generate just enough.
    cases_run = Budget(frames_budget * 2 // 5 + 100, run.seed)
    generated = await asyncio.to_thread(generate, cases_run)
    async with aiohttp.ClientSession() as http:
        session = Session(http, host)
        sent = 0
        for number, (frames, may_close) in enumerate(generated):
            await session.run(frames, may_close, number)
            sent += len(frames) + 1
            if sent >= frames_budget:
                break
        assert sent >= frames_budget, f"only {sent} frames generated"
        if session.ws is not None:
            await session.ws.close()
    for _ in range(100):
        if not service.ws.connections:
            break
        await asyncio.sleep(0.02)
    assert service.state.export_json(NS) == before == canonical(json.loads(before or "null"))
    assert set(service.state.names()) == names
    assert "internal_error" not in service.ws.statuses
    assert session.answers > frames_budget // 4 and session.closes > 0
    assert service.ws.listen_count() == 0


def no_gaps(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing got past validation to the logged fallbacks ("unvalidated input", internal)."""
    logged = [r for r in caplog.records if r.name.startswith("emulator") and r.levelno >= 30]
    assert not logged, [r.getMessage() for r in logged[:5]]


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("run", BUDGETS)
async def test_ws_fuzz_frames_leave_the_tree_unchanged(
    emulator: tuple[DatabaseEmulator, str], caplog: pytest.LogCaptureFixture, run: Budget
) -> None:
    service, host = emulator
    await fuzz(host, service, run)
    no_gaps(caplog)
