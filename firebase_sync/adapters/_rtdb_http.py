"""One Realtime Database endpoint over aiohttp: URL, namespace, credentials, errors.

Resolved from a firebase-admin app the way the Admin SDK does it: a non-https
``databaseURL`` (``http://host:port?ns=name``) is an emulator; an https URL goes to
``FIREBASE_DATABASE_EMULATOR_HOST`` when that is set (namespace = first label of the host),
to production otherwise. Emulators get ``Authorization: Bearer owner``; production gets an
OAuth2 token from the app's credential, refreshed before it expires. Plain HTTP is refused
for anything but an emulator, and tokens are never logged or put in error messages.

Every request runs under the endpoint's :class:`~firebase_sync.retry.Deadlines` (connect,
read silence, whole request); :func:`translate` is the one translator of this wire: a
connection reset or a truncated reply is a retryable
:class:`~firebase_sync.errors.ConnectionLost`, a refused connection a
:class:`~firebase_sync.errors.ConnectError`, silence a
:class:`~firebase_sync.errors.TransportTimeout`.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from ..errors import (
    ConnectError,
    ConnectionLost,
    FirebaseSyncError,
    InvalidArgument,
    TransportTimeout,
    http_error,
    map_exception,
)
from ..retry import DEADLINES, Deadlines, attempt_once

if TYPE_CHECKING:
    import firebase_admin

__all__ = ["Response", "RtdbEndpoint", "translate"]

EMULATOR_VARIABLE = "FIREBASE_DATABASE_EMULATOR_HOST"
_REFRESH_MARGIN = 300.0  # seconds before expiry at which a token is renewed
_STREAM_BODY_OVER = 1 << 20  # bytes


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class RtdbEndpoint:
    """Where and as whom to talk to one database; owns an aiohttp session (``aclose``)."""

    def __init__(
        self,
        base_url: str,
        namespace: str | None,
        *,
        emulator: bool,
        credential: Any = None,
        auth_override: str | None = None,
        deadlines: Deadlines = DEADLINES,
    ) -> None:
        scheme = urllib.parse.urlsplit(base_url).scheme
        if scheme != "https" and not emulator:
            raise InvalidArgument("plain HTTP is only allowed to an emulator", path=base_url)
        self.base_url = base_url.rstrip("/")
        self.namespace = namespace
        self.emulator = emulator
        self._credential = credential
        self._auth_override = auth_override
        self.deadlines = deadlines
        self._session: aiohttp.ClientSession | None = None
        self._refresh_lock = asyncio.Lock()

    @classmethod
    def from_app(
        cls, app: firebase_admin.App | None = None, *, deadlines: Deadlines = DEADLINES
    ) -> RtdbEndpoint:
        """The endpoint a firebase-admin app's options and credential describe."""
        import firebase_admin

        app = app or firebase_admin.get_app()
        url = app.options.get("databaseURL")
        if not url:
            raise InvalidArgument("the app has no databaseURL option")
        override = app.options.get("databaseAuthVariableOverride", "_admin_")
        auth_override = (
            None if override == "_admin_" else json.dumps(override, separators=(",", ":"))
        )
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "https":
            namespace = urllib.parse.parse_qs(parts.query).get("ns", [""])[0]
            if not namespace:
                raise InvalidArgument(f"emulator databaseURL needs ?ns=: {url}")
            base = f"{parts.scheme}://{parts.netloc}"
            return cls(
                base, namespace, emulator=True, auth_override=auth_override, deadlines=deadlines
            )
        host = os.environ.get(EMULATOR_VARIABLE)
        namespace = parts.hostname.split(".")[0] if parts.hostname else None
        if host:
            if "//" in host:
                raise InvalidArgument(f"{EMULATOR_VARIABLE} must be host:port, got {host!r}")
            return cls(
                f"http://{host}",
                namespace,
                emulator=True,
                auth_override=auth_override,
                deadlines=deadlines,
            )
        credential = app.credential.get_credential()
        return cls(
            f"https://{parts.netloc}",
            None,
            emulator=False,
            credential=credential,
            auth_override=auth_override,
            deadlines=deadlines,
        )

    def url(self, path: str) -> str:
        quoted = "/".join(urllib.parse.quote(s, safe="") for s in path.split("/") if s)
        return f"{self.base_url}/{quoted}.json"

    def params(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        params = dict(extra or {})
        if self.namespace and self.emulator:
            params["ns"] = self.namespace
        if self._auth_override is not None:
            params["auth_variable_override"] = self._auth_override
        return params

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            deadlines = self.deadlines
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=deadlines.request,
                    connect=deadlines.connect,
                    sock_read=deadlines.read,
                ),
            )
        return self._session

    async def authorization(self, *, refresh: bool = False) -> str:
        """The ``Authorization`` header value; ``refresh`` forces a new token."""
        if self.emulator:
            return "Bearer owner"
        credential = self._credential
        async with self._refresh_lock:
            expiry = getattr(credential, "expiry", None)
            stale = expiry is None or expiry.timestamp() - time.time() < _REFRESH_MARGIN
            if refresh or not credential.token or stale:
                import google.auth.transport.requests

                # google-auth refreshes synchronously; a short worker-thread hop keeps the
                # loop free (it happens about once an hour, never per event).
                request = google.auth.transport.requests.Request()
                await asyncio.to_thread(credential.refresh, request)
            return f"Bearer {credential.token}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (),
        timeout: float | None = None,  # noqa: ASYNC109 -- a deadline, not a wait
    ) -> Response:
        """One REST call within ``timeout`` (default ``deadlines.request``); statuses >= 400
        not in ``ok`` raise the mapped service error, transport failures typed ones."""
        send_headers = {"Authorization": await self.authorization(), **(headers or {})}
        data = None
        if body is not None or method in ("PUT", "POST", "PATCH"):
            data = json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
            send_headers["Content-Type"] = "application/json"

        async def send() -> Response:
            # aiohttp streams a big body from a file-like object rather than in one write.
            body_data: bytes | io.BytesIO | None = data
            if data is not None and len(data) > _STREAM_BODY_OVER:
                body_data = io.BytesIO(data)
            async with self.session.request(
                method,
                self.url(path),
                params=self.params(params),
                data=body_data,
                headers=send_headers,
            ) as reply:
                payload = await reply.read()
                return Response(reply.status, dict(reply.headers), payload)

        response = await attempt_once(
            send,
            path=path,
            timeout=self.deadlines.request if timeout is None else timeout,
            translate=translate,
        )
        if response.status >= 400 and response.status not in ok:
            raise http_error(response.status, _error_message(response), path=path)
        return response

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def translate(exc: BaseException, *, path: str | None = None) -> FirebaseSyncError:
    """Our error for an exception met on the RTDB REST wire (unknown ones: InternalError)."""
    if isinstance(exc, FirebaseSyncError):
        return map_exception(exc, path=path)
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ClientResponseError):
        return http_error(exc.status, exc.message, path=path)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):  # no connection in time: never sent
        return ConnectError(message or "connect timed out", path=path)
    if isinstance(exc, TimeoutError):  # aiohttp's read timeouts included
        return TransportTimeout(message, path=path)
    if isinstance(exc, aiohttp.ClientConnectorError | ConnectionRefusedError):
        return ConnectError(message, path=path)
    # A reset, a server gone mid-reply, a truncated body (ClientPayloadError): all transient.
    if isinstance(exc, aiohttp.ClientError | OSError):
        return ConnectionLost(message, path=path)
    return map_exception(exc, path=path)


def _error_message(response: Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.body[:200].decode(errors="replace")
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return f"HTTP {response.status}"
