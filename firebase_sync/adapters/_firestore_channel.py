"""The gRPC channel of a Firestore client, opened with a reconnect backoff that fits ours.

grpc core waits between connection attempts on its own (1 s, growing by 1.6x up to 120 s)
and fails every call at once while it waits. After an outage of 10 s its next attempt may come
6 s after the backend is back, whatever the kit's reconnect policy says. So, before a client
first talks, :func:`prepare` opens its channel the way the client library would (same target,
credentials and options) plus reconnect-backoff options capped at the kit's reconnect cap.

This reaches into private attributes of ``google-cloud-firestore`` (2.x): the client's lazily
made GAPIC client. When they are missing (another version) or the channel already exists,
nothing is changed and the library's own channel is used.
"""

from __future__ import annotations

from typing import Any

__all__ = ["prepare", "reconnect_options"]


def reconnect_options(cap: float) -> list[tuple[str, int]]:
    """grpc channel options: reconnect attempts from 0.1 s apart, at most ``cap / 2`` apart
    (grpc adds up to 20 % jitter; one channel serves every listener of a client)."""
    maximum = max(100, int(cap * 500))
    return [
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.min_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", maximum),
    ]


def prepare(client: Any, cap: float) -> bool:
    """Open ``client``'s channel with :func:`reconnect_options` if it has none yet.

    Returns whether it did (False: the client already talked, or the library changed).
    """
    try:
        from google.cloud.firestore_v1 import base_client
        from google.cloud.firestore_v1.services.firestore import async_client as gapic
        from google.cloud.firestore_v1.services.firestore.transports import grpc_asyncio

        if client._firestore_api_internal is not None:
            return False
        transport_class = grpc_asyncio.FirestoreGrpcAsyncIOTransport
        extra = reconnect_options(cap)
        if client._emulator_host is not None:
            import grpc

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
