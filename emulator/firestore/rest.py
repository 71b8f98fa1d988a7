"""The official emulator's HTTP/1.1 endpoints, served through the front door."""

from __future__ import annotations

import json
from collections.abc import Callable

from emulator.aiohttp_web import web
from emulator.errors import Code

from .listen import ListenEngine
from .security.guard import Guard, RulesError
from .store import Store


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {"error": {"code": status, "message": message, "status": code}}, status=status
    )


def _rules_source(body: object) -> str | None:
    """The rules text of a ``{"rules": {"files": [{"content": ...}]}}`` upload."""
    if not isinstance(body, dict) or not isinstance(body.get("rules"), dict):
        return None
    files = body["rules"].get("files")
    if not isinstance(files, list) or len(files) != 1 or not isinstance(files[0], dict):
        return None
    content = files[0].get("content")
    return content if isinstance(content, str) else None


#: what aiohttp reads of a request body before refusing it.
REST_BODY_LIMIT = 32 * 1024 * 1024


def build_app(
    store: Store, engine: ListenEngine, reset: Callable[[], None], guard: Guard
) -> web.Application:
    """Routes: reset (whole database or one collection), security rules, health, test hook."""

    async def root(_: web.Request) -> web.Response:
        return web.Response(text="Ok")

    async def clear(request: web.Request) -> web.Response:
        key = (request.match_info["project"], request.match_info["database"])
        path = request.match_info.get("path", "").strip("/")
        store.reset(key, path or None)
        return web.json_response({})

    async def rules(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "INVALID_ARGUMENT", "invalid JSON")
        source = _rules_source(body)
        if source is None:
            return _error(400, "INVALID_ARGUMENT",
                          'expected {"rules": {"files": [{"content": "..."}]}}')
        try:
            warnings = guard.set_rules(request.match_info["project"], source)
        except RulesError as exc:
            return _error(400, "INVALID_ARGUMENT", exc.message)
        if not warnings:
            return web.json_response({})
        issues = [
            {
                "sourcePosition": {"fileName": "firestore.rules", "line": w.line,
                                   "column": w.column},
                "description": w.message,
                "severity": "WARNING",
            }
            for w in warnings
        ]
        return web.json_response({"issues": issues})

    async def get_rules(request: web.Request) -> web.Response:
        source = guard.rules_text(request.match_info["project"])
        if source is None:
            return web.json_response({})
        return web.json_response({"rules": {"files": [{"content": source}]}})

    async def abort_listens(request: web.Request) -> web.Response:
        code = request.query.get("code", Code.UNAVAILABLE.value)
        if code not in {c.value for c in Code} | {"CANCELLED"}:
            return web.json_response({"error": f"unknown code {code}"}, status=400)
        n = engine.end_all(code, "stream aborted by test hook")
        return web.json_response({"aborted": n})

    async def reset_all(_: web.Request) -> web.Response:
        reset()
        return web.json_response({})

    # Above the 10 MiB API limit (JSON is larger than protobuf): the REST API names the limit.
    app = web.Application(client_max_size=REST_BODY_LIMIT)
    docs = "/emulator/v1/projects/{project}/databases/{database}/documents"
    app.router.add_get("/", root)
    app.router.add_delete(docs, clear)
    app.router.add_delete(docs + "/{path:.*}", clear)
    app.router.add_put("/emulator/v1/projects/{project}:securityRules", rules)
    app.router.add_get("/emulator/v1/projects/{project}:securityRules", get_rules)
    app.router.add_post("/emulator/v1/testing:abortListenStreams", abort_listens)
    app.router.add_post("/emulator/v1/testing:reset", reset_all)
    return app
