"""Fuzzing the Realtime Database emulator's REST layer with generated hostile requests.

``test_rtdb_refuses_hostile_requests`` seeds a namespace, watches it with an event stream, then
sends its budget (``fuzz_support``) of generated requests (see ``rtdb_fuzz_strategies``) over one
keep-alive connection. Every answer must be below 500 and among the statuses its defects allow,
error bodies must be ``{"error": str}``, valid reads must return the seeded data, and afterwards the
namespace must be byte-identical, no namespace may have appeared, and the stream must have seen
nothing but its initial ``put``.

The ``REGRESSIONS`` tests below reproduce crashes the fuzzing once found (each was a strict
``xfail`` until fixed); their inputs are part of the generated run again.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fuzz_support import (
    FUZZ_NAMESPACE,
    Answer,
    Budget,
    KeepAliveClient,
    SseWatcher,
    budgets,
    fuzz_settings,
)
from hypothesis import given
from rtdb_fuzz_strategies import SEED, FuzzRequest, requests

from firebase_sync.testing import EmulatorHosts

BUDGETS = budgets("FUZZ_EXAMPLES", 10_000, "FUZZ_CI_EXAMPLES", 1_000)
CHECK_EVERY = 1_000
JSON_ERRORS = (400, 404)


def export(client: KeepAliveClient, ns: str) -> bytes:
    """The namespace's data in export form (priorities included), as raw bytes."""
    answer = client.request("GET", f"/.json?ns={ns}&format=export", headers=_OWNER)
    assert answer.status == 200, answer
    return answer.body


_OWNER = {"Authorization": "Bearer owner"}


def _seeded_node(keys: tuple[str, ...]) -> Any:
    node: Any = SEED
    for key in keys:
        if not isinstance(node, dict) or key.startswith(".") or key not in node:
            return None
        node = node[key]
    return node


def check_answer(request: FuzzRequest, answer: Answer) -> None:
    """Assert that ``answer`` is what ``request`` deserves (see the module docstring)."""
    context = f"{request.describe()} -> {answer.status} {answer.body[:300]!r}"
    assert answer.status < 500, context
    assert answer.status in request.expected, context
    if "request line too long" in request.defects:
        pass  # refused by aiohttp's parser before the handler: a plain-text 400
    elif answer.status in JSON_ERRORS and request.method != "HEAD":
        assert answer.headers.get("content-type", "").startswith("application/json"), context
        error = json.loads(answer.body)
        assert isinstance(error, dict) and set(error) == {"error"}, context
        assert isinstance(error["error"], str) and error["error"], context
    elif answer.status == 412:
        assert answer.headers.get("etag"), context
        json.loads(answer.body)  # the current value, for the client's retry
    elif answer.status == 204:
        assert answer.body == b"", context
    elif answer.status == 200:
        value = json.loads(answer.body)
        params = request.params
        plain_export = (
            params.get("format") == "export"
            and params.get("ns") == FUZZ_NAMESPACE
            and params.get("shallow", "false") == "false"
            and not request.priority
            and not {"orderBy", "limitToFirst", "limitToLast"} & set(params)
        )
        if plain_export:
            assert value == _seeded_node(request.keys), context


@pytest.mark.parametrize("run", BUDGETS)
def test_rtdb_refuses_hostile_requests(emulators: EmulatorHosts, run: Budget) -> None:
    """``run.examples`` hostile requests: right statuses, no 5xx, data and listeners untouched."""
    database_host = emulators.database_host
    client = KeepAliveClient(database_host)
    seeded = client.request("PUT", f"/.json?ns={FUZZ_NAMESPACE}", json.dumps(SEED).encode(), _OWNER)
    assert seeded.status == 200, seeded
    before = export(client, FUZZ_NAMESPACE)
    assert json.loads(before) == SEED
    # Requests whose "#" cut off ?ns= read the default namespace: make sure it exists already.
    default_before = export(client, emulators.database_namespace)
    databases = client.request("GET", "/.inspect/databases.json", headers=_OWNER).body
    watcher = SseWatcher(database_host, f"/.json?ns={FUZZ_NAMESPACE}")
    watcher.start()
    sent: list[FuzzRequest] = []

    @fuzz_settings(run)
    @given(requests(FUZZ_NAMESPACE))
    def one(request: FuzzRequest) -> None:
        answer = client.request(request.method, request.target, request.body, request.headers)
        check_answer(request, answer)
        sent.append(request)
        if len(sent) % CHECK_EVERY == 0:
            assert export(client, FUZZ_NAMESPACE) == before, (
                f"data changed by {sent[-CHECK_EVERY:]}"
            )

    try:
        one()
        assert len(sent) >= run.examples
        assert export(client, FUZZ_NAMESPACE) == before
        assert export(client, emulators.database_namespace) == default_before
        assert client.request("GET", "/.inspect/databases.json", headers=_OWNER).body == databases
    finally:
        watcher.stop()
        client.close()
    assert watcher.error is None
    assert len(watcher.events) == 1 and watcher.events[0][0] == "put", watcher.events[:5]
    invalid = sum(1 for r in sent if r.defects)
    assert invalid > 0.8 * len(sent)  # the run is mostly refusals, as designed
    statuses = {status for r in sent for status in r.defects.values()}
    assert statuses >= {400, 404, 412}


# --------------------------------------------------------------------------- REGRESSIONS


@pytest.fixture
def raw(database_host: str) -> Any:
    """A keep-alive client on a freshly emptied sandbox namespace."""
    client = KeepAliveClient(database_host)
    assert client.request("PUT", "/.json?ns=fuzz-bugs", b'{"keep":1}', _OWNER).status == 200
    yield client
    client.request("PUT", "/.json?ns=fuzz-bugs", b"null", _OWNER)
    client.close()


def _refused_and_unchanged(client: KeepAliveClient, method: str, target: str, body: bytes) -> None:
    answer = client.request(method, target, body, _OWNER)
    assert answer.status == 400, answer
    assert set(json.loads(answer.body)) == {"error"}
    assert export(client, "fuzz-bugs") == b'{"keep":1}'


@pytest.mark.parametrize("body", [b'"\\ud800"', b'{"\\udc00x":1}', b'{"a":["\\udbff"]}'])
def test_lone_surrogate_in_body_is_refused(raw: KeepAliveClient, body: bytes) -> None:
    """``json.loads`` accepts ``"\\ud800"``; storing it breaks every later read (UTF-8 encode)."""
    _refused_and_unchanged(raw, "PUT", "/x.json?ns=fuzz-bugs", body)


def test_huge_limit_is_refused(raw: KeepAliveClient) -> None:
    answer = raw.request("GET", '/.json?ns=fuzz-bugs&orderBy="$key"&limitToFirst=' + "9" * 5000)
    assert answer.status == 400, answer


@pytest.mark.parametrize("name", ["orderBy", "startAt", "endAt", "equalTo"])
def test_deeply_nested_query_parameter_is_refused(raw: KeepAliveClient, name: str) -> None:
    order = "" if name == "orderBy" else 'orderBy="$value"&'
    answer = raw.request("GET", f"/.json?ns=fuzz-bugs&{order}{name}=" + "[" * 3000 + "]" * 3000)
    assert answer.status == 400, answer


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        ("PUT", "/keep/.priority.json", b"1e400"),
        ("PATCH", "/.json", b'{"keep/.priority": -1e400}'),
        ("PUT", "/other.json", b'{".priority": 1e999, "x": 1}'),
    ],
)
def test_infinite_priority_is_refused(
    raw: KeepAliveClient, method: str, target: str, body: bytes
) -> None:
    """Numbers must be finite (values are); priorities skip that check."""
    _refused_and_unchanged(raw, method, f"{target}?ns=fuzz-bugs", body)


def test_integers_beyond_doubles_are_refused(raw: KeepAliveClient) -> None:
    """Numbers are doubles: 4,300 digits (once stored, then an increment broke rendering) and
    sums past the double range are refused; big integers within it are rounded to a double."""
    nines = ("9" * 4300).encode()
    _refused_and_unchanged(raw, "PUT", "/n.json?ns=fuzz-bugs", nines)
    _refused_and_unchanged(
        raw, "PUT", "/keep.json?ns=fuzz-bugs", b'{".sv":{"increment":' + nines + b"}}"
    )
    near_max = str(int(1.7e308)).encode()
    assert raw.request("PUT", "/n.json?ns=fuzz-bugs", near_max, _OWNER).status == 200
    overflow = b'{".sv":{"increment":' + near_max + b"}}"
    assert raw.request("PUT", "/n.json?ns=fuzz-bugs", overflow, _OWNER).status == 400
    assert raw.request("PUT", "/n.json?ns=fuzz-bugs", b"9007199254740993", _OWNER).status == 200
    answer = raw.request("GET", "/n.json?ns=fuzz-bugs", headers=_OWNER)
    assert (answer.status, answer.body) == (200, b"9007199254740992")


@pytest.mark.parametrize("rules", [b"[" * 5000, b'{"rules": {}, "x": "\\ud800"}'])
def test_hostile_rules_are_refused(raw: KeepAliveClient, rules: bytes) -> None:
    ns = "fuzz-bugs"
    put = raw.request("PUT", f"/.settings/rules.json?ns={ns}", rules, _OWNER)
    strict = raw.request("GET", f"/.settings/rules.json?ns={ns}&format=strict", headers=_OWNER)
    assert put.status == 400 and strict.status == 200, (put, strict)
    assert set(json.loads(put.body)) == {"error"}
    assert "x" not in json.loads(strict.body)  # the refused rules were not stored


@pytest.mark.parametrize("path", ["/a%0Ab.json", "/%0A.json", "/ok/x%0A/y.json"])
def test_newline_in_path_gets_json_400(raw: KeepAliveClient, path: str) -> None:
    """An invalid key must be a JSON 400 like any other, not a plain-text 404 from the router."""
    answer = raw.request("GET", f"{path}?ns=fuzz-bugs", headers=_OWNER)
    assert answer.status == 400, answer
    assert set(json.loads(answer.body)) == {"error"}
