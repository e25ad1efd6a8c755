"""Liveness and readiness (no token needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import SessionDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(session: SessionDep) -> dict[str, Any]:
    postgis = session.execute(text("SELECT postgis_lib_version()")).scalar()
    return {"status": "ok", "postgis": postgis}
