"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) so civic apps can file and follow.

JSON only (``.json`` suffix optional). ``services`` is public; ``requests`` need a token, given
as ``api_key`` (the Open311 way) or as ``Authorization: Bearer``. Coordinates are WGS 84
``lat``/``long`` as the standard says; times are W3C (ISO 8601 with offset, Asia/Shanghai).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from api.deps import SessionDep, check_lonlat, parse_at
from api.errors import InvalidParameter
from api.routes.events import read_body
from gis.crs import Datum, to_cgcs2000
from layers import auth
from layers.errors import AuthError
from layers.events import intake
from layers.events.dictionary import get_subclass
from layers.events.models import Event, EventClass, EventSource, EventStatus, EventSubclass
from layers.events.workflow import Actor
from layers.workcal import SHANGHAI

router = APIRouter(prefix="/open311/v2", tags=["open311"])
CLOSED = (EventStatus.CLOSED, EventStatus.REJECTED)


def _w3c(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(SHANGHAI).isoformat(timespec="seconds")


def _actor(request: Request, session: Any, api_key: str | None) -> Actor:
    header = request.headers.get("authorization", "")
    value = api_key or (header[7:].strip() if header.lower().startswith("bearer ") else None)
    if not value:
        raise AuthError("Open311 requests need api_key=<token>", field="api_key")
    token = auth.verify_token(session=session, value=value)
    return Actor(token.id, token.person_id, token.role, token.name)


@router.get("/services", summary="Open311 service list")
@router.get("/services.json", include_in_schema=False)
def services(session: SessionDep) -> list[dict[str, Any]]:
    rows = session.execute(
        select(EventSubclass, EventClass.name)
        .join(EventClass, EventClass.code == EventSubclass.class_code)
        .where(EventSubclass.active)
        .order_by(EventSubclass.code)
    )
    return [
        {
            "service_code": s.code,
            "service_name": s.name,
            "description": s.accept_rule,
            "metadata": False,
            "type": "realtime",
            "keywords": s.department,
            "group": group,
        }
        for s, group in rows
    ]


@router.get("/services/{code}", summary="Open311 service definition")
def service_definition(session: SessionDep, code: str) -> dict[str, Any]:
    code = code.removesuffix(".json")
    get_subclass(session=session, code=code, field="service_code")
    return {"service_code": code, "attributes": []}


def _request(event: Event, lon: float, lat: float, name: str) -> dict[str, Any]:
    updated = max(
        t
        for t in (
            event.reported_at,
            event.accepted_at,
            event.dispatched_at,
            event.handled_at,
            event.closed_at,
        )
        if t is not None
    )
    return {
        "service_request_id": str(event.id),
        "status": "closed" if event.status in CLOSED else "open",
        "status_notes": event.status.value,
        "service_name": name,
        "service_code": event.subclass_code,
        "description": event.description,
        "agency_responsible": event.department,
        "service_notice": None,
        "requested_datetime": _w3c(event.reported_at),
        "updated_datetime": _w3c(updated),
        "expected_datetime": _w3c(event.deadline_at),
        "address": event.address,
        "address_id": None,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": None,
    }


def _query(session: Any, stmt: Any) -> list[dict[str, Any]]:
    from sqlalchemy import func

    rows = session.execute(
        stmt.add_columns(func.ST_X(Event.geom), func.ST_Y(Event.geom), EventSubclass.name).join(
            EventSubclass, EventSubclass.code == Event.subclass_code
        )
    ).all()
    out = []
    for event, x, y, name in rows:
        # Stored CGCS2000; Open311 speaks WGS 84 (the two differ by centimetres: same frame).
        out.append(_request(event, round(float(x), 7), round(float(y), 7), name))
    return out


@router.post("/requests", status_code=201, summary="Open311: file a service request")
@router.post("/requests.json", status_code=201, include_in_schema=False)
async def create_request(request: Request, session: SessionDep) -> list[dict[str, Any]]:
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        data = dict((await request.form()).items())
        photos: list[intake.Photo] = []
    else:
        data, photos = await read_body(request)
    actor = _actor(request, session, data.get("api_key") or request.query_params.get("api_key"))
    for key in ("service_code", "lat", "long", "description"):
        if not data.get(key):
            raise InvalidParameter(f"{key} is required (Open311 GeoReport v2)", field=key)
    try:
        lat, lon = float(data["lat"]), float(data["long"])
    except (TypeError, ValueError):
        raise InvalidParameter(
            "lat and long must be numbers (WGS 84 degrees)", field="lat"
        ) from None
    check_lonlat(lon, lat)
    get_subclass(session=session, code=str(data["service_code"]), field="service_code")
    x, y = to_cgcs2000(np.array([lon]), np.array([lat]), Datum.WGS84)
    name = " ".join(str(data.get(k, "")) for k in ("first_name", "last_name")).strip()
    event = intake.create_event(
        session=session,
        actor=actor,
        lon=float(x[0]),
        lat=float(y[0]),
        subclass_code=str(data["service_code"]),
        description=str(data["description"]),
        source=EventSource.PUBLIC,
        address=data.get("address_string"),
        reporter_name=name or None,
        photos=photos,
        ignore_duplicates=True,
    )
    return [
        {
            "service_request_id": str(event.id),
            "service_notice": "已受理，请留意处理进展",
            "account_id": None,
        }
    ]


@router.get("/requests", summary="Open311: service requests")
@router.get("/requests.json", include_in_schema=False)
def list_requests(
    request: Request,
    session: SessionDep,
    api_key: str | None = None,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> list[dict[str, Any]]:
    _actor(request, session, api_key)
    stmt = select(Event)
    if service_request_id:
        ids = [int(i) for i in service_request_id.split(",") if i.strip().isdigit()]
        stmt = stmt.where(Event.id.in_(ids))
    if service_code:
        stmt = stmt.where(Event.subclass_code.in_(service_code.split(",")))
    if (a := parse_at(start_date, "start_date")) is not None:
        stmt = stmt.where(Event.reported_at >= a)
    if (b := parse_at(end_date, "end_date")) is not None:
        stmt = stmt.where(Event.reported_at <= b)
    if status:
        if status not in ("open", "closed"):
            raise InvalidParameter("status is open or closed", field="status")
        closed = Event.status.in_(list(CLOSED))
        stmt = stmt.where(closed if status == "closed" else ~closed)
    if not (service_request_id or start_date or end_date):  # the standard's default window
        stmt = stmt.where(Event.reported_at >= func_now_minus_90_days())
    return _query(session, stmt.order_by(Event.reported_at.desc()).limit(limit))


def func_now_minus_90_days() -> Any:
    from sqlalchemy import func, text

    return func.now() - text("interval '90 days'")


@router.get("/requests/{request_id}", summary="Open311: one service request")
def read_request(
    request: Request, session: SessionDep, request_id: str, api_key: str | None = None
) -> list[dict[str, Any]]:
    _actor(request, session, api_key)
    rid = request_id.removesuffix(".json")
    if not rid.isdigit():
        raise InvalidParameter(f"service_request_id {rid!r} is not a number", field="request_id")
    found = _query(session, select(Event).where(Event.id == int(rid)))
    if not found:
        from api.routes.events import EventNotFound

        raise EventNotFound(f"no service request {rid}", field="request_id")
    return found
