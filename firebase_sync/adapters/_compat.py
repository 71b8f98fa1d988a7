"""The one place the kit reaches into google-cloud-firestore's private API.

The kit speaks the Listen, RunQuery, ListDocuments and Commit RPCs itself (raw protobufs on
asyncio, no threads), on the client's own gRPC channel, with the client's own request metadata
(routing headers; the emulator's ``Bearer owner``) and database name; it turns a query the
client built into its ``StructuredQuery``; and the rules-testing clients replace the emulator's
``Bearer owner`` by a chosen token. None of that is public API, so every such access is here: an
upstream refactor breaks this module only, and ``tests/unit/kit/test_kit_compat.py`` names what
moved (``.ci/newest-deps`` runs it, and the suite, against the newest releases our version
bounds allow).

firebase-admin: the kit uses only its public API (``firestore_async.client``,
``App.credential``, ``App.options``), so nothing of it is here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
from google.api_core import exceptions as gexc
from google.cloud.firestore_v1.async_client import AsyncClient
from google.cloud.firestore_v1.async_collection import AsyncCollectionReference
from google.cloud.firestore_v1.async_query import AsyncQuery
from google.cloud.firestore_v1.client import Client

__all__ = [
    "PRIVATE_API",
    "ActingAsyncClient",
    "ActingClient",
    "as_query",
    "close_channel",
    "database_name",
    "grpc_channel",
    "open_channel",
    "reconnect_options",
    "rpc_metadata",
    "structured_query",
    "transaction_conflict",
]

#: What this module relies on, as (owner, attribute) pairs: the compatibility test checks
#: that each still exists on the installed versions.
PRIVATE_API: tuple[tuple[str, str], ...] = (
    ("google.cloud.firestore_v1.async_client.AsyncClient", "_firestore_api"),
    ("google.cloud.firestore_v1.async_client.AsyncClient", "_rpc_metadata"),
    ("google.cloud.firestore_v1.client.Client", "_rpc_metadata"),
    ("google.cloud.firestore_v1.async_client.AsyncClient", "_database_string"),
    ("google.cloud.firestore_v1.async_collection.AsyncCollectionReference", "_query"),
    ("google.cloud.firestore_v1.async_query.AsyncQuery", "_to_protobuf"),
    ("google.cloud.firestore_v1.async_transaction", "_EXCEED_ATTEMPTS_TEMPLATE"),
    ("google.cloud.firestore_v1.base_client", "_GRPC_MSG_SIZE_OPTIONS"),
    ("google.cloud.firestore_v1.base_client", "_DEFAULT_CHANNEL_OPTIONS"),
)


def grpc_channel(client: AsyncClient) -> grpc.aio.Channel:
    """The asyncio gRPC channel of ``client``'s transport (emulator routing included)."""
    channel: grpc.aio.Channel = client._firestore_api.transport.grpc_channel
    return channel


async def close_channel(client: AsyncClient) -> None:
    """Close ``client``'s channel (the async client has no public ``close``)."""
    await grpc_channel(client).close()


def rpc_metadata(client: AsyncClient) -> Sequence[tuple[str, str]]:
    """The metadata ``client`` sends with each call (resource prefix, routing, auth)."""
    metadata: Sequence[tuple[str, str]] = client._rpc_metadata
    return metadata


def database_name(client: AsyncClient) -> str:
    """``projects/P/databases/D`` of ``client``."""
    name: str = client._database_string
    return name


def as_query(collection: AsyncCollectionReference) -> AsyncQuery:
    """The query of every document of ``collection``."""
    query: AsyncQuery = collection._query()
    return query


def structured_query(query: AsyncQuery) -> Any:
    """The ``StructuredQuery`` (proto-plus) that ``query`` stands for."""
    return query._to_protobuf()


def transaction_conflict(exc: ValueError) -> gexc.Aborted | None:
    """The last ABORTED of a transaction that ran out of attempts, or ``None``.

    The client's transactional wrapper raises ``ValueError(...) from last_error`` when every
    attempt failed; this is the only way to tell that apart from a misuse ``ValueError``.
    """
    cause = exc.__cause__
    return cause if isinstance(cause, gexc.Aborted) else None


def _with_token(metadata: Sequence[tuple[str, str]], token: str | None) -> list[tuple[str, str]]:
    kept = [(key, value) for key, value in metadata if key.lower() != "authorization"]
    if token is not None:
        kept.append(("authorization", f"Bearer {token}"))
    return kept


class ActingClient(Client):
    """A ``firestore.Client`` whose calls carry ``token`` (``None``: no token at all) instead
    of the ``Bearer owner`` the client sends an emulator. Emulator use only."""

    def __init__(self, token: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._acting_token = token

    @property
    def _rpc_metadata(self) -> list[tuple[str, str]]:
        return _with_token(super()._rpc_metadata, self._acting_token)


class ActingAsyncClient(AsyncClient):
    """The asyncio twin of :class:`ActingClient`."""

    def __init__(self, token: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._acting_token = token

    @property
    def _rpc_metadata(self) -> list[tuple[str, str]]:
        return _with_token(super()._rpc_metadata, self._acting_token)


def reconnect_options(cap: float, connect: float) -> list[tuple[str, int]]:
    """grpc channel options: the first reconnect 0.1 s after a failure, later ones at most
    ``cap / 2`` apart (grpc adds up to 20 % jitter; one channel serves every listener of a
    client). grpc also uses its "minimum reconnect backoff" as the time one connection
    attempt may take: that is the ``connect`` deadline, not a wait."""
    return [
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", max(100, int(cap * 500))),
        ("grpc.min_reconnect_backoff_ms", max(100, int(connect * 1000))),
    ]


def open_channel(client: AsyncClient, reconnect_cap: float, connect: float) -> bool:
    """Open ``client``'s channel now, as the client would, plus :func:`reconnect_options`.

    grpc core waits between connection attempts on its own (1 s, growing by 1.6x up to
    120 s) and fails every call at once meanwhile: after a 10 s outage its next attempt may
    come 6 s after the backend is back, whatever the kit's reconnect policy says. Same
    target, credentials and options as the client's lazily made channel; returns False (and
    changes nothing) when the client already has its channel or the library's internals
    moved (instance attributes: ``_firestore_api_internal``, ``_emulator_host``,
    ``_credentials``, ``_target``, ``_client_options``, ``_client_info``, ``_transport``).
    """
    try:
        from google.cloud.firestore_v1 import base_client
        from google.cloud.firestore_v1.services.firestore import async_client as gapic
        from google.cloud.firestore_v1.services.firestore.transports import grpc_asyncio

        if client._firestore_api_internal is not None:
            return False
        transport_class = grpc_asyncio.FirestoreGrpcAsyncIOTransport
        extra = reconnect_options(reconnect_cap, connect)
        if client._emulator_host is not None:
            token = getattr(client._credentials, "id_token", None) or "owner"
            options = [
                ("Authorization", f"Bearer {token}"),
                *base_client._GRPC_MSG_SIZE_OPTIONS,
                *extra,
            ]
            channel = grpc.aio.insecure_channel(client._emulator_host, options=options)
        else:
            channel = transport_class.create_channel(
                client._target,
                credentials=client._credentials,
                options=[*base_client._DEFAULT_CHANNEL_OPTIONS, *extra],
            )
        client._transport = transport_class(host=client._target, channel=channel)
        client._firestore_api_internal = gapic.FirestoreAsyncClient(
            transport=client._transport, client_options=client._client_options
        )
        gapic._client_info = client._client_info  # type: ignore[attr-defined]
    except (AttributeError, ImportError, TypeError):
        return False
    return True
