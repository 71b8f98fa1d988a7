"""The pure parts of the wire layer: query strings, namespaces, SSE frames."""

from __future__ import annotations

import pytest

from emulator.database.events import Event
from emulator.database.rest import namespace_for, parse_query_string
from emulator.database.sse import frame
from emulator.errors import ServiceError


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
