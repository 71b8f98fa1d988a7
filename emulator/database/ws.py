"""The WebSocket wire layer: ``/.ws`` connections speaking protocol 5 (see ``wsproto``).

Same namespaces, tree and write order as REST + SSE: every write, from either side, reaches
the WebSocket listens through one ``DatabaseState`` write hook, which runs under the state
lock and only queues text, so each connection gets its pushes in write order and before the
answer to its own write.

What a listen receives for a write:

- unfiltered listen (no tag), write at or below its path: the same write, ``d`` or ``m`` at
  the write's path with the stored data (priorities included, server values resolved);
- unfiltered listen, a set above it, or a merge above it with a key at, above or inside it:
  ``d`` at the listen's path with its whole new value; other merges and siblings: nothing;
- filtered (tagged) listen, any write at, above or below its path: the window is computed
  again and compared with what was sent: children that entered or changed are sent with
  their value, children that left with ``null``, together in one tagged ``m`` at the query's
  path (one client-side event batch per write); nothing when the window did not change. When
  the node is not an object (absent or a leaf) the listen gets a tagged ``d`` of that value.

Overflow policy: a connection whose unsent pushes pass ``max_pending_bytes`` (a client that
stops reading) is cut: its transport is aborted and its queue dropped; the client reconnects,
listens again and receives fresh data. onDisconnect operations run whenever a connection ends,
for any reason (client close, network loss, overflow, emulator shutdown).

Security rules (``security``) apply as on REST, to the identity the connection authenticated
as: ``gauth`` with ``owner`` (the admin SDKs' emulator token) or any non-JWT Google token is the
administrator (rules bypassed; its ``authvar`` / ``noauth`` act as someone / nobody), ``auth``
with a JWT (unsigned mock tokens included, never verified) is that user, and ``unauth`` or no
auth is nobody. Listens and gets need ``.read``, writes ``.write`` and ``.validate`` (checked
before a hash comparison, so a refused writer learns nothing of the data); onDisconnect
operations are checked when registered, as production does, and not again when they run, and
``oc`` needs ``.write``. When the identity changes, the listens it may no longer read are
revoked with a ``c`` push (the clients end them with ``permission_denied``).

Error answers: ``permission_denied`` as above; a malformed request is answered with status
``invalid_args`` (our choice: the clients treat every status other than ``ok`` as a failure
with that code) and a message; a failed hash comparison with ``datastale``. A frame sequence
or envelope no client would send (not JSON, not an object, too large, binary) closes the
connection with code 1002, 1009 or 1003.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from emulator.aiohttp_web import WSCloseCode, WSMsgType, web
from emulator.database import wsproto
from emulator.database.events import Relation, relation
from emulator.database.hashing import node_hash
from emulator.database.paths import Path, is_prefix
from emulator.database.query import Query
from emulator.database.rest import error_response, namespace_for, parse_query_string
from emulator.database.state import DatabaseState
from emulator.database.tree import Authorize, Tree, Write
from emulator.database.values import Json, parse_json
from emulator.errors import Code, ServiceError, invalid
from emulator.identity import ADMIN, NOBODY, Identity, InvalidToken, decode_claims

log = logging.getLogger(__name__)

OK = "ok"
INVALID = "invalid_args"
DATASTALE = "datastale"
DENIED = "permission_denied"
#: the largest WebSocket frame accepted; clients cut messages into 16,384-character frames.
MAX_WS_FRAME_BYTES = 1024 * 1024
#: the largest reassembled message; the SDKs refuse writes over 16 MB before sending them.
MAX_MESSAGE_CHARS = 32 * 1024 * 1024
_EMPTY_JSON = '""'


class _Datastale(Exception):
    """A put whose ``h`` does not match the current data (nothing was written)."""


@dataclass(eq=False)
class WsListen:
    """One listen of one connection: a path, an optional query and its tag."""

    conn: Connection
    path: Path
    query: Query | None
    tag: int | None
    #: the query object as the client sent it (a revocation names the listen with it)
    query_object: Json = None
    #: filtered listens: the JSON of each child last sent, or ``None`` when a non-object was
    window: dict[str, str] | None = None
    #: filtered listens: the JSON last sent while the node was not an object
    leaf: str | None = None
    started: bool = field(default=False)


@dataclass
class _OnDisconnect:
    action: str  # "o" (set) or "om" (merge)
    path: Path
    is_priority: bool
    data: Json


class Connection:
    """One WebSocket: its outgoing queue, listens and onDisconnect operations."""

    def __init__(
        self,
        api: WebSocketApi,
        ws: web.WebSocketResponse,
        request: web.Request,
        ns: str,
        max_pending_bytes: int,
    ) -> None:
        self.api = api
        self.ws = ws
        self.request = request
        self.ns = ns
        self.max_pending_bytes = max_pending_bytes
        self.loop = asyncio.get_running_loop()
        self.listens: dict[tuple[Path, str], WsListen] = {}
        self.on_disconnect: list[_OnDisconnect] = []
        #: who the connection acts as (``auth`` / ``gauth`` / ``unauth``); rules see it
        self.identity: Identity = NOBODY
        self.assembler = wsproto.FrameAssembler(MAX_MESSAGE_CHARS)
        self.overflowed = False
        #: the close code the server ends the connection with
        self.close_code: int = WSCloseCode.OK
        self.pending_bytes = 0
        self.sent_messages = 0
        self._outbox: deque[str] = deque()
        self._handover_lock = threading.Lock()
        self._in_flight = 0
        self._wake = asyncio.Event()
        self._done = False

    # ------------------------------------------------------------------ outgoing

    def offer(self, message: str) -> None:
        """Queue a message; any thread (writes may come from other threads).

        Messages handed over from other threads go through the loop's FIFO; while any are in
        flight, the loop's own messages queue behind them, so write order holds across threads.
        """
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        with self._handover_lock:
            if running is self.loop and not self._in_flight:
                self._offer_now(message)
                return
            self._in_flight += 1
        if running is self.loop:
            self.loop.call_soon(self._offer_handed_over, message)
        else:
            self.loop.call_soon_threadsafe(self._offer_handed_over, message)

    def _offer_handed_over(self, message: str) -> None:
        with self._handover_lock:
            self._in_flight -= 1
        self._offer_now(message)

    def _offer_now(self, message: str) -> None:
        if self._done:
            return
        self.pending_bytes += len(message)
        if self.pending_bytes > self.max_pending_bytes:
            self.overflowed = self._done = True
            self._outbox.clear()
            self.pending_bytes = 0
            log.info("WebSocket client not reading: connection cut (%s)", self.ns)
            transport = self.request.transport
            if transport is not None:
                transport.abort()
            self._wake.set()
            return
        self._outbox.append(message)
        self._wake.set()

    async def run_sender(self) -> None:
        """Send queued messages, frame by frame, until the connection ends."""
        try:
            while not self._done:
                await self._wake.wait()
                self._wake.clear()
                while self._outbox and not self._done:
                    message = self._outbox.popleft()
                    for frame in wsproto.split_frames(message):
                        await self.ws.send_str(frame)
                    self.pending_bytes -= len(message)
                    self.sent_messages += 1
        except (ConnectionError, OSError):
            self._done = True  # the peer is gone; the receiving side ends the connection

    def finish(self) -> None:
        """Stop sending (the socket is closing)."""
        self._done = True
        self._outbox.clear()
        self._wake.set()

    # ------------------------------------------------------------------ incoming

    def receive(self, frame: str) -> bool:
        """Handle one text frame; ``False`` when the connection must be closed."""
        try:
            text = self.assembler.feed(frame)
        except wsproto.FrameError as exc:
            self.api.close_reason(self, WSCloseCode.MESSAGE_TOO_BIG, str(exc))
            return False
        if text is None:
            return True
        try:
            message = parse_json(text)
        except ServiceError:
            self.api.close_reason(self, WSCloseCode.PROTOCOL_ERROR, "message is not JSON")
            return False
        if not isinstance(message, dict) or message.get("t") not in ("c", "d"):
            self.api.close_reason(self, WSCloseCode.PROTOCOL_ERROR, "not a protocol message")
            return False
        body = message.get("d")
        if message["t"] == "c":
            if isinstance(body, dict) and body.get("t") == "p":
                self.offer(wsproto.PONG)
            return True
        if not isinstance(body, dict):
            self.api.close_reason(self, WSCloseCode.PROTOCOL_ERROR, "data message without d")
            return False
        number = body.get("r")
        if isinstance(number, bool) or not isinstance(number, int | str):
            return True  # no request number, nothing to answer: ignored
        try:
            status, data = self.api.dispatch(self, body.get("a"), body.get("b"))
        except ServiceError as exc:
            status = DENIED if exc.code is Code.PERMISSION_DENIED else INVALID
            data = wsproto.dumps(exc.message)
            if status == DENIED:
                self.api.statuses[DENIED] = self.api.statuses.get(DENIED, 0) + 1
        except _Datastale:
            status, data = DATASTALE, wsproto.dumps("The transaction needs to be run again")
        except (RecursionError, ValueError, TypeError, ArithmeticError):
            log.warning("unvalidated WebSocket input", exc_info=True)
            status, data = INVALID, wsproto.dumps("Invalid request")
        except Exception:
            # A bug of ours: answered, logged, and the connection (and server) carry on.
            log.exception("internal error serving a WebSocket request")
            status, data = "internal_error", wsproto.dumps("Internal error in the emulator")
        self.offer(wsproto.response(number, status, data))
        return True


class WebSocketApi:
    """The ``/.ws`` endpoint: accepts connections and turns writes into pushes."""

    def __init__(
        self,
        state: DatabaseState,
        *,
        project: str,
        heartbeat: float = 30.0,
        max_pending_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.state = state
        self.project = project
        self.heartbeat = heartbeat
        self.max_pending_bytes = max_pending_bytes
        self.connections: set[Connection] = set()
        self.closing = False
        # Listens by namespace; read and changed only under the state lock.
        self._listens: dict[str, list[WsListen]] = {}
        #: statistics: answers by status, connections cut for not reading
        self.statuses: dict[str, int] = {}
        self.overflows = 0
        state.add_write_hook(self._on_write)

    # ------------------------------------------------------------------ connections

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Upgrade ``GET /.ws`` and serve the connection until it ends."""
        params = parse_query_string(request.rel_url.raw_query_string)
        try:
            ns = namespace_for(params, request.host, self.project)
        except ServiceError as exc:
            return error_response(exc.message)
        ws = web.WebSocketResponse(
            heartbeat=self.heartbeat, max_msg_size=MAX_WS_FRAME_BYTES, timeout=2.0
        )
        if not ws.can_prepare(request).ok:
            return error_response("Expected a WebSocket upgrade on /.ws")
        if self.closing:
            return error_response("The emulator is shutting down", 503)
        await ws.prepare(request)
        conn = Connection(self, ws, request, ns, self.max_pending_bytes)
        self.connections.add(conn)
        session = secrets.token_hex(16)
        conn.offer(wsproto.handshake(self.state.now_ms(), request.host, session))
        sender = asyncio.create_task(conn.run_sender())
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    if not conn.receive(msg.data):
                        break
                elif msg.type is WSMsgType.BINARY:
                    self.close_reason(conn, WSCloseCode.UNSUPPORTED_DATA, "binary frame")
                    break
                else:
                    break
                if sender.done():
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            self.connections.discard(conn)
            if conn.overflowed:
                self.overflows += 1
            conn.finish()
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            self._end(conn)
            if not ws.closed:
                try:
                    await ws.close(code=conn.close_code)
                except (TimeoutError, ConnectionError, OSError):
                    pass
        return ws

    def close_reason(self, conn: Connection, code: int, reason: str) -> None:
        """Record why the server closes ``conn`` (used as the close code)."""
        log.info("closing WebSocket (%s): %s", conn.ns, reason)
        conn.close_code = code

    async def close_all(self, _app: web.Application | None = None) -> None:
        """Close every connection with 1001 (going away); onDisconnect operations run."""
        self.closing = True
        for conn in list(self.connections):
            conn.finish()
            try:
                await conn.ws.close(code=WSCloseCode.GOING_AWAY)
            except (TimeoutError, ConnectionError, OSError):
                pass

    def _end(self, conn: Connection) -> None:
        with self.state.lock:
            listens = self._listens.get(conn.ns, [])
            for listen in conn.listens.values():
                if listen in listens:
                    listens.remove(listen)
            conn.listens.clear()
        conn.identity = ADMIN  # the rules were checked when each operation was registered
        for op in conn.on_disconnect:
            try:
                self._apply(conn, op.action, op.path, op.is_priority, op.data, None)
            except ServiceError as exc:
                log.info("onDisconnect %s at /%s failed: %s", op.action, "/".join(op.path), exc)
        conn.on_disconnect.clear()

    # ------------------------------------------------------------------ requests

    def dispatch(self, conn: Connection, action: object, body: object) -> tuple[str, str]:
        """Run one request; return its status and data JSON. Raises ``ServiceError``."""
        if not isinstance(body, dict):
            if action in ("unauth", "unappeck") and body is None:
                body = {}
            else:
                raise invalid("b must be an object")
        status, data = self._dispatch(conn, action, body)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        return status, data

    def _dispatch(self, conn: Connection, action: object, body: dict[str, Any]) -> tuple[str, str]:
        if action in ("p", "m"):
            path, is_priority = wsproto.parse_path(body.get("p"))
            if "d" not in body:
                raise invalid("d is required")
            expected = body.get("h")
            if expected is not None and not isinstance(expected, str):
                raise invalid("h must be a string")
            try:
                self._apply(conn, action, path, is_priority, body["d"], expected)
            except _Datastale:
                self.statuses[DATASTALE] = self.statuses.get(DATASTALE, 0) + 1
                raise
            return OK, _EMPTY_JSON
        if action == "q":
            return OK, self._listen(conn, body)
        if action == "n":
            self._unlisten(conn, body)
            return OK, "{}"
        if action == "g":
            return OK, self._get(conn, body)
        if action in ("o", "om"):
            path, is_priority = wsproto.parse_path(body.get("p"))
            data = body.get("d")
            if action == "om" and is_priority:
                raise invalid("Cannot merge into a priority")
            # Validate now, as the server does, on a scratch tree: refused data is reported
            # to the client at once instead of failing silently at disconnect.
            # The rules are checked now too, against the current data (only now, as production).
            scratch = Tree(self.state.now_ms)
            with self.state.lock:
                authorize = self._authorizer(conn)
                if action == "om":
                    scratch.update(path, data, authorize=authorize)
                elif is_priority:
                    scratch.set_priority(path, data, authorize=authorize)
                else:
                    scratch.set(path, data, authorize=authorize)
            conn.on_disconnect.append(_OnDisconnect(action, path, is_priority, data))
            return OK, _EMPTY_JSON
        if action == "oc":
            path, _ = wsproto.parse_path(body.get("p"))
            with self.state.lock:
                tree = self.state.tree(conn.ns)
                allowed = self.state.security(conn.ns).can_write(
                    conn.identity, tree.node, path, self.state.now_ms()
                )
            if not allowed:
                raise ServiceError(Code.PERMISSION_DENIED, "Permission denied")
            conn.on_disconnect = [op for op in conn.on_disconnect if not is_prefix(path, op.path)]
            return OK, _EMPTY_JSON
        if action in ("auth", "gauth"):
            cred = body.get("cred")
            if not isinstance(cred, str) or not cred:
                raise invalid("cred must be a token")
            try:
                identity = ADMIN if cred == "owner" else Identity(claims=decode_claims(cred))
            except InvalidToken:
                if action == "auth":
                    return "invalid_token", wsproto.dumps("Could not parse auth token.")
                identity = ADMIN  # a Google OAuth access token: an administrator's credential
            self._set_identity(conn, _acting_as(identity, body))
            claims = identity.claims
            expires = claims.get("exp") if claims is not None else None
            return OK, wsproto.dumps({"auth": conn.identity.auth_variable(), "expires": expires})
        if action in ("unauth", "appcheck", "unappeck", "s"):
            if action == "unauth":
                self._set_identity(conn, NOBODY)
            return OK, _EMPTY_JSON
        raise invalid(f"Unknown action {action!r}")

    def _authorizer(self, conn: Connection) -> Authorize:
        """The rules check of a write by ``conn`` (call and use under the state lock)."""
        rules = self.state.security(conn.ns)
        tree = self.state.tree(conn.ns)
        identity = conn.identity

        def authorize(planned: list[tuple[Path, Any]]) -> None:
            rules.check_write(identity, tree.node, planned, self.state.now_ms())

        return authorize

    def _set_identity(self, conn: Connection, identity: Identity) -> None:
        """Act as ``identity`` from now on; revoke the listens it may not read."""
        with self.state.lock:
            conn.identity = identity
            rules = self.state.security(conn.ns)
            tree = self.state.tree(conn.ns)
            listens = self._listens.get(conn.ns, [])
            for key, listen in list(conn.listens.items()):
                now = self.state.now_ms()
                if rules.can_read(identity, tree.node, listen.path, listen.query, now):
                    continue
                del conn.listens[key]
                if listen in listens:
                    listens.remove(listen)
                revoked: dict[str, Json] = {"p": "/".join(listen.path)}
                if listen.tag is not None:
                    revoked["q"] = [listen.query_object]
                conn.offer(wsproto.dumps({"t": "d", "d": {"a": "c", "b": revoked}}))

    def _check_read(self, conn: Connection, path: Path, query: Query | None) -> None:
        """Raise PERMISSION_DENIED unless the rules let ``conn`` read ``path`` (under the lock)."""
        tree = self.state.tree(conn.ns)
        rules = self.state.security(conn.ns)
        if not rules.can_read(conn.identity, tree.node, path, query, self.state.now_ms()):
            raise ServiceError(Code.PERMISSION_DENIED, "Permission denied")

    def _apply(
        self,
        conn: Connection,
        action: str,
        path: Path,
        is_priority: bool,
        data: Json,
        expected_hash: str | None,
    ) -> Write:
        def op(tree: Tree) -> Write:
            rules = self._authorizer(conn)

            def authorize(planned: list[tuple[Path, Any]]) -> None:
                rules(planned)  # first: a refused writer learns nothing from the hash
                if expected_hash is not None and node_hash(tree.node(path)) != expected_hash:
                    raise _Datastale()

            if action in ("m", "om"):
                if is_priority:
                    raise invalid("Cannot merge into a priority")
                return tree.update(path, data, authorize=authorize)
            if is_priority:
                return tree.set_priority(path, data, authorize=authorize)
            return tree.set(path, data, authorize=authorize)

        return self.state.write(conn.ns, path, op)

    def _listen(self, conn: Connection, body: dict[str, Any]) -> str:
        path, is_priority = wsproto.parse_path(body.get("p"))
        if is_priority:
            raise invalid("Cannot listen to a priority")
        query = wsproto.parse_query(body.get("q"))
        tag = body.get("t")
        if tag is not None and (isinstance(tag, bool) or not isinstance(tag, int)):
            raise invalid("t must be a number")
        key = (path, wsproto.dumps(body.get("q") or {}))
        listen = WsListen(conn, path, query, tag, body.get("q"))
        with self.state.lock:
            self._check_read(conn, path, query)
            listens = self._listens.setdefault(conn.ns, [])
            old = conn.listens.pop(key, None)
            if old is not None and old in listens:
                listens.remove(old)
            tree = self.state.tree(conn.ns)
            if query is None:
                conn.offer(wsproto.push("d", path, wsproto.dumps(tree.node(path)), tag))
            else:
                self._refresh(tree, listen)
            conn.listens[key] = listen
            listens.append(listen)
        return "{}"

    def _unlisten(self, conn: Connection, body: dict[str, Any]) -> None:
        path, _ = wsproto.parse_path(body.get("p"))
        key = (path, wsproto.dumps(body.get("q") or {}))
        with self.state.lock:
            listen = conn.listens.pop(key, None)
            listens = self._listens.get(conn.ns, [])
            if listen is not None and listen in listens:
                listens.remove(listen)

    def _get(self, conn: Connection, body: dict[str, Any]) -> str:
        path, is_priority = wsproto.parse_path(body.get("p"))
        query = wsproto.parse_query(body.get("q"))
        with self.state.lock:
            self._check_read(conn, path, query)
            tree = self.state.tree(conn.ns)
            if is_priority:
                return wsproto.dumps(tree.priority(path))
            node = tree.node(path)
            selected = tree.select(path, query) if query is not None else None
            if selected is None:
                return wsproto.dumps(node)
            return wsproto.dumps(dict(selected) or None)

    # ------------------------------------------------------------------ fan-out

    def _on_write(self, ns: str, tree: Tree, change: Write) -> None:
        listens = self._listens.get(ns)
        if not listens:
            return
        texts: dict[Path, str] = {}

        def export(path: Path) -> str:
            # Serialised now, under the lock: stored nodes are changed in place by later writes.
            text = texts.get(path)
            if text is None:
                text = texts[path] = wsproto.dumps(tree.node(path))
            return text

        same_write: str | None = None
        by_first: dict[str, list[Path]] | None = None
        for listen in listens:
            where = relation(listen.path, change.path)
            if where is Relation.UNRELATED:
                continue
            if listen.query is not None:
                self._refresh(tree, listen)
                continue
            if where is Relation.AT_OR_BELOW:
                if same_write is None:
                    same_write = self._write_push(change, export)
                message = same_write
            else:
                if change.kind == "patch":
                    if by_first is None:
                        by_first = _by_first_key(change.patch_paths)
                    if not _patch_touches(change.path, by_first, listen.path):
                        continue
                message = wsproto.push("d", listen.path, export(listen.path))
            listen.conn.offer(message)

    @staticmethod
    def _write_push(change: Write, export: Any) -> str:
        if change.kind == "put":
            return wsproto.push("d", change.path, export(change.path))
        assert isinstance(change.data, dict)
        parts = []
        for (name, value), rel in zip(change.data.items(), change.patch_paths, strict=True):
            if name == ".priority" or name.endswith("/.priority"):
                text = wsproto.dumps(value)
            else:
                text = export(change.path + rel)
            parts.append(wsproto.dumps(name) + ":" + text)
        return wsproto.push("m", change.path, "{" + ",".join(parts) + "}")

    @staticmethod
    def _refresh(tree: Tree, listen: WsListen) -> None:
        """Send a filtered listen what changed in its window (see the module docstring)."""
        assert listen.query is not None
        node = tree.node(listen.path)
        selected = tree.select(listen.path, listen.query)
        conn, path, tag = listen.conn, listen.path, listen.tag
        if selected is None:
            text = wsproto.dumps(node)
            if listen.started and listen.window is None and listen.leaf == text:
                return
            listen.window, listen.leaf, listen.started = None, text, True
            conn.offer(wsproto.push("d", path, text, tag))
            return
        window = {key: wsproto.dumps(child) for key, child in selected}
        old = listen.window
        listen.window, listen.leaf = window, None
        if not listen.started or old is None:
            listen.started = True
            body = ",".join(wsproto.dumps(k) + ":" + v for k, v in window.items())
            conn.offer(wsproto.push("d", path, "{" + body + "}" if body else "null", tag))
            return
        parts = [wsproto.dumps(k) + ":" + v for k, v in window.items() if old.get(k) != v]
        parts.extend(wsproto.dumps(k) + ":null" for k in old if k not in window)
        if parts:
            conn.offer(wsproto.push("m", path, "{" + ",".join(parts) + "}", tag))

    def listen_count(self) -> int:
        """Listens currently registered, every connection."""
        with self.state.lock:
            return sum(len(listens) for listens in self._listens.values())


def _by_first_key(patch_paths: tuple[Path, ...]) -> dict[str, list[Path]]:
    # A merge's keys grouped by their first segment: a listener below the merge only needs the
    # keys on its own branch (a 1,000-key fan-out update is then linear, not quadratic).
    grouped: dict[str, list[Path]] = {}
    for rel in patch_paths:
        grouped.setdefault(rel[0] if rel else "", []).append(rel)
    return grouped


def _patch_touches(base: Path, by_first: dict[str, list[Path]], listener: Path) -> bool:
    """Whether a merge at ``base`` (above ``listener``) has a key at, above or inside it."""
    below = listener[len(base) :]  # not empty: the merge is strictly above the listener
    for rel in by_first.get(below[0], ()):
        if is_prefix(rel, below) or is_prefix(below, rel):
            return True
    return False


def _acting_as(identity: Identity, body: dict[str, Any]) -> Identity:
    """An administrator's ``authvar`` (databaseAuthVariableOverride) or ``noauth`` (null)."""
    if not identity.admin:
        return identity
    if body.get("noauth") is True:
        return NOBODY
    override = body.get("authvar")
    if override is None:
        return identity
    if not isinstance(override, dict):
        raise invalid("authvar must be an object")
    token = override.get("token")
    return Identity(claims=token if isinstance(token, dict) else {}, override=override)
