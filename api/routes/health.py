"""Liveness and readiness (no token needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import SessionDep
from layers.calendar_tables import ensure_loaded
from layers.deadlines import open_unconfirmed_years

router = APIRouter(tags=["health"])


@router.get("/health")
def health(session: SessionDep) -> dict[str, Any]:
    """``status``, the PostGIS version, and ``calendar_unconfirmed_years``: years without a
    holiday table that open deadlines run into (load them: ``gridgis calendar import FILE``)."""
    postgis = session.execute(text("SELECT postgis_lib_version()")).scalar()
    ensure_loaded(session)
    return {
        "status": "ok",
        "postgis": postgis,
        "calendar_unconfirmed_years": open_unconfirmed_years(session=session),
    }
