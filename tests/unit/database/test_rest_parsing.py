"""The pure parts of the wire layer: query strings, namespaces, SSE frames."""

from __future__ import annotations

import json

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from firebase_sync_emulator.database.events import Event
from firebase_sync_emulator.database.rest import (
    RestApi,
    json_response,
    namespace_for,
    parse_query_string,
)
from firebase_sync_emulator.database.sse import frame
from firebase_sync_emulator.database.state import DatabaseState
from firebase_sync_emulator.errors import ServiceError


def test_plus_is_literal_and_percent_decodes() -> None:
    params = parse_query_string('equalTo="2024-01-01T00:00:00+00:00"&orderBy=%22x%20y%22&ns=n')
    assert params == {"equalTo": '"2024-01-01T00:00:00+00:00"', "orderBy": '"x y"', "ns": "n"}


def test_ampersand_in_a_value_splits_it() -> None:
    assert parse_query_string('equalTo="a&b"') == {"equalTo": '"a', 'b"': ""}


@pytest.mark.parametrize(
    ("params", "host", "expected"),
    [
        ({"ns": "explicit"}, "other.example.com", "explicit"),
        ({}, "demo-test.localhost:9000", "demo-test"),
        ({}, "demo-test.firebaseio.com", "demo-test"),
        ({}, "127.0.0.1:9000", "proj-default-rtdb"),
        ({}, "[::1]:9000", "proj-default-rtdb"),
        ({}, "localhost:9000", "proj-default-rtdb"),
        ({}, "emulator", "proj-default-rtdb"),
        ({}, None, "proj-default-rtdb"),
    ],
)
def test_namespace(params: dict[str, str], host: str | None, expected: str) -> None:
    assert namespace_for(params, host, "proj") == expected


def test_bad_namespace() -> None:
    with pytest.raises(ServiceError):
        namespace_for({"ns": "../x"}, None, "proj")


def test_frames_are_ascii_single_line_lf() -> None:
    data = frame(Event("put", "/z", {"t": "Zoë ✓\nline"}))
    assert data == b'event: put\ndata: {"path":"/z","data":{"t":"Zo\\u00eb \\u2713\\nline"}}\n\n'


@pytest.mark.parametrize("error", [RecursionError, ValueError, UnicodeEncodeError])
async def test_unvalidated_input_is_a_400_not_a_500(
    monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    """Defence in depth: whatever parsing lets through must not become a retried 5xx."""
    state = DatabaseState()

    def fail(ns: str) -> object:
        if error is UnicodeEncodeError:
            "\ud800".encode()
        raise error("hostile input")

    monkeypatch.setattr(state, "tree", fail)
    api = RestApi(state, project="p", keepalive_interval=1.0)
    response = await api.handle(make_mocked_request("GET", "/x.json?ns=n"))
    assert response.status == 400
    assert isinstance(response, web.Response) and isinstance(response.body, bytes)
    assert set(json.loads(response.body)) == {"error"}


def test_json_response_survives_lone_surrogates() -> None:
    response = json_response({"error": "Unsupported method \udcff"})
    assert isinstance(response.body, bytes)
    assert json.loads(response.body) == {"error": "Unsupported method \udcff"}
