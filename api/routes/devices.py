"""Devices of staff (register, rotate secret, list) and a device's track for playback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import ConfigDict, Field, StrictBool, StrictInt
from pydantic.json_schema import SkipJsonSchema

from api.deps import Admin, Reader, RequestBody, SessionDep, parse_at
from api.errors import STATUS, InvalidParameter, problem
from api.schemas.common import GEOJSON_OBJECT, geojson
from api.schemas.people import DeviceCreated, DevicePublic, DeviceSecret, DevicesPublic
from layers import accounts
from layers.devices import DeviceNotFound, create_device, get_device, list_devices, rotate_secret
from layers.errors import DomainError
from layers.people import Person
from layers.tracks import device_track

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


class DeviceMissing(DomainError):
    """No device with that id, where the id is in the path (404; clients that name an unknown
    device in ingest get 400, as Traccar answers)."""


STATUS.setdefault(DeviceMissing, (404, "Device not found"))

TRACK_MAX_SPAN = timedelta(days=7)


SpeedUnit = Literal["kn", "mps", "kmh"]
SPEED_UNIT_HELP = (
    "unit of the OsmAnd-protocol `speed` this device sends: kn (knots, Traccar Client; the "
    "default), mps (m/s, the OsmAnd app) or kmh"
)
NoNul = Annotated[str, Field(pattern=r"^[^\x00]*$")]


class DeviceCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    external_id: NoNul = Field(min_length=1, max_length=100, description="what the client sends")
    person_id: StrictInt | None = Field(default=None, ge=1, le=2**31 - 1)
    label: NoNul | None = Field(default=None, max_length=200)
    with_secret: StrictBool = True
    speed_unit: SpeedUnit = Field(default="kn", description=SPEED_UNIT_HELP)


class DeviceUpdate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    label: NoNul | None = Field(default=None, max_length=200)
    # null is refused for these two (leave them out instead): the document says so
    speed_unit: SpeedUnit | SkipJsonSchema[None] = Field(default=None, description=SPEED_UNIT_HELP)
    active: StrictBool | SkipJsonSchema[None] = None


def _public(device: Any, person: Person | None) -> dict[str, Any]:
    return {
        "id": device.id,
        "external_id": device.external_id,
        "label": device.label,
        "active": device.active,
        "has_secret": device.secret_hash is not None,
        "speed_unit": device.speed_unit,
        "person": None if person is None else {"id": person.id, "name": person.name},
    }


@router.get("", summary="All devices with their staff", response_model=DevicesPublic)
def read_devices(session: SessionDep, principal: Reader) -> dict[str, Any]:
    """Devices of the people inside the caller's scope (layers.accounts.people_in_scope)."""
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    people = accounts.people_in_scope(session=session, codes=codes)
    data = [
        _public(d, p)
        for d, p in list_devices(session=session)
        if people is None or d.person_id in people
    ]
    return {"data": data, "count": len(data)}


@router.post(
    "",
    status_code=201,
    summary="Register a device (its secret is shown only now)",
    response_model=DeviceCreated,
)
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
    device.speed_unit = body.speed_unit
    session.flush()
    person = session.get(Person, device.person_id) if device.person_id else None
    return {**_public(device, person), "secret": secret}


DeviceId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the device's id")]


def _device_or_404(session: Any, device_id: int) -> Any:
    try:
        return get_device(session=session, device_id=device_id)
    except DeviceNotFound as exc:
        raise DeviceMissing(exc.detail, field="device_id") from None


@router.patch(
    "/{device_id}",
    summary="Change a device's label, speed unit or active flag",
    response_model=DevicePublic,
)
def update_device(
    device_id: DeviceId, body: DeviceUpdate, session: SessionDep, _: Admin
) -> dict[str, Any]:
    device = _device_or_404(session, device_id)
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None and name != "label":
            raise InvalidParameter(f"{name} cannot be null; leave it out instead", field=name)
        setattr(device, name, value)
    session.flush()
    person = session.get(Person, device.person_id) if device.person_id else None
    return _public(device, person)


@router.post(
    "/{device_id}/secret",
    summary="Issue a new secret (the old one stops working)",
    response_model=DeviceSecret,
)
def rotate_device_secret(device_id: DeviceId, session: SessionDep, _: Admin) -> dict[str, Any]:
    _device_or_404(session, device_id)
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


@router.get(
    "/{device_id}/track",
    summary="A device's track: segments, stops, mileage",
    **geojson("the track: segments split at gaps, stops, mileage", GEOJSON_OBJECT),
)
def read_track(
    request: Request,
    device_id: DeviceId,
    session: SessionDep,
    principal: Reader,
    from_: Annotated[str | None, Query(alias="from", description="ISO 8601 or a date")] = None,
    to: Annotated[str | None, Query(description="ISO 8601 or a date (default from + 24 h)")] = None,
    simplify: Annotated[float, Query(ge=0, le=1000, description="tolerance in metres")] = 0.0,
) -> Any:
    """GeoJSON (EPSG:4490): a LineString per segment (split at GPS silences over 5 min) with
    per-vertex ``times`` (epoch ms), a Point per stop (30 m, 2 min) with ``duration_s``, and a
    ``summary`` with ``mileage_m``, ``patrol_time_s`` and ``moving_time_s``."""
    a, b = _range(from_, to)
    try:
        device = get_device(session=session, device_id=device_id)
    except DeviceNotFound as exc:
        return problem(404, "Device not found", exc.detail, field="device_id", request=request)
    accounts.require_person_in_scope(
        session=session,
        identity=principal.identity,
        person_id=device.person_id,
        what=f"device {device_id}",
    )
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
