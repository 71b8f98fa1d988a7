"""Where RealtimeRepository sends requests, resolved from firebase-admin app options."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import firebase_admin
import pytest

from firebase_sync import InvalidArgument
from firebase_sync.adapters._rtdb_http import RtdbEndpoint


@pytest.fixture
def make_app() -> Iterator[Any]:
    apps: list[Any] = []

    def make(**options: Any) -> Any:
        app = firebase_admin.initialize_app(options=options, name=uuid.uuid4().hex)
        apps.append(app)
        return app

    yield make
    for app in apps:
        firebase_admin.delete_app(app)


def test_http_database_url_is_an_emulator(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIREBASE_DATABASE_EMULATOR_HOST", raising=False)
    endpoint = RtdbEndpoint.from_app(make_app(databaseURL="http://127.0.0.1:9000?ns=demo"))
    assert endpoint.emulator and endpoint.base_url == "http://127.0.0.1:9000"
    assert endpoint.params() == {"ns": "demo"}
    assert endpoint.url("/a b/c") == "http://127.0.0.1:9000/a%20b/c.json"


def test_https_url_with_the_variable_goes_to_the_emulator(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIREBASE_DATABASE_EMULATOR_HOST", "localhost:9001")
    app = make_app(
        databaseURL="https://demo-default-rtdb.europe-west1.firebasedatabase.app",
        databaseAuthVariableOverride={"uid": "u1"},
    )
    endpoint = RtdbEndpoint.from_app(app)
    assert endpoint.base_url == "http://localhost:9001"
    assert endpoint.params() == {
        "ns": "demo-default-rtdb",
        "auth_variable_override": '{"uid":"u1"}',
    }


async def test_emulator_is_owner(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREBASE_DATABASE_EMULATOR_HOST", "localhost:9001")
    endpoint = RtdbEndpoint.from_app(make_app(databaseURL="https://demo.firebaseio.com"))
    assert await endpoint.authorization() == "Bearer owner"


def test_plain_http_to_production_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        RtdbEndpoint("http://demo.firebaseio.com", None, emulator=False)


def test_emulator_url_needs_a_namespace(make_app: Any) -> None:
    with pytest.raises(InvalidArgument):
        RtdbEndpoint.from_app(make_app(databaseURL="http://127.0.0.1:9000"))
