"""The compatibility seam: every private google-cloud-firestore attribute the kit relies on
still exists on the installed versions, and each accessor returns what the kit expects."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud.firestore_v1.async_client import AsyncClient
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.types import query as query_types

from firebase_sync.adapters import _compat


def _resolve(owner: str) -> Any:
    module, _, name = owner.rpartition(".")
    try:
        return importlib.import_module(owner)
    except ImportError:
        return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize(("owner", "attribute"), _compat.PRIVATE_API)
def test_private_attribute_still_exists(owner: str, attribute: str) -> None:
    assert hasattr(_resolve(owner), attribute), f"{owner}.{attribute} is gone"


def _client() -> AsyncClient:
    return AsyncClient(
        project="demo-compat",
        database="other-db",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
    )


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[AsyncClient]:
    # An emulator address: the channel is made lazily and never connects here.
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")
    yield _client()


async def test_accessors_return_what_the_kit_uses(client: AsyncClient) -> None:
    assert _compat.database_name(client) == "projects/demo-compat/databases/other-db"
    metadata = dict(_compat.rpc_metadata(client))
    assert metadata["google-cloud-resource-prefix"] == _compat.database_name(client)
    channel = _compat.grpc_channel(client)
    assert isinstance(channel, grpc.aio.Channel)
    query = _compat.as_query(client.collection("shops/s1/products")).where(
        filter=FieldFilter("n", "==", 1)
    )
    structured = _compat.structured_query(query)
    assert isinstance(structured, query_types.StructuredQuery)
    assert structured.from_[0].collection_id == "products"
    await _compat.close_channel(client)


def test_transaction_conflict_is_told_apart() -> None:
    aborted = gexc.Aborted("contention")
    exhausted = ValueError("Failed to commit transaction in 5 attempts.")
    exhausted.__cause__ = aborted
    assert _compat.transaction_conflict(exhausted) is aborted
    assert _compat.transaction_conflict(ValueError("misuse")) is None
