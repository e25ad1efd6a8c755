"""Who to replay: officers with a device, searched by name, grid or device, and the officers
whose fixes fell in a grid on a day (the pickers and links of ``/playback`` and ``/live``)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import Field
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.deps import Reader, SessionDep, parse_day
from api.ingest.pipeline import active_generation_id
from api.schemas.common import Answer
from gis.tracks import UNUSABLE
from layers import accounts, patrol_visits
from layers.people_shown import people_shown, role_name, shown_sql
from layers.workcal import SHANGHAI
from maps.styles import resolve_lang

router = APIRouter(prefix="/api/v1/patrol", tags=["positions"])


class Officer(Answer):
    """An officer's device, the person, the person's role and grid (first current assignment)."""

    device_id: int
    device: str = Field(description="the external id the device sends")
    label: str | None
    person_id: int | None
    name: str = Field(description="the person's name, else the device's label or external id")
    role: str | None = Field(description="staff role (layers.people.StaffRole)")
    role_name: str | None = Field(description="the role in the asked language")
    grid: str | None = Field(description="grid code of the assignment")
    grid_name: str | None


class Officers(Answer):
    officers: list[Officer]
    count: int


class Visitor(Officer):
    fixes: int = Field(description="usable fixes in the grid that day (0: the track crossed it)")
    first: str | None = Field(description="first of them, ISO 8601")
    last: str | None = Field(description="last of them, ISO 8601")
    minutes: float | None = Field(
        None, description="minutes of track in the grid (from the coverage run)"
    )
    metres: float | None = Field(None, description="metres walked in the grid (coverage run)")


class Visits(Answer):
    grid: str
    date: str
    source: str = Field(
        description="coverage_run: the day's whole-day coverage run, the definition of the "
        "front page's grid panel (layers/patrol_visits.py); fixes: no run yet, the devices "
        "with a usable fix in the grid"
    )
    computed_at: str | None = Field(None, description="when that run was computed, ISO 8601")
    officers: list[Visitor]


# one row per active device: its person, the person's first current assignment (role, grid)
# and that grid's name in the active generation (layers.people_shown)
_OFFICER_COLUMNS = "d.id AS device_id, d.external_id AS device, d.label, d.person_id, p.name"
_DEVICES = "device d LEFT JOIN person p ON p.id = d.person_id"
_OFFICERS_SQL = shown_sql(columns=_OFFICER_COLUMNS, source=_DEVICES, where="d.active")


def _officer(row: Any, lang: str) -> dict[str, Any]:
    return {
        "device_id": row["device_id"],
        "device": row["device"],
        "label": row["label"],
        "person_id": row["person_id"],
        "name": row["name"] or row["label"] or row["device"],
        "role": row["role"],
        "role_name": role_name(row["role"], lang),
        "grid": row["grid"],
        "grid_name": row["grid_name"],
    }


def _visible(session: Session, principal: Any) -> set[int] | None:
    """Person ids the caller may see (None: everyone, devices of nobody included)."""
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    return accounts.people_in_scope(session=session, codes=codes)


@router.get(
    "/officers",
    summary="Officers with a device, searched by name, grid or device",
    response_model=Officers,
)
def search_officers(
    request: Request,
    session: SessionDep,
    principal: Reader,
    q: Annotated[
        str,
        Query(
            max_length=100,
            description="part of a name, a grid code prefix or grid name, "
            "a device id, external id or label; empty: everyone (up to limit)",
        ),
    ] = "",
    device: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="one device id")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    lang: Annotated[str, Query(description="zh or en: the language of role_name")] = "zh",
) -> dict[str, Any]:
    """``{"officers": [{device_id, device, label, person_id, name, role, role_name, grid,
    grid_name}], "count"}`` inside the caller's scope (layers.accounts.people_in_scope), best
    matches first (a name or device starting with ``q`` before one containing it)."""
    gen = active_generation_id(request.app.state, session)
    rows = people_shown(
        session=session, generation_id=gen, lang=lang, allowed=_visible(session, principal),
        columns=_OFFICER_COLUMNS, source=_DEVICES, where="d.active", order="d.id",
    )  # fmt: skip
    needle = q.strip().lower()
    ranked: list[tuple[int, dict[str, Any]]] = []
    for row in rows:
        if device is not None and row["device_id"] != device:
            continue
        words = [row["name"], row["device"], row["label"], str(row["device_id"])]
        texts = [w.lower() for w in words if w]
        grid_words = [w for w in (row["grid"], (row["grid_name"] or "").lower()) if w]
        if not needle or any(w.startswith(needle) for w in texts):
            rank = 0
        elif any(needle in w for w in texts) or any(w.startswith(needle) for w in grid_words):
            rank = 1
        elif any(needle in w for w in grid_words):
            rank = 2
        else:
            continue
        ranked.append((rank, _officer(row, resolve_lang(lang))))
    ranked.sort(key=lambda r: r[0])
    officers = [o for _, o in ranked[:limit]]
    return {"officers": officers, "count": len(officers)}


@router.get(
    "/visits",
    summary="The officers whose fixes fell in a grid on a day",
    response_model=Visits,
)
def grid_visits(
    request: Request,
    session: SessionDep,
    principal: Reader,
    grid: Annotated[str, Query(pattern=r"^[0-9]{9}([0-9]{3}){0,2}$", description="grid code")],
    date_: Annotated[str, Query(alias="date", description="YYYY-MM-DD, Asia/Shanghai")],
    lang: Annotated[str, Query(description="zh or en: the language of role_name")] = "zh",
) -> dict[str, Any]:
    """``{"grid", "date", "source", "computed_at", "officers": [officer (as /officers) + fixes,
    first, last (ISO 8601), minutes, metres]}``: the officers who patrolled ``grid`` (any level)
    on ``date`` (Asia/Shanghai) by the one definition of layers/patrol_visits.py, the one the
    front page's grid panel counts: the devices of the day's latest whole-day coverage run that
    covered part of the grid, most minutes first (``source: coverage_run``). ``fixes``/``first``/
    ``last`` are their usable fixes inside the grid that day (0/None when only the track crossed
    it). A day without a run yet (``source: fixes``): the devices with a usable fix whose grid
    (stored at ingest, L3) lies in ``grid``, most fixes first. 403 for a grid outside the
    caller's scope. Days archived to GeoParquet are not searched."""
    day = parse_day(date_)
    accounts.require_in_scope(
        session=session, identity=principal.identity, grid_code=grid, what=f"grid {grid}"
    )
    start = datetime.combine(day, time(0), tzinfo=SHANGHAI)
    gen = active_generation_id(request.app.state, session)
    found = patrol_visits.grid_visits(session=session, day=day, code=grid)
    fixes_in_grid = (
        "WITH v AS (SELECT device_id, count(*) AS fixes, min(fix_time) AS first, "
        "max(fix_time) AS last FROM position WHERE fix_time >= :a AND fix_time < :b "
        "AND left(grid_code, length(:g)) = :g AND flags & :bad = 0 GROUP BY device_id) "
    )
    params: dict[str, Any] = {
        "gen": gen,
        "a": start,
        "b": start + timedelta(days=1),
        "g": grid,
        "bad": UNUSABLE,
    }
    covered: dict[int, patrol_visits.GridVisit] = {}
    if found is None:
        sql = (
            fixes_in_grid + "SELECT o.*, v.fixes, v.first, v.last FROM (" + _OFFICERS_SQL + ") o "
            "JOIN v ON v.device_id = o.device_id ORDER BY v.fixes DESC, o.device_id"
        )
    else:
        covered = {v.device_id: v for v in found[1]}
        params["ids"] = list(covered)
        sql = (
            fixes_in_grid
            + "SELECT o.*, coalesce(v.fixes, 0) AS fixes, v.first, v.last FROM ("
            + _OFFICERS_SQL
            + ") o LEFT JOIN v ON v.device_id = o.device_id "
            "WHERE o.device_id = ANY(:ids)"
        )
    rows = list(session.execute(text(sql), params).mappings())
    if covered:
        order = {d: k for k, d in enumerate(covered)}
        rows.sort(key=lambda r: order[r["device_id"]])
    allowed = _visible(session, principal)
    officers = [
        {
            **_officer(r, resolve_lang(lang)),
            "fixes": r["fixes"],
            "first": r["first"].isoformat() if r["first"] else None,
            "last": r["last"].isoformat() if r["last"] else None,
            "minutes": covered[r["device_id"]].minutes if covered else None,
            "metres": covered[r["device_id"]].metres if covered else None,
        }
        for r in rows
        if allowed is None or r["person_id"] in allowed
    ]
    return {
        "grid": grid,
        "date": day.isoformat(),
        "source": "fixes" if found is None else "coverage_run",
        "computed_at": None if found is None else found[0].computed_at.isoformat(),
        "officers": officers,
    }
