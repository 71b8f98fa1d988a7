"""Firestore clients that send a chosen bearer token to an emulator instead of ``owner``.

google-cloud-firestore always sends ``authorization: Bearer owner`` to an emulator (from its
private ``_rpc_metadata``), so rules could never see a user. These subclasses replace that one
header; everything else is the official client. Emulator use only.
"""

from __future__ import annotations

from google.cloud import firestore

# The subclasses override a private client property: they live in the compatibility seam.
from ._compat import ActingAsyncClient, ActingClient


def acting_client(project: str, token: str | None) -> firestore.Client:
    return ActingClient(token, project=project)


def acting_async_client(project: str, token: str | None) -> firestore.AsyncClient:
    return ActingAsyncClient(token, project=project)
