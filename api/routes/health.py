"""Liveness and readiness (no token needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import SessionDep
from api.schemas.grids import HealthPublic
from layers.calendar_tables import ensure_loaded
from layers.deadlines import open_unconfirmed_years

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic)
def health(session: SessionDep) -> dict[str, Any]:
    """``status``, ``database`` (``up``, or ``read_only`` while it takes no writes), the PostGIS
    version, and ``calendar_unconfirmed_years``: years without a holiday table that open
    deadlines run into (load them: ``gridgis calendar import FILE``).

    With the database unreachable the answer is 503 problem+json with ``database:
    unavailable`` and ``Retry-After`` (api/errors.py), like every route that needs it."""
    postgis, read_only = session.execute(
        text("SELECT postgis_lib_version(), current_setting('transaction_read_only') = 'on'")
    ).one()
    ensure_loaded(session, check=True)  # right at once, even before a NOTIFY has arrived
    return {
        "status": "ok",
        "database": "read_only" if read_only else "up",
        "postgis": postgis,
        "calendar_unconfirmed_years": open_unconfirmed_years(session=session),
    }
