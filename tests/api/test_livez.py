"""``/livez``: the process answers, without the database (issue 12, the bench's HTTP floor)."""

from __future__ import annotations

import inspect

import httpx
from fastapi import FastAPI

from api.routes.health import livez, router
from tests.async_support import run_async


def test_livez_over_http_needs_no_token(anon) -> None:  # type: ignore[no-untyped-def]
    r = anon.get("/livez")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok"}
    head = anon.head("/livez")
    assert head.status_code == 200 and head.content == b""
    assert anon.get("/health").json()["database"] == "up"  # /health stays as it was


def test_livez_answers_with_no_database_at_all() -> None:
    # an app holding only the health routes, no engine on its state: /livez answers, /health
    # (which probes the database) cannot
    assert inspect.iscoroutinefunction(livez)  # on the event loop, not the thread pool
    app = FastAPI()
    app.include_router(router)

    async def get(path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await c.get(path)

    r = run_async(get("/livez"))
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert run_async(get("/health")).status_code == 500  # no engine: only /livez is free of it


def test_livez_is_in_the_openapi_document(anon) -> None:  # type: ignore[no-untyped-def]
    paths = anon.get("/openapi.json").json()["paths"]
    assert "/livez" in paths and "/health" in paths
