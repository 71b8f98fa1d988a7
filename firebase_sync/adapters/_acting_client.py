"""Firestore clients that send a chosen bearer token to an emulator instead of ``owner``.

google-cloud-firestore always sends ``authorization: Bearer owner`` to an emulator (from its
private ``_rpc_metadata``), so rules could never see a user. These subclasses replace that one
header; everything else is the official client. Emulator use only.
"""

from __future__ import annotations

from typing import Any

from google.cloud import firestore


def _with_token(metadata: list[tuple[str, str]], token: str | None) -> list[tuple[str, str]]:
    kept = [(key, value) for key, value in metadata if key.lower() != "authorization"]
    if token is not None:
        kept.append(("authorization", f"Bearer {token}"))
    return kept


class ActingClient(firestore.Client):
    """A ``firestore.Client`` whose calls carry ``token`` (``None``: no token at all)."""

    def __init__(self, token: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._acting_token = token

    @property
    def _rpc_metadata(self) -> list[tuple[str, str]]:
        return _with_token(list(super()._rpc_metadata), self._acting_token)


class ActingAsyncClient(firestore.AsyncClient):
    """The asyncio twin of ``ActingClient``."""

    def __init__(self, token: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._acting_token = token

    @property
    def _rpc_metadata(self) -> list[tuple[str, str]]:
        return _with_token(list(super()._rpc_metadata), self._acting_token)


def acting_client(project: str, token: str | None) -> firestore.Client:
    return ActingClient(token, project=project)


def acting_async_client(project: str, token: str | None) -> firestore.AsyncClient:
    return ActingAsyncClient(token, project=project)
