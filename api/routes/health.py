"""Liveness and readiness (no token needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.health_probe import probe_of
from api.schemas.grids import HealthPublic

router = APIRouter(tags=["health"])


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
