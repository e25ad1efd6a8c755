"""Liveness and readiness (no token needed): ``/livez`` (the process answers, no database)
and ``/health`` (the database too)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from api.health_probe import probe_of
from api.schemas.grids import HealthPublic

router = APIRouter(tags=["health"])


class LivezPublic(BaseModel):
    status: Literal["ok"] = "ok"


@router.get("/livez", response_model=LivezPublic)
async def livez() -> dict[str, str]:
    """``{"status": "ok"}`` as soon as the process serves requests: no database, no token, no
    thread pool (answered on the event loop). For a process supervisor's liveness check (a
    server whose database is down is alive: restarting it would not help; ``/health`` says
    whether the database answers) and as the floor of the HTTP stack alone in
    bench/bench_http_locate.py."""
    return {"status": "ok"}


@router.get("/health", response_model=HealthPublic)
async def health(request: Request) -> dict[str, Any]:
    """``status``, ``database`` (``up``, or ``read_only`` while it takes no writes), the PostGIS
    version, and ``calendar_unconfirmed_years``: years without a holiday table that open
    deadlines run into (load them: ``gridgis calendar import FILE``).

    Answered from the event loop: the probe runs on its own thread and connection
    (api/health_probe.py), never behind the shared thread pool or connection pool (password
    checks, uploads), so it answers while the server is busy with those.

    With the database unreachable the answer is 503 problem+json with ``database:
    unavailable`` and ``Retry-After`` (api/errors.py), like every route that needs it."""
    return await probe_of(request.app.state).run()
