"""The Firestore client's channel is opened with a reconnect backoff capped like the kit's."""

from __future__ import annotations

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud.firestore_v1.async_client import AsyncClient

from firebase_sync.adapters import _compat


def test_reconnect_options_follow_the_cap() -> None:
    options = dict(_compat.reconnect_options(1.0, 5.0))
    assert options["grpc.max_reconnect_backoff_ms"] == 500
    assert options["grpc.initial_reconnect_backoff_ms"] == 100
    # grpc's "minimum backoff" bounds one connection attempt: the connect deadline, not 0.1 s
    assert options["grpc.min_reconnect_backoff_ms"] == 5000
    assert dict(_compat.reconnect_options(0.01, 5.0))["grpc.max_reconnect_backoff_ms"] == 100


async def test_open_channel_once_before_the_client_talks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")
    client = AsyncClient(
        project="demo-channel",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
    )
    assert _compat.open_channel(client, 1.0, 5.0)
    channel = _compat.grpc_channel(client)
    assert not _compat.open_channel(client, 1.0, 5.0)  # already open: left alone
    assert _compat.grpc_channel(client) is channel
    await _compat.close_channel(client)
