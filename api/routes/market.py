"""Market entities and 双随机 draws (reproducible, recorded immutably)."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request
from pydantic import Field, StrictInt
from sqlalchemy import func, select

from api.coords import client_crs, point_to_cgcs2000
from api.deps import CrsDep, Planner, Reader, RequestBody, SessionDep
from api.errors import STATUS, InvalidParameter
from api.schemas.common import Listing
from api.schemas.people import DrawPublic, DrawRecord, DrawVerified, EntityCreated
from gis.creditcode import credit_code_problem
from layers import accounts
from layers.errors import CodeConflict, InvalidGeometry
from layers.grids import active_generation
from layers.market import (
    CATEGORIES,
    DrawInvalid,
    DrawNotFound,
    InspectionDraw,
    MarketEntity,
    draw_details,
    draw_record,
    get_draw,
    run_draw,
    verify_draw,
)

# Our errors in the one error table (registered here so parallel work never edits it).
STATUS.setdefault(DrawInvalid, (422, "Invalid draw"))
STATUS.setdefault(DrawNotFound, (404, "Draw not found"))

router = APIRouter(prefix="/api/v1", tags=["market"])


class EntityIn(RequestBody):
    credit_code: str = Field(max_length=30)
    name: str = Field(min_length=1, max_length=200)
    category: str = Field(max_length=50)
    address: str | None = Field(default=None, max_length=300)
    lon: float
    lat: float
    crs: str | None = Field(default=None, description="cgcs2000|wgs84|gcj02|bd09 (of lon/lat)")


@router.post(
    "/market-entities",
    status_code=201,
    summary="Register a market entity",
    response_model=EntityCreated,
)
def create_entity(
    body: EntityIn, request: Request, session: SessionDep, principal: Planner, crs: CrsDep
) -> dict[str, Any]:
    code = body.credit_code.strip().upper()
    if problem := credit_code_problem(code):
        raise InvalidParameter(f"credit_code {code!r}: {problem}", field="credit_code")
    if body.category not in CATEGORIES:
        raise InvalidParameter(
            f"category {body.category!r} is unknown; use one of {', '.join(CATEGORIES)}",
            field="category",
        )
    x, y = point_to_cgcs2000(
        body.lon, body.lat, client_crs(request.query_params.get("crs"), body.crs)
    )
    if session.scalar(select(MarketEntity.id).where(MarketEntity.credit_code == code)):
        raise CodeConflict(f"credit code {code} is already registered", field="credit_code")
    xs, ys = np.array([x]), np.array([y])
    generation = active_generation(session=session)
    city = request.app.state.locators.get(session=session, generation_id=generation.id)
    grid = city.locator.locate(xs, ys).l3[0]
    if grid is None:
        raise InvalidGeometry(
            f"point ({body.lon}, {body.lat}) is outside the city; check lon/lat (lon first) "
            "and the crs parameter",
            field="lon",
        )
    accounts.require_in_scope(  # a town's planner registers entities of the town (issue 11)
        session=session, identity=principal.identity, grid_code=grid,
        what=f"the entity at ({body.lon}, {body.lat})", field="lon",
    )  # fmt: skip
    entity = MarketEntity(
        credit_code=code,
        name=body.name,
        category=body.category,
        address=body.address,
        grid_code=grid,
        geom=f"SRID=4490;POINT({float(xs[0])} {float(ys[0])})",
    )
    session.add(entity)
    session.flush()
    return {"id": entity.id, "credit_code": code, "grid_code": grid}


@router.get(
    "/market-entities",
    summary="The register, filtered by area (grid code) and category",
    response_model=Listing,
)
def list_entities(
    session: SessionDep,
    principal: Reader,
    area: Annotated[str | None, Query()] = None,
    category: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    stmt = select(MarketEntity)
    # The caller's area only (issue 11: a town's dispatcher or officer listed other towns').
    scope = accounts.prefix_clause(
        MarketEntity.grid_code, accounts.scope_codes(session=session, identity=principal.identity)
    )
    if scope is not None:
        stmt = stmt.where(scope)
    if area:
        stmt = stmt.where(MarketEntity.grid_code.startswith(area, autoescape=True))
    if category:
        stmt = stmt.where(MarketEntity.category == category)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(MarketEntity.id).limit(limit).offset(offset))
    data = [
        {
            "id": e.id,
            "credit_code": e.credit_code,
            "name": e.name,
            "category": e.category,
            "grid_code": e.grid_code,
        }
        for e in rows
    ]
    return {"data": data, "count": total}


def _draw_area(record: InspectionDraw) -> str:
    """The grid-code prefix a draw was made in ("" for the whole city)."""
    return str((record.inputs.get("filter") or {}).get("area_code") or "")


def _require_draw_in_scope(session: Any, principal: Any, record: InspectionDraw) -> None:
    """403 unless the draw's area lies inside the caller's scope (its targets are market
    entities of that area; a city-wide draw is the city's)."""
    accounts.require_in_scope(
        session=session, identity=principal.identity, grid_code=_draw_area(record),
        what=f"draw {record.id}",
    )  # fmt: skip


class DrawIn(RequestBody):
    title: str = Field(min_length=1, max_length=200)
    seed: str = Field(min_length=1, max_length=200, description="published before the draw")
    n_targets: StrictInt = Field(ge=1, le=10_000)
    inspectors_per_target: StrictInt = Field(default=2, ge=1, le=5)
    area_code: str | None = Field(
        default=None, max_length=15, description="grid code prefix: town/village"
    )
    category: str | None = Field(default=None, max_length=50)


@router.post(
    "/draws", status_code=201, summary="Make and record a 双随机 draw", response_model=DrawPublic
)
def create_draw(body: DrawIn, session: SessionDep, principal: Planner) -> dict[str, Any]:
    if body.area_code is not None and (
        not body.area_code.isdigit() or len(body.area_code) not in (9, 12, 15)
    ):
        raise InvalidParameter(
            f"area_code {body.area_code!r} is not a grid code (9, 12 or 15 digits)",
            field="area_code",
        )
    accounts.require_in_scope(  # a town's planner draws in the town (give area_code)
        session=session, identity=principal.identity, grid_code=body.area_code or "",
        what="the draw's area (area_code)",
    )  # fmt: skip
    record = run_draw(session=session, created_by=principal.name, **body.model_dump())
    return draw_details(session=session, record=record)


@router.get("/draws", summary="Recorded draws", response_model=Listing)
def list_draws(session: SessionDep, principal: Reader) -> dict[str, Any]:
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    rows = [  # the caller's area only (issue 11)
        d
        for d in session.scalars(
            select(InspectionDraw).order_by(InspectionDraw.id.desc()).limit(200)
        )
        if accounts.in_codes(_draw_area(d), codes)
    ]
    data = [
        {
            "id": d.id,
            "title": d.title,
            "created_at": d.created_at.isoformat(),
            "seed": d.seed,
            "digest": d.digest,
            "targets": len(d.result["targets"]),
        }
        for d in rows
    ]
    return {"data": data, "count": len(data)}


@router.get(
    "/draws/{draw_id}",
    summary="One draw with its targets and inspectors, re-verified",
    response_model=DrawPublic,
)
def read_draw(draw_id: int, session: SessionDep, principal: Reader) -> dict[str, Any]:
    record = get_draw(session=session, draw_id=draw_id)
    _require_draw_in_scope(session, principal, record)
    return draw_details(session=session, record=record)


@router.get(
    "/draws/{draw_id}/verify",
    summary="Re-run the recorded draw and compare",
    response_model=DrawVerified,
)
def verify(draw_id: int, session: SessionDep, principal: Reader) -> dict[str, Any]:
    record = get_draw(session=session, draw_id=draw_id)
    _require_draw_in_scope(session, principal, record)
    return {"id": record.id, "reproduced": verify_draw(record), "digest": record.digest}


@router.get(
    "/draws/{draw_id}/record",
    summary="The full record (seed, inputs, result, digest) to re-run the draw anywhere",
    response_model=DrawRecord,
)
def read_draw_record(draw_id: int, session: SessionDep, principal: Reader) -> dict[str, Any]:
    record = get_draw(session=session, draw_id=draw_id)
    _require_draw_in_scope(session, principal, record)
    return draw_record(record)
