"""The official emulator's HTTP/1.1 endpoints, served through the front door."""

from __future__ import annotations

import json
from collections.abc import Callable

from emulator.aiohttp_web import web
from emulator.errors import Code

from .listen import ListenEngine
from .store import Store


def build_app(store: Store, engine: ListenEngine, reset: Callable[[], None]) -> web.Application:
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
            return web.json_response({"error": {"code": 400, "message": "invalid JSON"}},
                                     status=400)
        store.rules[request.match_info["project"]] = body
        return web.json_response({"issues": []})

    async def abort_listens(request: web.Request) -> web.Response:
        code = request.query.get("code", Code.UNAVAILABLE.value)
        if code not in {c.value for c in Code} | {"CANCELLED"}:
            return web.json_response({"error": f"unknown code {code}"}, status=400)
        n = engine.end_all(code, "stream aborted by test hook")
        return web.json_response({"aborted": n})

    async def reset_all(_: web.Request) -> web.Response:
        reset()
        return web.json_response({})

    app = web.Application()
    docs = "/emulator/v1/projects/{project}/databases/{database}/documents"
    app.router.add_get("/", root)
    app.router.add_delete(docs, clear)
    app.router.add_delete(docs + "/{path:.*}", clear)
    app.router.add_put("/emulator/v1/projects/{project}:securityRules", rules)
    app.router.add_post("/emulator/v1/testing:abortListenStreams", abort_listens)
    app.router.add_post("/emulator/v1/testing:reset", reset_all)
    return app
