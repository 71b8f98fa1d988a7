"""The REST + streaming wire layer: parse requests, call the state, serialise answers.

Only this module knows HTTP. State raises ``ServiceError``; ``STATUS`` maps its codes to HTTP
statuses. Client mistakes are 4xx, never 5xx: firebase-admin retries 500/503 up to four times,
which would duplicate pushes.

Namespace: ``?ns=`` wins; otherwise the first label of a dotted, non-IP ``Host`` header
(``demo.localhost:9000`` → ``demo``, like ``demo.firebaseio.com``); otherwise
``<project>-default-rtdb``, the database ``https://<project>-default-rtdb.firebaseio.com`` means.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from typing import Any
from urllib.parse import unquote

from emulator.aiohttp_web import web
from emulator.database import sse
from emulator.database.listeners import Listener, Signal
from emulator.database.paths import Path, check_namespace, parse_url_path
from emulator.database.query import Query, parse_query, render_selection
from emulator.database.rules import parse_rules
from emulator.database.state import DatabaseState
from emulator.database.tree import EtagMismatch, Tree
from emulator.database.values import (
    Json,
    parse_json,
    render,
    render_export,
    shallow,
)
from emulator.errors import Code, ServiceError, invalid
from emulator.identity import (
    NOBODY,
    Identity,
    InvalidToken,
    identity_from_header,
    identity_from_token,
)

log = logging.getLogger(__name__)

#: the largest REST write Firebase accepts.
MAX_WRITE_BYTES = 256 * 1024 * 1024
WRITE_SIZE_LIMITS = ("tiny", "small", "medium", "large", "unlimited")
_METHODS = ("GET", "PUT", "PATCH", "POST", "DELETE")
JSON_TYPE = "application/json; charset=utf-8"

STATUS = {
    Code.INVALID_ARGUMENT: 400,
    Code.UNAUTHENTICATED: 401,
    Code.PERMISSION_DENIED: 401,  # what the Realtime Database answers to a rules refusal
    Code.NOT_FOUND: 404,
    Code.ALREADY_EXISTS: 409,
    Code.ABORTED: 409,
    Code.FAILED_PRECONDITION: 412,
    Code.RESOURCE_EXHAUSTED: 429,
    Code.UNIMPLEMENTED: 501,
    Code.UNAVAILABLE: 503,
    Code.INTERNAL: 500,
}


def parse_query_string(raw: str) -> dict[str, str]:
    """Split a raw query string on ``&`` and percent-decode each side.

    ``+`` stays a plus (the SDK sends values unencoded, e.g. ISO timestamps' ``+00:00``);
    a repeated name keeps its last value.
    """
    params: dict[str, str] = {}
    for part in raw.split("&"):
        if part:
            name, _, value = part.partition("=")
            params[unquote(name)] = unquote(value)
    return params


def namespace_for(params: dict[str, str], host: str | None, project: str) -> str:
    """The namespace a request addresses (see the module docstring)."""
    if "ns" in params:
        return check_namespace(params["ns"])
    hostname = (host or "").rsplit(":", 1)[0] if not (host or "").startswith("[") else ""
    if "." in hostname:
        try:
            ipaddress.ip_address(hostname)
        except ValueError:
            label = hostname.split(".", 1)[0]
            if label:
                return check_namespace(label)
    return f"{project}-default-rtdb"


def caller(request: web.Request, params: dict[str, str]) -> Identity:
    """Who sends ``request``: ``Authorization: Bearer``, else ``?auth=`` / ``?access_token=``;
    an administrator's ``auth_variable_override`` names the ``auth`` to act as.

    Raises UNAUTHENTICATED for a token that is neither ``owner`` nor a JWT.
    """
    try:
        header = request.headers.get("Authorization")
        if header is not None:
            identity = identity_from_header(header)
        else:
            identity = identity_from_token(params.get("auth", params.get("access_token")))
    except InvalidToken:
        raise ServiceError(Code.UNAUTHENTICATED, "Unauthorized request.") from None
    override = params.get("auth_variable_override")
    if override is None or not identity.admin:
        return identity
    # An administrator acting as someone (firebase-admin's databaseAuthVariableOverride).
    try:
        auth = json.loads(override)
    except ValueError:
        raise invalid("auth_variable_override must be JSON") from None
    if auth is None:
        return NOBODY
    if not isinstance(auth, dict):
        raise invalid("auth_variable_override must be a JSON object or null")
    return Identity(
        claims=auth.get("token") if isinstance(auth.get("token"), dict) else {}, override=auth
    )


def json_response(
    value: Json, status: int = 200, headers: dict[str, str] | None = None, pretty: bool = False
) -> web.Response:
    """A JSON body (UTF-8, compact unless ``print=pretty``)."""
    try:
        body = _dumps(value, pretty, ascii_only=False).encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (stored data refuses them, but an error message may echo a header
        # decoded with surrogateescape): ASCII escapes are still valid JSON and valid UTF-8.
        body = _dumps(value, pretty, ascii_only=True).encode("ascii")
    return web.Response(
        body=body,
        status=status,
        headers={"Content-Type": JSON_TYPE, **(headers or {})},
    )


def _dumps(value: Json, pretty: bool, *, ascii_only: bool) -> str:
    if pretty:
        return json.dumps(value, ensure_ascii=ascii_only, indent=2)
    return json.dumps(value, ensure_ascii=ascii_only, separators=(",", ":"))


def error_response(message: str, status: int = 400) -> web.Response:
    """Firebase's error shape: ``{"error": "..."}``."""
    return json_response({"error": message}, status)


class CloseDelimitedResponse(web.StreamResponse):
    """A streaming body ended by closing the connection: no chunked encoding, no length.

    Why: firebase-admin's ``ListenerRegistration.close()`` closes the response under a reader
    thread blocked in a read. With chunked encoding that thread then crashes with an
    ``AttributeError`` inside urllib3's chunk parser (an unhandled thread exception, which
    pytest reports); with a close-delimited body urllib3 sees a closed file and ends the stream,
    and the listener thread exits cleanly. aiohttp's own ``WebSocketResponse`` opts out of
    length handling through the same class attribute.
    """

    _length_check = False


class Options:
    """The request options that are not a query: print, format, shallow, ETag headers."""

    def __init__(self, request: web.Request, params: dict[str, str]) -> None:
        printing = params.get("print")
        if printing not in (None, "silent", "pretty"):
            raise invalid("print must be 'silent' or 'pretty'")
        fmt = params.get("format")
        if fmt not in (None, "export"):
            raise invalid("format must be 'export'")
        limit = params.get("writeSizeLimit")
        if limit is not None and limit not in WRITE_SIZE_LIMITS:
            raise invalid("writeSizeLimit must be one of " + ", ".join(WRITE_SIZE_LIMITS))
        flat = params.get("shallow")
        if flat not in (None, "true", "false"):
            raise invalid("shallow must be 'true' or 'false'")
        self.silent = printing == "silent"
        self.pretty = printing == "pretty"
        self.export = fmt == "export"
        self.shallow = flat == "true"
        self.want_etag = request.headers.get("X-Firebase-ETag", "").lower() == "true"
        self.if_match = request.headers.get("if-match")
        self.if_none_match = request.headers.get("if-none-match")


class RestApi:
    """aiohttp handler for every Realtime Database REST and streaming request."""

    def __init__(
        self,
        state: DatabaseState,
        *,
        project: str,
        keepalive_interval: float,
        max_pending_events: int = 1000,
    ) -> None:
        self.state = state
        self.project = project
        self.keepalive_interval = keepalive_interval
        self.max_pending_events = max_pending_events
        self.streams: set[Listener] = set()
        self.closing = False

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Entry point: every failure is answered here, none escapes to aiohttp."""
        try:
            return await self._dispatch(request)
        except EtagMismatch as exc:
            return json_response(exc.current, 412, {"ETag": exc.etag})
        except ServiceError as exc:
            return error_response(exc.message, STATUS.get(exc.code, 400))
        except web.HTTPRequestEntityTooLarge:
            return error_response(
                "Data to write exceeds the maximum size that can be modified with a single request."
            )
        except web.HTTPException as exc:
            return error_response(exc.reason, exc.status if exc.status < 500 else 400)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except (RecursionError, ValueError):
            # Parsing refuses hostile input itself (ServiceError); should some input still get
            # past it (too deep, a number or text Python cannot convert), it is the client's
            # fault: a 400, never a 5xx that firebase-admin would retry. Logged: it is a gap.
            log.warning(
                "unvalidated input serving %s %s",
                request.method,
                request.rel_url.path,
                exc_info=True,
            )
            return error_response("Invalid request: input could not be processed")
        except Exception:
            # The path only: query strings may carry ?auth= tokens, which are never logged.
            log.exception("internal error serving %s %s", request.method, request.rel_url.path)
            return error_response("Internal error in the database emulator", 500)

    async def close_streams(self, _app: web.Application | None = None) -> None:
        """End every open stream cleanly (on shutdown); refuse to keep new ones open."""
        self.closing = True
        for listener in list(self.streams):
            listener.close()

    # ------------------------------------------------------------------------ dispatch

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        url = request.rel_url
        params = parse_query_string(url.raw_query_string)
        method = request.method
        override = request.headers.get("X-HTTP-Method-Override")
        if method == "POST" and override:
            method = override.upper()
        if method not in _METHODS:
            raise invalid(f"Unsupported method {method}")
        ns = namespace_for(params, request.host, self.project)
        raw_path = url.raw_path
        if raw_path == "/.settings/rules.json":
            return await self._rules(request, method, ns, params)
        if raw_path == "/.inspect/databases.json" and method == "GET":
            return json_response([{"name": name} for name in self.state.names()])
        if not raw_path.endswith(".json"):
            raise ServiceError(Code.NOT_FOUND, "Paths must end in .json")
        path, is_priority = parse_url_path(raw_path[: -len(".json")])
        options = Options(request, params)
        query = parse_query(params)
        identity = caller(request, params)
        if method == "GET":
            if "text/event-stream" in request.headers.get("Accept", ""):
                if is_priority:
                    raise invalid("Cannot stream a priority")
                return await self._stream(request, ns, path, query, identity)
            self._check_read(ns, path, query, identity)
            return self._get(ns, path, is_priority, options, query)
        body = None if method == "DELETE" else parse_json(await request.read())
        return self._write(method, ns, path, is_priority, body, options, identity)

    def _check_read(self, ns: str, path: Path, query: Query | None, identity: Identity) -> bool:
        """Raise PERMISSION_DENIED unless the rules let ``identity`` read ``path``."""
        with self.state.lock:
            tree = self.state.tree(ns)
            allowed = self.state.security(ns).can_read(
                identity, tree.node, path, query, self.state.now_ms()
            )
        if not allowed:
            raise ServiceError(Code.PERMISSION_DENIED, "Permission denied")
        return True

    def _get(
        self, ns: str, path: Path, is_priority: bool, options: Options, query: Query | None
    ) -> web.Response:
        with self.state.lock:
            tree = self.state.tree(ns)
            node = tree.node(path)
            # Hashing the whole node is O(size): only when the request asks for the ETag.
            wants_tag = options.want_etag or options.if_none_match is not None
            tag = tree.etag(path) if wants_tag else ""
            if is_priority:
                value: Json = tree.priority(path)
            else:
                selected = tree.select(path, query) if query else None
                if selected is None:
                    if options.shallow:
                        value = shallow(node)
                    else:
                        value = render_export(node) if options.export else render(node)
                elif options.shallow:
                    value = {key: True for key, _ in selected}
                elif options.export:
                    value = dict(selected)
                else:
                    value = render_selection(node, selected)
        headers = {}
        if wants_tag:
            headers["ETag"] = tag
            if options.if_none_match == tag:
                return web.Response(status=304, headers=headers)
        if options.silent:
            return web.Response(status=204, headers=headers)
        return json_response(value, headers=headers, pretty=options.pretty)

    def _write(
        self,
        method: str,
        ns: str,
        path: Path,
        is_priority: bool,
        body: Json,
        options: Options,
        identity: Identity,
    ) -> web.Response:
        if_match = options.if_match
        pushed: str | None = None
        headers = {}
        rules = self.state.security(ns)
        tree_now = self.state.tree(ns)

        def authorize(planned: list[tuple[Path, Any]]) -> None:
            rules.check_write(identity, tree_now.node, planned, self.state.now_ms())

        # One lock across check, write and new ETag: atomic even against other threads
        # (export, reset). A plain RLock, because ServiceError is a frozen dataclass that
        # contextlib-based managers cannot re-raise (they assign its __traceback__).
        with self.state.lock:
            if method == "POST":
                if is_priority:
                    raise invalid("Cannot push to a priority")
                self.state.tree(ns).check_etag(path, if_match)
                pushed, change = self.state.push(ns, path, body, authorize)
            elif method == "PATCH":
                if is_priority:
                    raise invalid("Cannot PATCH a priority")
                change = self.state.write(
                    ns, path, lambda t: t.update(path, body, if_match=if_match, authorize=authorize)
                )
            else:
                value = None if method == "DELETE" else body
                setter = Tree.set_priority if is_priority else Tree.set
                change = self.state.write(
                    ns,
                    path,
                    lambda t: setter(t, path, value, if_match=if_match, authorize=authorize),
                )
            if options.want_etag or if_match is not None:
                headers["ETag"] = self.state.tree(ns).etag(path)
        if options.silent:
            return web.Response(status=204, headers=headers)
        result: Json
        if pushed is not None:
            result = {"name": pushed}
        elif is_priority:
            result = body
        else:
            result = change.data
        return json_response(result, headers=headers, pretty=options.pretty)

    async def _rules(
        self, request: web.Request, method: str, ns: str, params: dict[str, str]
    ) -> web.Response:
        if method == "GET":
            text = self.state.rules(ns)
            if params.get("format") == "strict":
                return json_response(parse_rules(text))
            return web.Response(body=text.encode("utf-8"), headers={"Content-Type": JSON_TYPE})
        if method == "PUT":
            try:
                text = (await request.read()).decode("utf-8")
            except UnicodeDecodeError:
                raise invalid("Rules must be UTF-8 text") from None
            self.state.set_rules(ns, text)
            return json_response({"status": "ok"})
        raise invalid(f"Unsupported method {method} on rules")

    # ------------------------------------------------------------------------ streaming

    async def _stream(
        self,
        request: web.Request,
        ns: str,
        path: Path,
        query: Query | None,
        identity: Identity,
    ) -> web.StreamResponse:
        listener = Listener(path, query, asyncio.get_running_loop(), self.max_pending_events)
        response = CloseDelimitedResponse(
            status=200, headers={"Content-Type": sse.CONTENT_TYPE, "Cache-Control": "no-cache"}
        )
        response.force_close()
        await response.prepare(request)
        try:
            self._check_read(ns, path, query, identity)
        except ServiceError:
            # A stream the rules refuse is answered like production: one cancel event.
            await response.write(sse.CANCEL)
            await response.write_eof()
            return response
        self.state.subscribe(ns, listener)
        self.streams.add(listener)
        if self.closing:
            listener.close()
        try:
            while True:
                try:
                    async with asyncio.timeout(self.keepalive_interval):
                        item = await listener.next()
                except TimeoutError:
                    await response.write(sse.KEEP_ALIVE)
                    continue
                if item is Signal.CLOSE:
                    break
                if item is Signal.CANCEL:
                    await response.write(sse.CANCEL)
                    break
                await response.write(sse.frame(item))
            await response.write_eof()
        except OSError:
            pass  # the client went away; nothing to tell it
        finally:
            self.streams.discard(listener)
            self.state.unsubscribe(ns, listener)
        return response
