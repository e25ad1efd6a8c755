"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) so civic apps can file and follow.

Every resource answers in JSON or XML by its suffix (``services.json``, ``services.xml``,
``services/0101.xml``, ``requests/12.xml``, ``tokens/gridgis-12.json``, ``discovery.xml``; no
suffix is JSON), and every error is the GeoReport error array ``[{"code", "description"}]``
(XML ``<errors><error><code/><description/></error></errors>``) with 400 (bad request),
403 (api_key missing or invalid) or 404 (unknown service_code, request, token or
jurisdiction_id), never problem+json.

``services``, ``discovery`` and reading requests (``requests.json``, ``requests/{id}.json``)
are public, as GeoReport v2 has it: without a key a request answers its public fields only
(never who reported it: no name, email or phone, as FixMyStreet answers); with a key (its
scope; a wrong key is 403) also those. Filing a request needs a token, given as ``api_key``
(the Open311 way) or as ``Authorization: Bearer``; ``tokens/{token}`` needs none (the spec).
``status_notes`` is the public meaning of the status in the request's language
(:data:`STATUS_NOTES`). ``start_date``..``end_date`` spans at most 90 days (400 beyond, as the
spec allows; one end alone: the 90 days from or up to it). A multipart ``media`` file is the
case's photo, answered as ``media_url`` (``media/{id}/{photo_id}``, public like the request).
``service_notice`` says what the case's status means (:data:`NOTICE`: 已收到，待受理 while
only reported). Coordinates are WGS 84 ``lat``/``long`` as the standard says; a request may
give ``address_string`` (or ``address_id``, a grid/village/town code) instead, placed by our
gazetteer (:mod:`layers.gazetteer`) and answered with the precision of that placement
(``location_precision``: town/village/grid, ``location_radius_m``). ``media_url`` and the
``attribute[code]=value`` answers are stored (:mod:`layers.open311_requests`) and returned.
``jurisdiction_id`` is optional; when given it must be one of ours
(``GRIDGIS_OPEN311_JURISDICTIONS``, default ``jiangyin,320281``). Times are W3C (ISO 8601
with offset, Asia/Shanghai).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import func, select, text
from starlette.concurrency import run_in_threadpool

from api.deps import SessionDep, check_lonlat, parse_at
from api.errors import PayloadTooLarge, UnsupportedMediaType, _field_of
from api.forms import read_form
from api.lang import accept_language
from api.routes.events import read_body
from api.schemas.events import PHOTO_RESPONSES
from api.schemas.open311 import (
    DISCOVERY,
    OPEN311_ERRORS,
    REQUEST_FORM,
    SERVICE,
    SERVICE_DEFINITION,
    SERVICE_REQUEST,
    georeport,
)
from gis.crs import Datum, from_cgcs2000, to_cgcs2000
from layers import accounts, auth
from layers.errors import AuthError, DomainError, Forbidden
from layers.events import intake
from layers.events.access import reach_clause
from layers.events.dictionary import get_subclass
from layers.events.intake import MAX_ACCURACY_M, PLACE_PRECISIONS
from layers.events.models import (
    Event,
    EventClass,
    EventPhoto,
    EventSource,
    EventStatus,
    EventSubclass,
    case_photo,
    event_by_id,
    filed_town_of,
)
from layers.events.town_guests import filed_towns_of
from layers.events.workflow import Actor
from layers.gazetteer import search_places
from layers.open311_requests import MAX_ATTRIBUTE_CHARS, MAX_ATTRIBUTES, Open311Request
from layers.unit_names import names_in_force
from layers.workcal import SHANGHAI

CLOSED = (EventStatus.CLOSED, EventStatus.REJECTED)
MAX_SPAN = timedelta(days=90)  # GeoReport v2: a start_date..end_date range spans 90 days at most
TOKEN_PREFIX = "gridgis-"
XML_TYPE = "application/xml; charset=utf-8"
_ATTRIBUTE = re.compile(r"^attribute\[([^\]]{1,100})\](\[\])?$")
# a time limit's unit in the answer's language (zh, en)
LIMIT_UNITS = {
    "work_hours": ("工作小时", "working hours"),
    "work_days": ("个工作日", "working days"),
}


class Open311Settings(BaseSettings):
    """``GRIDGIS_OPEN311_JURISDICTIONS``: the jurisdiction_id values this endpoint serves."""

    model_config = SettingsConfigDict(env_prefix="GRIDGIS_OPEN311_")
    jurisdictions: str = "jiangyin,320281"

    def ids(self) -> set[str]:
        return {j.strip().lower() for j in self.jurisdictions.split(",") if j.strip()}


class GeoReportError(DomainError):
    """An Open311 error with its GeoReport status (400, 403 or 404)."""

    def __init__(self, status: int, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail, field=field)
        self.status = status


def _status_of(exc: Exception) -> int:
    from layers.events.dictionary import SubclassNotFound

    if isinstance(exc, GeoReportError):
        return exc.status
    if isinstance(exc, AuthError | Forbidden):
        return 403
    if isinstance(exc, SubclassNotFound):
        return 404
    if isinstance(exc, PayloadTooLarge):
        return 413
    if isinstance(exc, UnsupportedMediaType):
        return 415
    return 400


def _wants_xml(request: Request) -> bool:
    return request.url.path.endswith(".xml")


def _xml(root: str, item: str, items: Sequence[Mapping[str, Any]]) -> bytes:
    """A GeoReport XML document: ``<root><item>…</item>…</root>`` (lists repeat their
    singular element: ``attributes`` -> ``attribute``, ``values`` -> ``value``)."""
    top = ET.Element(root)
    for entry in items:
        _fill(ET.SubElement(top, item), entry)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8")


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, sub in value.items():
            if isinstance(sub, list):
                holder = ET.SubElement(element, key)
                singular = key[:-1] if key.endswith("s") else key
                for part in sub:
                    _fill(ET.SubElement(holder, singular), part)
            else:
                _fill(ET.SubElement(element, key), sub)
    elif value is None:
        return
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)


def _answer(
    request: Request, root: str, item: str, items: Sequence[Mapping[str, Any]], status: int = 200
) -> Response:
    if _wants_xml(request):
        return Response(_xml(root, item, items), status_code=status, media_type=XML_TYPE)
    return JSONResponse(list(items), status_code=status)


def georeport_error(request: Request, status: int, description: str) -> Response:
    """The GeoReport error array in the format the request asked for."""
    return _answer(
        request, "errors", "error", [{"code": status, "description": description}], status
    )


class Open311Route(APIRoute):
    """Routes whose errors (domain errors and invalid parameters) are GeoReport arrays."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except DomainError as exc:
                field = f" ({exc.field})" if exc.field else ""
                return georeport_error(request, _status_of(exc), exc.detail + field)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
                where = _field_of(first.get("loc", ()), first.get("type"))  # a JSON pointer
                return georeport_error(request, 400, f"{where}: {first.get('msg')}")

        return handler


router = APIRouter(
    prefix="/open311/v2", tags=["open311"], route_class=Open311Route, responses=OPEN311_ERRORS
)
ARRAY_OF = {"type": "array", "items": SERVICE_REQUEST}


def _w3c(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(SHANGHAI).isoformat(timespec="seconds")


def _identity(request: Request, session: Any, api_key: str | None) -> Any:
    header = request.headers.get("authorization", "")
    value = api_key or (header[7:].strip() if header.lower().startswith("bearer ") else None)
    if not value:
        raise AuthError("Open311 requests need api_key=<token>", field="api_key")
    token = auth.verify_token(session=session, value=value)
    return auth.token_identity(session=session, row=token)  # the token's user, if it has one


def _actor(request: Request, session: Any, api_key: str | None) -> Actor:
    who = _identity(request, session, api_key)
    return Actor(who.token_id, who.person_id, who.role, who.name)


def _presented(request: Request, api_key: str | None) -> bool:
    """Whether the caller gave a key (``api_key`` or ``Authorization: Bearer``)."""
    return bool(api_key) or request.headers.get("authorization", "").lower().startswith("bearer ")


def _reader(request: Request, session: Any, api_key: str | None) -> tuple[bool, Any]:
    """Who reads: ``(private, reach)``. Reading needs no key (GeoReport v2): without one the
    whole city's requests with their public fields; with one (checked: a wrong key is 403) the
    cases the key reaches (a WHERE clause on ``Event``, None: the whole city; the one rule of
    layers.events.access: its scope's and those routed to its person) and who reported them."""
    if not _presented(request, api_key):
        return False, None
    identity = _identity(request, session, api_key)
    codes = accounts.scope_codes(session=session, identity=identity)
    return True, reach_clause(session=session, person_id=identity.person_id, codes=codes)


def _check_jurisdiction(value: Any) -> str | None:
    if value in (None, ""):
        return None
    jurisdiction = str(value).strip().lower()
    served = Open311Settings().ids()
    if jurisdiction not in served:
        raise GeoReportError(
            404,
            f"jurisdiction_id {value!r} is not served here; use {', '.join(sorted(served))}",
            field="jurisdiction_id",
        )
    return jurisdiction


def _split(value: str, fmt_field: str) -> tuple[str, str]:
    """``0101.xml`` -> (``0101``, ``xml``); no suffix is JSON; another suffix is a 404."""
    stem, dot, suffix = value.rpartition(".")
    if not dot:
        return value, "json"
    if suffix not in ("json", "xml"):
        raise GeoReportError(
            404, f"format .{suffix} is not served; use .json or .xml", field=fmt_field
        )
    return stem, suffix


def _fmt(fmt: str) -> None:
    if fmt not in ("json", "xml"):
        raise GeoReportError(404, f"format .{fmt} is not served; use .json or .xml", field="format")


# --- discovery and services -----------------------------------------------------------------


@router.get(
    "/discovery.{fmt}",
    summary="Open311 discovery: where the endpoint is",
    responses=georeport("the discovery document", DISCOVERY),
)
def discovery(request: Request, fmt: str) -> Response:
    _fmt(fmt)
    base = str(request.base_url).rstrip("/") + "/open311/v2"
    doc = {
        "changeset": "2026-11-30T00:00:00+08:00",
        "contact": "GridGIS 网格通 command centre",
        "key_service": "an API token from the administrator (gridgis token create)",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-11-30T00:00:00+08:00",
                "type": "production",
                "formats": ["text/xml", "application/json"],  # plain strings, as the spec's
            }
        ],
    }
    if fmt == "xml":
        top = ET.Element("discovery")
        _fill(top, doc)
        return Response(
            b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top), media_type=XML_TYPE
        )
    return JSONResponse(doc)


def _services(session: Any) -> list[dict[str, Any]]:
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


@router.get(
    "/services",
    summary="Open311 service list (JSON; .json and .xml too)",
    responses=georeport("the services", {"type": "array", "items": SERVICE}),
)
def services(request: Request, session: SessionDep, jurisdiction_id: str | None = None) -> Response:
    _check_jurisdiction(jurisdiction_id)
    return _answer(request, "services", "service", _services(session))


@router.get("/services.{fmt}", include_in_schema=False)
def services_fmt(
    request: Request, session: SessionDep, fmt: str, jurisdiction_id: str | None = None
) -> Response:
    _fmt(fmt)
    _check_jurisdiction(jurisdiction_id)
    return _answer(request, "services", "service", _services(session))


@router.get(
    "/services/{code}",
    summary="Open311 service definition (code.json or code.xml)",
    responses=georeport("the service definition", SERVICE_DEFINITION),
)
def service_definition(
    request: Request, session: SessionDep, code: str, jurisdiction_id: str | None = None
) -> Response:
    code, fmt = _split(code, "service_code")
    _check_jurisdiction(jurisdiction_id)
    get_subclass(session=session, code=code, field="service_code")
    body = {"service_code": code, "attributes": []}
    if fmt == "xml":
        top = ET.Element("service_definition")
        _fill(top, body)
        return Response(
            b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top), media_type=XML_TYPE
        )
    return JSONResponse(body)


# --- requests -------------------------------------------------------------------------------


# What the case's status means to the person who reported it (service_notice): the words of
# its state, never "accepted" while it is only reported. {limit}: the subclass's time limit,
# {department}: who handles it.
NOTICE: dict[EventStatus, tuple[str, str]] = {
    EventStatus.REPORTED: ("已收到，待受理（受理后处理时限 {limit}）",
                           "Received, waiting to be accepted (then {limit} to deal with it)"),
    EventStatus.ACCEPTED: ("已受理，待派遣（处理时限 {limit}，{department}）",
                           "Accepted, to be assigned ({limit} to deal with it, {department})"),
    EventStatus.REJECTED: ("不予受理", "Not accepted"),
    EventStatus.DISPATCHED: ("已派遣至{department}，处理时限 {limit}",
                             "Assigned to {department}, {limit} to deal with it"),
    EventStatus.IN_HANDLING: ("{department}处理中，处理时限 {limit}",
                              "Being dealt with by {department} within {limit}"),
    EventStatus.EXTENSION_REQUESTED: ("{department}处理中，已申请延期",
                                      "Being dealt with by {department}; more time asked for"),
    EventStatus.HANDLED: ("已处理，待核查", "Dealt with, to be checked"),
    EventStatus.VERIFIED: ("已核查，待结案", "Checked, to be closed"),
    EventStatus.CLOSED: ("已结案", "Closed"),
    EventStatus.RETURNED: ("已退回指挥中心，待重新派遣",
                           "Back at the command centre, to be assigned again"),
    EventStatus.PARKED: ("暂缓处理（挂账）", "On hold"),
    EventStatus.REWORK: ("核查未通过，{department}返工处理中",
                         "Not passed at the check; {department} is dealing with it again"),
}  # fmt: skip


# status_notes: what the status means to the public, in the request's language, without the
# workflow's internal state words (reported, in_handling, …).
STATUS_NOTES: dict[EventStatus, tuple[str, str]] = {
    EventStatus.REPORTED: ("已收到，待受理", "Received, waiting to be accepted"),
    EventStatus.ACCEPTED: ("已受理，待派遣", "Accepted, to be assigned"),
    EventStatus.REJECTED: ("不予受理", "Not accepted"),
    EventStatus.DISPATCHED: ("已派遣至责任部门", "Assigned to the department responsible"),
    EventStatus.IN_HANDLING: ("处理中", "Being dealt with"),
    EventStatus.EXTENSION_REQUESTED: ("处理中，需要更多时间", "Being dealt with; more time needed"),
    EventStatus.HANDLED: ("已处理，待核查", "Dealt with, to be checked"),
    EventStatus.VERIFIED: ("已核查，待结案", "Checked, to be closed"),
    EventStatus.CLOSED: ("已办结", "Closed"),
    EventStatus.RETURNED: ("待重新派遣", "To be assigned again"),
    EventStatus.PARKED: ("暂缓处理", "On hold"),
    EventStatus.REWORK: ("返工处理中", "Being dealt with again"),
}
PUBLIC_NOTE_DEFAULT = ("处理中", "In progress")


def request_language(request: Request) -> str:
    """``zh`` or ``en``: ``?lang=``, else ``Accept-Language``, else zh (api/lang.py's rule)."""
    asked = (request.query_params.get("lang") or "").strip().lower()
    if asked in ("zh", "en"):
        return asked
    return accept_language(request.headers.get("accept-language")) or "zh"


def status_note(status: EventStatus, lang: str = "zh") -> str:
    """The public ``status_notes`` of a status (:data:`STATUS_NOTES`) in ``lang``."""
    zh, en = STATUS_NOTES.get(status, PUBLIC_NOTE_DEFAULT)
    return en if lang == "en" else zh


def _notice(subclass: EventSubclass, event: Event, lang: str = "zh") -> str:
    """The ``service_notice`` of a case in its present status (:data:`NOTICE`), in ``lang``
    (:func:`request_language`); the department keeps its own (Chinese) name."""
    en = lang == "en"
    unit = LIMIT_UNITS.get(subclass.limit_unit.value, ("", ""))[en]
    limit = f"{subclass.limit_value:g} {unit}".strip()
    department = (
        event.department
        or subclass.department
        or ("the department responsible" if en else "责任部门")
    )
    words = NOTICE.get(event.status, PUBLIC_NOTE_DEFAULT)[en]
    return words.format(limit=limit, department=department)


def _request(
    event: Event,
    lon: float,
    lat: float,
    subclass: EventSubclass,
    extra: Open311Request | None,
    private: bool = False,
    lang: str = "zh",
) -> dict[str, Any]:
    """One request as GeoReport v2 answers it. ``private`` (a reader with an api_key): also
    who reported it (``reporter_name``, ``email``, ``phone``); without a key only the public
    fields, as FixMyStreet answers."""
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
    placement = (extra.placement if extra is not None else None) or {}
    answer = {
        "service_request_id": str(event.id),
        "status": "closed" if event.status in CLOSED else "open",
        "status_notes": status_note(event.status, lang),
        "service_name": subclass.name,
        "service_code": event.subclass_code,
        "description": event.description,
        "agency_responsible": event.department,
        "service_notice": _notice(subclass, event, lang),
        "requested_datetime": _w3c(event.reported_at),
        "updated_datetime": _w3c(updated),
        "expected_datetime": _w3c(event.deadline_at),
        "address": event.address,
        "address_id": extra.address_id if extra is not None else None,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": extra.media_url if extra is not None else None,
        "attributes": [
            {"code": k, "value": v} for k, v in ((extra.attributes or {}) if extra else {}).items()
        ],
        "location_precision": placement.get("precision", "point"),
        "location_radius_m": placement.get("radius_m"),
    }
    if private:
        answer |= {
            "reporter_name": event.reporter_name,
            "email": extra.email if extra is not None else None,
            "phone": extra.phone if extra is not None else None,
        }
    return answer


def _query(session: Any, stmt: Any, *, private: bool, lang: str = "zh") -> list[dict[str, Any]]:
    rows = session.execute(
        stmt.add_columns(
            func.ST_X(Event.geom), func.ST_Y(Event.geom), EventSubclass, Open311Request
        )
        .join(EventSubclass, EventSubclass.code == Event.subclass_code)
        .outerjoin(
            Open311Request,  # joined on the shard key too (Citus, layers/citus.py)
            (Open311Request.event_id == Event.id)
            & (Open311Request.filed_town_code == Event.filed_town_code),
        )
    ).all()
    out = []
    for event, x, y, subclass, extra in rows:
        # Stored CGCS2000; Open311 speaks WGS 84 (the two differ by centimetres: same frame).
        lon, lat = from_cgcs2000(np.array([float(x)]), np.array([float(y)]), Datum.WGS84)
        out.append(
            _request(
                event,
                round(float(lon[0]), 7),
                round(float(lat[0]), 7),
                subclass,
                extra,
                private,
                lang,
            )
        )
    return out


def _attributes(data: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in data.items():
        m = _ATTRIBUTE.match(str(key))
        if m is None:
            continue
        if len(found) >= MAX_ATTRIBUTES:
            raise GeoReportError(400, f"more than {MAX_ATTRIBUTES} attributes", field=key)
        text_value = str(value)
        if len(text_value) > MAX_ATTRIBUTE_CHARS:
            raise GeoReportError(
                400, f"{key} is longer than {MAX_ATTRIBUTE_CHARS} characters", field=key
            )
        found[m.group(1)] = text_value
    nested = data.get("attribute")
    if isinstance(nested, Mapping):  # a JSON body may nest them: {"attribute": {"size": …}}
        found |= {str(k)[:100]: str(v)[:MAX_ATTRIBUTE_CHARS] for k, v in list(nested.items())[:50]}
    return found


def _place(session: Any, data: Mapping[str, Any]) -> tuple[float, float, dict[str, Any]]:
    """CGCS2000 lon/lat for the request and how it was placed."""
    if data.get("lat") not in (None, "") or data.get("long") not in (None, ""):
        try:
            lat, lon = float(data["lat"]), float(data["long"])
        except (KeyError, TypeError, ValueError):
            raise GeoReportError(
                400, "lat and long must both be numbers (WGS 84 degrees)", field="lat"
            ) from None
        check_lonlat(lon, lat)
        x, y = to_cgcs2000(np.array([lon]), np.array([lat]), Datum.WGS84)
        return float(x[0]), float(y[0]), {"precision": "point", "source": "lat/long"}
    address_id = str(data.get("address_id") or "").strip()
    address = str(data.get("address_string") or "").strip()
    if not (address_id or address):
        raise GeoReportError(
            400,
            "give the location: lat and long (WGS 84), or address_string, or address_id "
            "(a town, village or grid code)",
            field="lat",
        )
    found = None
    if address_id:
        found = next(
            (
                p
                for p in search_places(session=session, text=address_id, limit=50)
                if p["code"] == address_id
            ),
            None,
        )
        if found is None:
            found = _by_code(session, address_id)
        if found is None and not address:
            raise GeoReportError(
                400,
                f"address_id {address_id!r} is not a town, village or grid code of ours",
                field="address_id",
            )
    if found is None:
        hits = search_places(session=session, text=address, limit=1)
        if not hits:
            raise GeoReportError(
                400,
                f"address_string {address[:100]!r} names no town, village or grid we know; "
                "give lat and long, or a place name (e.g. 澄江街道万街社区)",
                field="address_string",
            )
        found = hits[0]
    placement = {
        k: found[k]
        for k in ("code", "name", "full_name", "precision", "radius_m", "match", "score")
    }
    placement["source"] = "gazetteer"
    return float(found["lon"]), float(found["lat"]), placement


def _accuracy(data: Mapping[str, Any]) -> float | None:
    """Our extension ``location_accuracy_m``: the device's fix accuracy (m) for lat/long."""
    value = data.get("location_accuracy_m")
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise GeoReportError(
            400, "location_accuracy_m must be a number of metres", field="location_accuracy_m"
        ) from None


def _by_code(session: Any, code: str) -> dict[str, Any] | None:
    if not code.isdigit():
        return None
    # the name by the one naming rule (layers/unit_names.py): never a draft's
    name = names_in_force(session=session, codes=[code]).get(code)
    if name is None:
        return None
    return next(
        (p for p in search_places(session=session, text=name, limit=50) if p["code"] == code), None
    )


async def _form(request: Request) -> tuple[dict[str, Any], list[intake.Photo]]:
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = await read_form(request)
        return {k: v for k, v in form.multi_items()}, []
    return await read_body(request)


@router.post(
    "/requests",
    status_code=201,
    summary="Open311: file a service request",
    responses=georeport("the new request's id and token", ARRAY_OF, 201),
    openapi_extra={"requestBody": {"content": {
        "application/x-www-form-urlencoded": {"schema": REQUEST_FORM},
        "multipart/form-data": {"schema": REQUEST_FORM},
        "application/json": {"schema": REQUEST_FORM},
    }}},
)  # fmt: skip
@router.post("/requests.{fmt}", status_code=201, include_in_schema=False)
async def create_request(request: Request, session: SessionDep, fmt: str = "json") -> Response:
    """The form is read on the event loop; the checks and database work run in a worker thread
    (so that /health and other requests answer meanwhile)."""
    _fmt(fmt)
    data, photos = await _form(request)
    answer = await run_in_threadpool(_create, request, session, data, photos)
    return _answer(request, "service_requests", "request", [answer], 201)


def _check_values(data: Mapping[str, Any]) -> None:
    """Every field is one plain value (a JSON body may send a list or an object where the
    form has text) without a NUL character: else a 400 naming the field, never a 500."""
    for key, value in data.items():
        if key == "attribute" and isinstance(value, Mapping):
            continue  # {"attribute": {"size": …}} is read by _attributes
        if not (value is None or isinstance(value, str | int | float)):
            raise GeoReportError(
                400, f"{key} must be a single value, not {type(value).__name__}", field=str(key)
            )
        if "\x00" in str(key) or (isinstance(value, str) and "\x00" in value):
            raise GeoReportError(400, f"{key} contains a NUL character; remove it", field=str(key))


def _create(
    request: Request, session: Any, data: Mapping[str, Any], photos: list[intake.Photo]
) -> dict[str, Any]:
    _check_values(data)
    actor = _actor(request, session, data.get("api_key") or request.query_params.get("api_key"))
    jurisdiction = _check_jurisdiction(data.get("jurisdiction_id"))
    code = str(data.get("service_code") or "")
    if not code:
        raise GeoReportError(
            400, "service_code is required (GET services.json lists them)", field="service_code"
        )
    subclass = get_subclass(session=session, code=code, field="service_code")
    description = str(data.get("description") or "").strip()
    if not description:
        raise GeoReportError(
            400, "description is required: say what was found", field="description"
        )
    lon, lat, placement = _place(session, data)
    precision = placement.get("precision")
    if placement["source"] == "lat/long":
        accuracy = _accuracy(data)
    else:  # placed by the gazetteer: the place's radius is how far off the point may be
        radius = placement.get("radius_m")
        accuracy = None if radius is None else round(min(float(radius), MAX_ACCURACY_M), 1)
    media_url = str(data.get("media_url") or "").strip() or None
    if media_url is not None and not media_url.lower().startswith(("http://", "https://")):
        raise GeoReportError(400, "media_url must be an http(s) URL", field="media_url")
    if media_url is not None and photos:
        raise GeoReportError(
            400, "give media_url or a media file, not both (the file's URL is answered)",
            field="media",
        )  # fmt: skip
    name = " ".join(str(data.get(k) or "") for k in ("first_name", "last_name")).strip()
    event = intake.create_event(
        session=session,
        actor=actor,
        lon=lon,
        lat=lat,
        subclass_code=code,
        description=description[:5000],
        source=EventSource.PUBLIC,
        address=(str(data.get("address_string") or "") or placement.get("full_name")) or None,
        reporter_name=name[:200] or None,
        photos=photos,
        ignore_duplicates=True,
        metric_srid=request.app.state.settings.geo.metric_srid,
        location_accuracy_m=accuracy,
        precision=precision if precision in PLACE_PRECISIONS else None,
    )
    if photos:  # the multipart media file: the case's photo, answered by its public URL
        photo_id = session.scalar(
            select(EventPhoto.id)
            .where(
                EventPhoto.event_id == event.id,
                EventPhoto.filed_town_code == event.filed_town_code,
            )
            .order_by(EventPhoto.id)
            .limit(1)
        )
        media_url = (
            f"{str(request.base_url).rstrip('/')}{router.prefix}/media/{event.id}/{photo_id}"
        )
    session.add(
        Open311Request(
            event_id=event.id,
            jurisdiction_id=jurisdiction,
            media_url=media_url,
            attributes=_attributes(data),
            address_id=str(data.get("address_id") or "")[:100] or None,
            placement=placement,
            email=str(data.get("email") or "")[:200] or None,
            phone=str(data.get("phone") or "")[:50] or None,
            device_id=str(data.get("device_id") or "")[:100] or None,
            account_id=str(data.get("account_id") or "")[:100] or None,
        )
    )
    session.flush()
    answer = {
        "service_request_id": str(event.id),
        "token": f"{TOKEN_PREFIX}{event.id}",
        "service_notice": _notice(subclass, event, request_language(request)),
        "account_id": None,
        "location_precision": placement["precision"],
        "location_radius_m": placement.get("radius_m"),
        "media_url": media_url,
    }
    return answer


def _list(request: Request, session: Any, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    _check_values(params)
    private, reach = _reader(request, session, params.get("api_key"))
    _check_jurisdiction(params.get("jurisdiction_id"))
    stmt = select(Event)
    if reach is not None:
        stmt = stmt.where(reach)  # a town's key reads the town's requests
    ids_given = params.get("service_request_id")
    if ids_given:
        ids = [int(i) for i in str(ids_given).split(",") if i.strip().isdigit()]
        stmt = stmt.where(Event.id.in_(ids))
        # name the cases' filed towns: on Citus only their shards are read
        if (towns := filed_towns_of(session, ids)) is not None:
            stmt = stmt.where(Event.filed_town_code.in_(towns))
    if params.get("service_code"):
        stmt = stmt.where(Event.subclass_code.in_(str(params["service_code"]).split(",")))
    start, end = params.get("start_date"), params.get("end_date")
    a, b = parse_at(start, "start_date"), parse_at(end, "end_date")
    if a is not None and b is not None:
        if b < a:
            raise GeoReportError(400, "end_date is before start_date; swap them", field="end_date")
        if b - a > MAX_SPAN:
            raise GeoReportError(
                400,
                f"start_date to end_date spans {(b - a).days} days; GeoReport v2 allows at most "
                f"{MAX_SPAN.days}: ask for the range in parts of 90 days or less",
                field="end_date",
            )
    elif a is not None:  # one end given: the range is the 90 days from (or up to) it
        b = a + MAX_SPAN
    elif b is not None:
        a = b - MAX_SPAN
    if a is not None and b is not None:
        stmt = stmt.where(Event.reported_at >= a, Event.reported_at <= b)
    if params.get("status"):
        wanted = {s.strip().lower() for s in str(params["status"]).split(",") if s.strip()}
        if not wanted <= {"open", "closed"}:
            raise GeoReportError(
                400, "status is open, closed or both (comma separated)", field="status"
            )
        closed = Event.status.in_(list(CLOSED))
        if wanted == {"closed"}:
            stmt = stmt.where(closed)
        elif wanted == {"open"}:
            stmt = stmt.where(~closed)
    if not (ids_given or start or end):  # the standard's default window: the last 90 days
        stmt = stmt.where(Event.reported_at >= func.now() - text("interval '90 days'"))
    try:
        limit = max(1, min(1000, int(params.get("limit") or 1000)))
    except ValueError:
        raise GeoReportError(400, "limit must be a whole number 1-1000", field="limit") from None
    return _query(
        session,
        stmt.order_by(Event.reported_at.desc()).limit(limit),
        private=private,
        lang=request_language(request),
    )


@router.get(
    "/requests",
    summary="Open311: service requests (JSON; .json and .xml too)",
    responses=georeport("the requests, newest first", ARRAY_OF),
)
def list_requests(request: Request, session: SessionDep) -> Response:
    """Query: api_key, jurisdiction_id, service_request_id (comma list), service_code (comma
    list), start_date, end_date (W3C), status (open, closed or open,closed), limit."""
    items = _list(request, session, request.query_params)
    return _answer(request, "service_requests", "request", items)


@router.get("/requests.{fmt}", include_in_schema=False)
def list_requests_fmt(request: Request, session: SessionDep, fmt: str) -> Response:
    _fmt(fmt)
    return _answer(
        request, "service_requests", "request", _list(request, session, request.query_params)
    )


@router.get(
    "/requests/{request_id}",
    summary="Open311: one service request (id.json, id.xml)",
    responses=georeport("the request (an array of one)", ARRAY_OF),
)
def read_request(
    request: Request,
    session: SessionDep,
    request_id: str,
    api_key: str | None = None,
    jurisdiction_id: str | None = None,
) -> Response:
    private, reach = _reader(request, session, api_key)
    _check_jurisdiction(jurisdiction_id)
    rid, _ = _split(request_id, "service_request_id")
    if not (rid.isascii() and rid.isdigit()) or len(rid) > 10 or int(rid) > 2**31 - 1:
        raise GeoReportError(404, f"no service request {rid[:40]!r}", field="service_request_id")
    town = filed_town_of(session, int(rid))  # on Citus: then read on the case's shard only
    stmt = select(Event).where(Event.id == int(rid), Event.filed_town_code == town)
    if reach is not None:
        stmt = stmt.where(reach)  # outside the key's scope: as if it did not exist
    found = _query(session, stmt, private=private, lang=request_language(request))
    if not found:
        raise GeoReportError(404, f"no service request {rid}", field="service_request_id")
    return _answer(request, "service_requests", "request", found)


@router.get(
    "/media/{request_id}/{photo_id}",
    summary="Open311: the media file sent with a request (its media_url)",
    responses={**PHOTO_RESPONSES},
)
def read_media(session: SessionDep, request_id: int, photo_id: int) -> Response:
    """Public, as the request is: only the file sent with the request (the URL its
    ``media_url`` answers), never the photos the staff add while handling the case."""
    event = event_by_id(session, request_id) if 0 < request_id <= 2**31 - 1 else None
    extra = None
    if event is not None:
        extra = session.scalar(
            select(Open311Request).where(
                Open311Request.event_id == event.id,
                Open311Request.filed_town_code == event.filed_town_code,
            )
        )
    wanted = f"{router.prefix}/media/{request_id}/{photo_id}"
    photo = None
    if event is not None and extra is not None and (extra.media_url or "").endswith(wanted):
        photo = case_photo(session, event, photo_id)
    if event is None or photo is None:
        raise GeoReportError(404, f"no media {photo_id} of request {request_id}", field="photo_id")
    return Response(photo.data, media_type=photo.media_type)


@router.get(
    "/tokens/{token}",
    summary="Open311: the service request id of a token",
    responses=georeport("the token and its request id (an array of one)", ARRAY_OF),
)
def read_token(
    request: Request,
    session: SessionDep,
    token: str,
    api_key: str | None = None,
    jurisdiction_id: str | None = None,
) -> Response:
    # GeoReport v2: GET tokens/{token} takes no api_key (a given one is not checked either)
    _check_jurisdiction(jurisdiction_id)
    value, _ = _split(token, "token")
    rid = value.removeprefix(TOKEN_PREFIX)
    if not value.startswith(TOKEN_PREFIX) or not rid.isdigit() or len(rid) > 12:
        raise GeoReportError(404, f"no token {value[:40]!r}", field="token")
    if filed_town_of(session, int(rid)) is None:
        raise GeoReportError(404, f"no token {value!r}", field="token")
    return _answer(
        request, "service_requests", "request", [{"token": value, "service_request_id": rid}]
    )
