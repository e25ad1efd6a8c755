"""Devices of staff (register, rotate secret, list) and a device's track for playback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import Admin, Reader, SessionDep, parse_at
from api.errors import InvalidParameter, problem
from layers.devices import DeviceNotFound, create_device, get_device, list_devices, rotate_secret
from layers.people import Person
from layers.tracks import device_track

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])

TRACK_MAX_SPAN = timedelta(days=7)


class DeviceCreate(BaseModel):
    external_id: str = Field(min_length=1, max_length=100, description="what the client sends")
    person_id: int | None = None
    label: str | None = None
    with_secret: bool = True


def _public(device: Any, person: Person | None) -> dict[str, Any]:
    return {
        "id": device.id,
        "external_id": device.external_id,
        "label": device.label,
        "active": device.active,
        "has_secret": device.secret_hash is not None,
        "person": None if person is None else {"id": person.id, "name": person.name},
    }


@router.get("", summary="All devices with their staff")
def read_devices(session: SessionDep, _: Reader) -> dict[str, Any]:
    data = [_public(d, p) for d, p in list_devices(session=session)]
    return {"data": data, "count": len(data)}


@router.post("", status_code=201, summary="Register a device (its secret is shown only now)")
def create_device_route(body: DeviceCreate, session: SessionDep, _: Admin) -> dict[str, Any]:
    if body.person_id is not None and session.get(Person, body.person_id) is None:
        raise InvalidParameter(f"no person with id {body.person_id}", field="person_id")
    device, secret = create_device(
        session=session,
        external_id=body.external_id,
        person_id=body.person_id,
        label=body.label,
        with_secret=body.with_secret,
    )
    person = session.get(Person, device.person_id) if device.person_id else None
    return {**_public(device, person), "secret": secret}


@router.post("/{device_id}/secret", summary="Issue a new secret (the old one stops working)")
def rotate_device_secret(device_id: int, session: SessionDep, _: Admin) -> dict[str, Any]:
    return {"id": device_id, "secret": rotate_secret(session=session, device_id=device_id)}


def _range(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    a = parse_at(start, "from")
    b = parse_at(end, "to")
    if a is None and b is None:
        b, a = now, now - timedelta(hours=24)
    elif a is None:
        a = b - timedelta(hours=24)  # type: ignore[operator]
    elif b is None:
        b = a + timedelta(hours=24)
    assert a is not None and b is not None
    if b <= a:
        raise InvalidParameter(f"to ({b.isoformat()}) is not after from", field="to")
    if b - a > TRACK_MAX_SPAN:
        raise InvalidParameter("ask for at most 7 days at a time", field="to")
    return a, b


@router.get("/{device_id}/track", summary="A device's track: segments, stops, mileage")
def read_track(
    request: Request,
    device_id: int,
    session: SessionDep,
    _: Reader,
    from_: Annotated[str | None, Query(alias="from", description="ISO 8601 or a date")] = None,
    to: Annotated[str | None, Query(description="ISO 8601 or a date (default from + 24 h)")] = None,
    simplify: Annotated[float, Query(ge=0, le=1000, description="tolerance in metres")] = 0.0,
) -> Any:
    """GeoJSON (EPSG:4490): a LineString per segment (split at GPS silences over 5 min) with
    per-vertex ``times`` (epoch ms), a Point per stop (30 m, 2 min) with ``duration_s``, and a
    ``summary`` with ``mileage_m``, ``patrol_time_s`` and ``moving_time_s``."""
    a, b = _range(from_, to)
    try:
        get_device(session=session, device_id=device_id)
    except DeviceNotFound as exc:
        return problem(404, "Device not found", exc.detail, field="device_id")
    track = device_track(
        session=session,
        device_id=device_id,
        start=a,
        end=b,
        simplify_m=simplify,
        metric_srid=request.app.state.settings.geo.metric_srid,
    )
    # orjson directly: FastAPI's generic encoder walks every vertex in Python (5,760 fixes of
    # an 8 h day cost more to encode than to compute)
    return Response(orjson.dumps(track), media_type="application/geo+json")
