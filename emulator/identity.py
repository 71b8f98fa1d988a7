"""Who is calling: the administrator, a signed-in user, or nobody.

As the official emulators do, tokens are read, never verified: ``owner`` is the administrator
(rules bypassed), a JWT (usually unsigned, ``alg: none``, as ``@firebase/rules-unit-testing`` and
the SDKs' ``mockUserToken`` send) is the user it names (``sub`` or ``user_id``; a JWT naming
none is a user without a uid), and a missing token is an unauthenticated caller. Token contents
are never logged.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

ADMIN_TOKEN = "owner"


@dataclass(frozen=True, slots=True)
class Identity:
    """The caller of one request."""

    admin: bool = False
    #: the decoded token claims of a signed-in user; ``None`` for nobody (and the admin).
    claims: dict[str, Any] | None = None
    #: an administrator's ``auth_variable_override`` (RTDB): the exact ``auth`` rules see.
    override: dict[str, Any] | None = None

    @property
    def uid(self) -> str | None:
        if self.override is not None:
            uid = self.override.get("uid")
            return uid if isinstance(uid, str) else None
        if self.claims is None:
            return None
        uid = self.claims.get("user_id", self.claims.get("sub"))
        return uid if isinstance(uid, str) else None

    def auth_variable(self) -> dict[str, Any] | None:
        """``request.auth`` (Firestore) / ``auth`` (RTDB): ``{"uid", "token"}`` or ``None``."""
        if self.override is not None:
            return dict(self.override)
        if self.claims is None:
            return None
        return {"uid": self.uid, "token": dict(self.claims)}


ADMIN = Identity(admin=True)
NOBODY = Identity()


class InvalidToken(ValueError):
    """Neither ``owner`` nor a decodable JWT (the official emulator answers "invalid jwt")."""


def identity_from_token(token: str | None) -> Identity:
    """The identity a bearer token (without the ``Bearer`` prefix) stands for."""
    if token is None or token == "":
        return NOBODY
    if token == ADMIN_TOKEN:
        return ADMIN
    return Identity(claims=decode_claims(token))


def identity_from_header(header: str | None) -> Identity:
    """The identity an ``Authorization`` header names (``Bearer <token>``; absent is nobody)."""
    if header is None:
        return NOBODY
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise InvalidToken("Authorization must be a Bearer token")
    return identity_from_token(token.strip())


def decode_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified; raises ``InvalidToken`` when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("not a JWT")
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidToken("the JWT payload is not base64url JSON") from None
    if not isinstance(payload, dict):
        raise InvalidToken("the JWT payload is not an object")
    uid = payload.get("user_id", payload.get("sub"))
    if isinstance(uid, str) and uid:
        payload.setdefault("sub", uid)
        payload.setdefault("user_id", uid)
    return payload
