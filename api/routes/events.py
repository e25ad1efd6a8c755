"""Events and their workflow: report, list, read, act, reroute, overdue, duplicates, photos.

Reports and actions take JSON, or multipart/form-data with the same fields plus ``photos``
files. Every operation is one transaction: an error anywhere leaves nothing written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from api.coords import client_crs, point_to_cgcs2000
from api.deps import (
    PrincipalDep,
    Reader,
    SessionDep,
    parse_at,
    require,
)
from api.errors import STATUS, InvalidParameter, UnsupportedMediaType
from api.forms import read_form
from api.http_rules import BOOL_WORDS
from api.lang import LangDep
from api.schemas.bodies import (
    EVENT_ACTION,
    EVENT_REPORT,
    EVENT_REPORT_FORM,
    EVENT_ROUTING,
    MAX_EXTENSION,
    body,
    check_values,
    refuse_unknown,
)
from api.schemas.common import TABLE_BODY
from api.schemas.events import (
    PHOTO_RESPONSES,
    Escalated,
    EventPublic,
    EventsPublic,
    EventWorkflow,
    HotlineImport,
    RoutingChanged,
)
from api.uploads import read_upload
from layers import accounts, idempotency
from layers.calendar_tables import ensure_loaded as ensure_calendar_loaded
from layers.deadlines import unconfirmed_years_of
from layers.errors import NotFound
from layers.events import access, intake
from layers.events.models import (
    Event,
    EventLog,
    EventSource,
    EventStatus,
    case_log,
    case_photo,
    case_photo_rows,
    event_by_id,
)
from layers.events.notes import note_for
from layers.events.workflow import (
    TRANSITIONS,
    Actor,
    allowed_actions,
    apply_action,
    escalate_overdue,
    is_overdue,
    list_overdue,
)
from layers.models import Role
from layers.workcal import WorkCalendar

router = APIRouter(prefix="/api/v1", tags=["events"])

Reporter = Annotated[Any, Depends(require(Role.OFFICER, Role.DISPATCHER))]
Dispatcher = Annotated[Any, Depends(require(Role.DISPATCHER))]
CALENDAR = WorkCalendar()


class EventNotFound(NotFound):
    """No event with that id (404 "Event not found")."""


class PhotoNotFound(NotFound):
    """No photo with that id on the event (404 "Photo not found")."""


STATUS.setdefault(EventNotFound, (404, "Event not found"))
STATUS.setdefault(PhotoNotFound, (404, "Photo not found"))


def actor_of(session: Any, principal: Any) -> Actor:
    """The caller as the workflow sees them: their user's person (for the log and
    ``kpis?by=reporter``) and scope (where an officer may act)."""
    return Actor(
        token_id=principal.token_id,
        person_id=principal.person_id,
        role=principal.role,
        name=principal.name,
        scope_codes=accounts.scope_codes(session=session, identity=principal.identity),
    )


async def read_body(request: Request) -> tuple[dict[str, Any], list[intake.Photo]]:
    """JSON object, or multipart form fields plus ``photos`` files."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    # the body's size limit is enforced while it arrives (api/limits.py)
    if kind in ("", "application/json"):
        raw = await request.body()
        if not raw:
            return {}, []
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidParameter(f"the body is not valid JSON: {exc}", field="body") from None
        if not isinstance(data, dict):
            raise InvalidParameter("the body must be a JSON object", field="body")
        return data, []
    if kind == "multipart/form-data":
        form = await read_form(request)
        data, photos = {}, []
        for key, value in form.multi_items():
            if hasattr(value, "read"):
                photos.append(intake.Photo(value.filename or "photo", await value.read()))
            else:
                data[key] = value
        return data, photos
    raise UnsupportedMediaType(
        f"content type {kind!r} is not taken; send application/json or multipart/form-data",
        field="Content-Type",
    )


def _float(data: dict[str, Any], key: str) -> float:
    if key not in data or data[key] in (None, ""):
        raise InvalidParameter(f"{key} is required", field=key)
    try:
        return float(data[key])
    except (TypeError, ValueError):
        raise InvalidParameter(f"{key} {data[key]!r} is not a number", field=key) from None


def _bool(value: Any, field: str = "ignore_duplicates") -> bool:
    """A flag: JSON true/false (the body's types are checked by check_values), or in a
    multipart form true/false/1/0 as a query flag (api.http_rules.BOOL_WORDS, any case);
    absent or empty is false."""
    if value is None or value == "" or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.lower() in BOOL_WORDS:
        return BOOL_WORDS[value.lower()]
    raise InvalidParameter(
        f"{field} {value!r:.40} is not a flag; send true or false (a form also takes 1 or 0)",
        field=field,
    )


def is_json(request: Request) -> bool:
    """Whether the body is JSON (its values typed), not a multipart form (strings)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in ("", "application/json")


QUERY_CRS = (
    "datum of lon/lat when the body (or a file row) gives none: cgcs2000 (default), wgs84, "
    "gcj02, bd09, EPSG:4490/4326; a body's crs must agree"
)


def cgcs_point(data: dict[str, Any], query_crs: str | None = None) -> tuple[float, float]:
    """The ``lon``/``lat`` of a body (JSON or form) or query as CGCS2000 degrees, in the datum
    the client gave as the body's ``crs`` field or the query's ``crs`` (api.coords.client_crs;
    422 naming the field for an unknown or disagreeing one)."""
    lon, lat = _float(data, "lon"), _float(data, "lat")
    return point_to_cgcs2000(lon, lat, client_crs(query_crs, data.get("crs")))


def event_public(event: Event, *, now: datetime | None = None) -> dict[str, Any]:
    return {
        "id": event.id,
        "status": event.status.value,
        "overdue": is_overdue(event, now),
        "source": event.source.value,
        "subclass": event.subclass_code,
        "description": event.description,
        "address": event.address,
        "reported_at": event.reported_at.isoformat(),
        "reporter_name": event.reporter_name,
        "external_ref": event.external_ref,
        "location_accuracy_m": event.location_accuracy_m,
        "routing": {
            "generation_id": event.generation_id,
            "grid_code": event.grid_code,
            "village_code": event.village_code,
            "town_code": event.town_code,
            "chief_person_id": event.chief_person_id,
            "worker_person_id": event.worker_person_id,
            "zone_id": event.zone_id,
            "squad_team_id": event.squad_team_id,
            "department": event.department,
        },
        "accepted_at": _iso(event.accepted_at),
        "dispatched_at": _iso(event.dispatched_at),
        "deadline_at": _iso(event.deadline_at),
        # Years without a holiday table the deadline runs into (computed Monday-Friday).
        "calendar_unconfirmed": bool(unconfirmed_years_of(event)),
        "calendar_unconfirmed_years": unconfirmed_years_of(event),
        "handled_at": _iso(event.handled_at),
        "closed_at": _iso(event.closed_at),
        "rework_count": event.rework_count,
        "extension_count": event.extension_count,
        "closure_work_h": event.closure_work_h,
        "version": event.version,
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def get_event(session: Any, event_id: int, *, lock: bool = False) -> Event:
    event = event_by_id(session, event_id, lock=lock)  # on Citus: routed to the case's shard
    if event is None:
        raise EventNotFound(f"no event {event_id}; list them at /api/v1/events", field="event_id")
    return event


def log_public(entry: EventLog, lang: str = "zh") -> dict[str, Any]:
    """One step: ``at`` when it happened (on a phone that was offline: the phone's time),
    ``recorded_at`` when the server received it; a note the system wrote in ``lang``
    (layers/events/notes.py), a person's note as typed."""
    return {
        "at": entry.at.isoformat(),
        "recorded_at": entry.recorded_at.isoformat() if entry.recorded_at else None,
        "action": entry.action,
        "from": entry.from_status,
        "to": entry.to_status,
        "actor": entry.actor_name,
        "role": entry.actor_role,
        "person_id": entry.actor_person_id,
        "note": note_for(entry.note, entry.data, lang),
        "attachments": entry.attachments,
        "data": entry.data,
    }


@router.post(
    "/events",
    status_code=201,
    summary="Report an event (staff)",
    response_model=EventPublic,
    openapi_extra=body(
        ("application/json", EVENT_REPORT), ("multipart/form-data", EVENT_REPORT_FORM)
    ),
)
async def create_event(
    request: Request,
    session: SessionDep,
    principal: Reporter,
    crs: Annotated[str | None, Query(max_length=100, description=QUERY_CRS)] = None,
) -> dict[str, Any]:
    """Anyone who may report files a case wherever it is, whatever their scope (issue 11, by
    rule, not an oversight): DOMAIN.md §3 collects events from everyone on patrol, the
    hotline and the public (Open311 takes any point too), and routes each by its point to that
    grid's team, so an officer's report of what they see across a town's border reaches the
    right town; the reporter may follow it (layers/events/access.may_read) but acts on it only
    if it is routed to them (layers.events.workflow.check_may_act)."""
    data, photos = await read_body(request)
    refuse_unknown(data, EVENT_REPORT)
    if is_json(request):
        check_values(data, EVENT_REPORT)  # the document's types and limits
    # photo checks and database work off the event loop (issue 11.6)
    work = partial(_create_event, request, session, principal, data, photos)
    return await run_in_threadpool(once, request, session, principal, data, work)


def _create_event(
    request: Request,
    session: Any,
    principal: Any,
    data: dict[str, Any],
    photos: list[intake.Photo],
) -> dict[str, Any]:
    lon, lat = cgcs_point(data, request.query_params.get("crs"))  # the declared ?crs=
    source = data.get("source", "patrol")
    try:
        source_enum = EventSource(source)
    except ValueError:
        raise InvalidParameter(
            f"source {source!r} is not known; use one of {', '.join(s.value for s in EventSource)}",
            field="source",
        ) from None
    subclass = str(data.get("subclass") or "")
    if not subclass:
        raise InvalidParameter("subclass is required (e.g. 0101)", field="subclass")
    event = intake.create_event(
        session=session,
        actor=actor_of(session, principal),
        lon=lon,
        lat=lat,
        subclass_code=subclass,
        description=str(data.get("description") or ""),
        source=source_enum,
        reported_at=parse_at(data.get("reported_at"), "reported_at"),
        address=data.get("address"),
        reporter_name=data.get("reporter_name"),
        external_ref=data.get("external_ref"),
        photos=photos,
        ignore_duplicates=_bool(data.get("ignore_duplicates")),
        metric_srid=request.app.state.settings.geo.metric_srid,
        location_accuracy_m=accuracy_of(data),
    )
    return event_public(event)


def accuracy_of(data: dict[str, Any]) -> float | None:
    """``location_accuracy_m`` (metres) of a report body, None when absent or empty; the officer
    app's first version sent it as ``accuracy_m`` (reports still queued on phones)."""
    value = data.get("location_accuracy_m", data.get("accuracy_m"))
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidParameter(
            f"location_accuracy_m {value!r} is not a number of metres", field="location_accuracy_m"
        ) from None


def reach_of(session: Any, principal: Any) -> Any:
    """The caller's reach as a WHERE clause on ``Event`` (None: the city): their scope's cases
    and those routed to their person (:func:`layers.events.access.reach_clause`)."""
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    return access.reach_clause(session=session, person_id=principal.person_id, codes=codes)


def in_scope(stmt: Any, session: Any, principal: Any) -> Any:
    """``stmt`` (a select of events) narrowed to the caller's scope: a town's or a village's
    users see its events only, a grid worker those of their grids (layers.accounts), and
    cases routed to them."""
    clause = reach_of(session, principal)
    return stmt if clause is None else stmt.where(clause)


def _require_visible(session: Any, principal: Any, event: Event) -> None:
    """Inside the caller's scope, or reported by the caller's own person (a patroller follows
    what they reported, wherever it was)."""
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    if access.may_read(session=session, event=event, person_id=principal.person_id, codes=codes):
        return  # inside the scope, routed to the caller's person, or reported by them
    accounts.require_in_scope(
        session=session, identity=principal.identity, grid_code=event.grid_code or "",
        what=f"event {event.id}",
    )  # fmt: skip


@router.get("/events", summary="List events", response_model=EventsPublic)
def list_events(
    session: SessionDep,
    principal: Reader,
    status: Annotated[str | None, Query(description="comma-separated statuses")] = None,
    grid: Annotated[str | None, Query(description="grid code prefix (town/village/grid)")] = None,
    subclass: Annotated[str | None, Query()] = None,
    since: Annotated[str | None, Query(alias="from")] = None,
    until: Annotated[str | None, Query(alias="to")] = None,
    overdue: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    stmt = select(Event)
    if status:
        try:
            stmt = stmt.where(Event.status.in_([EventStatus(s) for s in status.split(",")]))
        except ValueError:
            raise InvalidParameter(
                f"status {status!r}: use {', '.join(s.value for s in EventStatus)}", field="status"
            ) from None
    if grid:
        stmt = stmt.where(Event.grid_code.startswith(grid, autoescape=True))  # % and _ literal
    stmt = in_scope(stmt, session, principal)
    if subclass:
        stmt = stmt.where(Event.subclass_code == subclass)
    if (a := parse_at(since, "from")) is not None:
        stmt = stmt.where(Event.reported_at >= a)
    if (b := parse_at(until, "to")) is not None:
        stmt = stmt.where(Event.reported_at < b)
    now = datetime.now(UTC)
    if overdue is not None:
        from layers.events.workflow import OPEN_FOR_DEADLINE

        cond = Event.status.in_(list(OPEN_FOR_DEADLINE)) & (Event.deadline_at < now)
        stmt = stmt.where(cond if overdue else ~cond)
    count = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(Event.id.desc()).limit(limit).offset(offset))
    return {"data": [event_public(e, now=now) for e in rows], "count": count}


@router.get(
    "/events/overdue",
    summary="Overdue cases (超时), oldest deadline first",
    response_model=EventsPublic,
)
def overdue_events(session: SessionDep, principal: Reader) -> dict[str, Any]:
    """The cases the caller reaches (:func:`layers.events.access.reach_clause`, as ``/events``):
    their scope's and those routed to their person."""
    rows = list_overdue(session=session, where=reach_of(session, principal))
    return {"data": [event_public(e) for e in rows], "count": len(rows)}


@router.post(
    "/events/overdue/escalate",
    summary="Log an escalation on every new overdue case",
    response_model=Escalated,
)
def escalate(session: SessionDep, principal: Dispatcher) -> dict[str, int]:
    return {"escalated": escalate_overdue(session=session, actor=actor_of(session, principal))}


@router.get(
    "/events/duplicates",
    summary="Open events that may be the same one",
    response_model=EventsPublic,
)
def duplicates(
    request: Request,
    session: SessionDep,
    principal: Reader,
    lon: float,
    lat: float,
    subclass: str,
    crs: str | None = None,
    at: str | None = None,
    within_m: Annotated[float, Query(gt=0, le=1000)] = 50.0,
    window_h: Annotated[float, Query(gt=0, le=24 * 30)] = 72.0,
) -> dict[str, Any]:
    x, y = cgcs_point({"lon": lon, "lat": lat}, crs)
    rows = intake.find_duplicates(
        session=session,
        lon=x,
        lat=y,
        subclass_code=subclass,
        at=parse_at(at) or datetime.now(UTC),
        within_m=within_m,
        window_h=window_h,
        metric_srid=request.app.state.settings.geo.metric_srid,
        where=access.read_clause(  # the cases the caller may read, as /events/{id}
            session=session,
            person_id=principal.person_id,
            codes=accounts.scope_codes(session=session, identity=principal.identity),
        ),
    )
    return {"data": [intake.event_summary(e) for e in rows], "count": len(rows)}


@router.get("/events/{event_id}", summary="One event with its timeline", response_model=EventPublic)
def read_event(
    session: SessionDep, principal: Reader, event_id: int, lang: LangDep
) -> dict[str, Any]:
    event = get_event(session, event_id)
    _require_visible(session, principal, event)
    logs = case_log(session, event)
    photos = case_photo_rows(session, event)
    # the holiday tables as committed now (a calendar import in another worker), so that
    # calendar_unconfirmed follows the stored deadline at once, even before the NOTIFY arrives
    ensure_calendar_loaded(session, check=True)
    return event_public(event) | {
        "timeline": [log_public(e, lang) for e in logs],
        "photos": [
            {
                "id": p.id,
                "filename": p.filename,
                "media_type": p.media_type,
                "size_bytes": p.size_bytes,
                "url": f"/api/v1/events/{event_id}/photos/{p.id}",
            }
            for p in photos
        ],
        "allowed_actions": allowed_actions(event.status, principal.role),
    }


@router.get(
    "/events/{event_id}/photos/{photo_id}",
    summary="A photo's bytes",
    response_class=Response,
    responses=PHOTO_RESPONSES,
)
def read_photo(session: SessionDep, principal: Reader, event_id: int, photo_id: int) -> Response:
    event = event_by_id(session, event_id)
    photo = None if event is None else case_photo(session, event, photo_id)
    if event is None or photo is None:
        raise PhotoNotFound(f"no photo {photo_id} on event {event_id}", field="photo_id")
    _require_visible(session, principal, event)
    return Response(photo.data, media_type=photo.media_type)


@router.post(
    "/events/{event_id}/actions",
    summary="Take a workflow action",
    response_model=EventPublic,
    openapi_extra=body(("application/json", EVENT_ACTION), ("multipart/form-data", EVENT_ACTION)),
)
async def act(
    request: Request, session: SessionDep, principal: PrincipalDep, event_id: int
) -> dict[str, Any]:
    data, photos = await read_body(request)
    refuse_unknown(data, EVENT_ACTION)
    if is_json(request):
        check_values(data, EVENT_ACTION)  # the document's types and limits
    work = partial(_act, session, principal, event_id, data, photos)
    return await run_in_threadpool(once, request, session, principal, data, work)


def once(
    request: Request, session: Any, principal: Any, data: dict[str, Any], work: Any
) -> dict[str, Any]:
    """``work()`` at most once per ``Idempotency-Key`` of the caller (layers/idempotency.py):
    a resent report or action answers the first one's result."""
    return idempotency.run_once(
        session=session,
        key=idempotency.check_key(request.headers.get("idempotency-key")),
        owner=idempotency.owner_of(
            user_id=principal.user_id, token_id=principal.token_id, name=principal.name
        ),
        request=idempotency.fingerprint(request.method, request.url.path, data),
        work=work,
    )


def _act(
    session: Any,
    principal: Any,
    event_id: int,
    data: dict[str, Any],
    photos: list[intake.Photo],
) -> dict[str, Any]:
    action = str(data.get("action") or "")
    if action not in TRANSITIONS:
        raise InvalidParameter(
            f"action {action!r} is not known; use one of {', '.join(TRANSITIONS)}", field="action"
        )
    at = parse_at(data.get("at"), "at")
    if at is not None and principal.role is not Role.ADMIN:
        raise InvalidParameter(
            "only an admin may back-date a step (data migration); leave 'at' out", field="at"
        )
    acted_at = parse_at(data.get("acted_at"), "acted_at")
    extension, version = data.get("extension"), data.get("version")
    try:
        extension = None if extension in (None, "") else float(extension)
    except (TypeError, ValueError):
        raise InvalidParameter(
            f"extension {extension!r:.40} is not a number (in the subclass's unit)",
            field="extension",
        ) from None
    if extension is not None and not 0 < extension <= MAX_EXTENSION:  # NaN fails too
        raise InvalidParameter(
            f"extension {extension!r:.40} is out of range; give more than 0, at most "
            f"{MAX_EXTENSION} (in the subclass's unit)",
            field="extension",
        )
    if isinstance(version, str) and version != "":  # a form field
        if not (version.isascii() and version.isdigit() and len(version) <= 10):
            raise InvalidParameter(
                f"version {version!r:.40} is not a whole number", field="version"
            )
        version = int(version)
    version = None if version in (None, "") else version
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or not 0 <= version < 2**31
    ):
        raise InvalidParameter(f"version {version!r:.40} is not a version number", field="version")
    event = get_event(session, event_id, lock=True)
    actor = actor_of(session, principal)
    attachments = intake.store_photos(session=session, event_id=event.id, photos=photos)
    apply_action(
        session=session,
        event=event,
        action=action,
        actor=actor,
        calendar=CALENDAR,
        at=at,
        note=data.get("note"),
        attachments=attachments,
        extension=extension,
        expected_version=version,
        acted_at=acted_at,
    )
    return event_public(event) | {"allowed_actions": allowed_actions(event.status, principal.role)}


@router.post(
    "/events/{event_id}/routing",
    summary="Change the routing (dispatcher, logged)",
    response_model=RoutingChanged,
    openapi_extra=body(("application/json", EVENT_ROUTING)),
)
async def change_routing(
    request: Request, session: SessionDep, principal: Dispatcher, event_id: int
) -> dict[str, Any]:
    data, _ = await read_body(request)
    refuse_unknown(data, EVENT_ROUTING)
    check_values(data, EVENT_ROUTING)  # types and limits; ids exist: intake.reroute
    changes = data.get("changes") or {}
    if not isinstance(changes, dict):
        raise InvalidParameter(
            'changes must be an object of field: new value, e.g. {"grid_code": "320281001001001"}',
            field="changes",
        )
    event = get_event(session, event_id, lock=True)
    accounts.require_in_scope(
        session=session, identity=principal.identity, grid_code=event.grid_code,
        what=f"event {event.id}",
    )  # fmt: skip
    accounts.require_routing_in_scope(  # and where it goes stays inside it too
        session=session, identity=principal.identity, changes=changes
    )
    intake.reroute(
        session=session,
        event=event,
        actor=actor_of(session, principal),
        changes=changes,
        reason=str(data.get("reason") or ""),
    )
    return event_public(event)


@router.get(
    "/event-workflow",
    summary="The state machine: actions, states, roles",
    response_model=EventWorkflow,
)
def workflow_table(_: Reader) -> dict[str, Any]:
    return {
        "states": [s.value for s in EventStatus],
        "transitions": [
            {
                "action": t.action,
                "from": sorted(s.value for s in t.sources),
                "to": t.target.value,
                "roles": sorted(r.value for r in t.roles),
                "label_zh": t.label_zh,
            }
            for t in TRANSITIONS.values()
        ],
    }


@router.post(
    "/events/import/hotline",
    status_code=201,
    summary="Import a 12345 batch file",
    response_model=HotlineImport,
    openapi_extra=TABLE_BODY,
)
async def import_hotline_file(
    request: Request,
    session: SessionDep,
    principal: Dispatcher,
    crs: Annotated[str | None, Query(max_length=100, description=QUERY_CRS)] = None,
) -> dict[str, Any]:
    """CSV or XLSX, as the raw body or as the ``file`` part of a multipart form."""
    from layers.events.hotline import import_hotline

    upload = await read_upload(request)  # raw body or the multipart part 'file'
    query_crs = crs
    client_crs(query_crs)  # an unknown name: 422 before any row is read

    def work() -> dict[str, Any]:  # parsing and database work off the event loop
        return import_hotline(
            session=session,
            actor=actor_of(session, principal),
            content=upload.content,
            filename=upload.filename or "hotline",
            metric_srid=request.app.state.settings.geo.metric_srid,
            charset=upload.charset,
            # a row's crs cell, the query's crs the file's default (one reader: api.coords)
            row_datum=lambda cell: client_crs(query_crs, cell),
        )

    return await run_in_threadpool(work)
