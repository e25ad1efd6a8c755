"""Intake and routing: staff reports, photos, duplicate suggestions, rerouting.

Routing (DOMAIN.md section 3): the point -> its L3 grid in the generation in force at the
report time -> the grid's chief and worker (GridAssignment on that grid, else on its village or
town, valid on the report date); the enforcement zone containing the grid -> its squad (when the
zones layer is installed); the subclass -> its department. Stored on the event.

A grid with no worker of its own — typically a new grid whose staffing is still on the
to-decide list after a publication (``layers.planning.staffing.grids_to_staff``) — is never
silent: the case goes to the worker of the grid's village, else of its town, else it stays in
the town's dispatch queue (no worker; the town's dispatchers see it and dispatch it by hand).
``Routing.worker_from`` says which (``grid``, ``village``, ``town``, ``town_dispatch``) and the
report's log entry records it with a note naming the grid; the grid stays on the to-decide list
until a planner decides it.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from geoalchemy2.elements import WKTElement
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gis.codes import ancestors_of
from gis.crs import SRID_CGCS2000
from layers.errors import DomainError, InvalidGeometry
from layers.events.dictionary import InvalidEventInput, get_subclass
from layers.events.models import Event, EventPhoto, EventSource, EventStatus
from layers.events.notes import SystemNote
from layers.events.workflow import CLOCK_SKEW, TERMINAL, Actor, append_log
from layers.grids import active_generation, locate_in_postgis
from layers.people import GridAssignment, StaffRole, assignment_in_force

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 9
MAX_PHOTO_PIXELS = 50_000_000  # 50 megapixels: more than any phone camera (8192 x 6144)
MAX_DESCRIPTION_CHARS = 4000
MAX_ADDRESS_CHARS = 500
MAX_NAME_CHARS = 100
METRIC_DOMAIN_MARGIN_DEG = 3.0
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class PhotoTooLarge(DomainError):
    """A photo over the size limit."""


class PhotoWrongType(DomainError):
    """A file that is not a JPEG, PNG or WebP image (checked on its bytes, not its name)."""


class PossibleDuplicate(DomainError):
    """Open events of the same subclass nearby: offered before a new one is created."""


@dataclass(frozen=True)
class Routing:
    generation_id: int
    grid_code: str
    village_code: str
    town_code: str
    chief_person_id: int | None
    worker_person_id: int | None
    zone_id: int | None
    squad_team_id: int | None
    department: str
    worker_from: str = "grid"  # grid | village | town | town_dispatch (not an Event column)
    placed: str | None = None  # village | town: the point is a place's, not the spot (not a column)

    def event_columns(self) -> dict[str, Any]:
        """The routing as the Event's columns (without ``worker_from`` and ``placed``, kept in
        the log)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("worker_from", "placed")}


@dataclass(frozen=True)
class Photo:
    filename: str
    content: bytes


def check_photo(photo: Photo, field: str = "photos") -> tuple[str, int, int]:
    """Media type and size in pixels of a photo, judged by its bytes (pillow), or an error."""
    if len(photo.content) > MAX_PHOTO_BYTES:
        raise PhotoTooLarge(
            f"photo {photo.filename!r} is {len(photo.content) / 1e6:.1f} MB; the limit is "
            f"{MAX_PHOTO_BYTES / 1e6:.0f} MB: resize it (e.g. 1920 px wide, JPEG quality 85)",
            field=field,
        )
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # a declared size over Pillow's own limit is refused below, not just warned about
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(photo.content)) as image:
                kind = image.format or ""
                size = image.size
                if size[0] * size[1] > MAX_PHOTO_PIXELS:
                    raise Image.DecompressionBombError(f"{size[0]}x{size[1]}")
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoTooLarge(
            f"photo {photo.filename[:100]!r} declares more than {MAX_PHOTO_PIXELS // 1_000_000} "
            "megapixels; send the photo as the camera took it, or resized (e.g. 1920 px wide)",
            field=field,
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        kind, size = "", (0, 0)
    if kind not in PHOTO_FORMATS:
        raise PhotoWrongType(
            f"file {photo.filename!r} is not a JPEG, PNG or WebP image (by its content"
            f"{', it is ' + kind if kind else ''}); send the photo itself",
            field=field,
        )
    return PHOTO_FORMATS[kind], size[0], size[1]


def store_photos(*, session: Session, event_id: int, photos: list[Photo]) -> list[int]:
    if len(photos) > MAX_PHOTOS:
        raise PhotoTooLarge(f"{len(photos)} photos; at most {MAX_PHOTOS} per step", field="photos")
    ids = []
    for photo in photos:
        media_type, width, height = check_photo(photo)
        row = EventPhoto(
            event_id=event_id,
            filename=photo.filename[:255],
            media_type=media_type,
            size_bytes=len(photo.content),
            width_px=width,
            height_px=height,
            sha256=hashlib.sha256(photo.content).hexdigest(),
            data=photo.content,
        )
        session.add(row)
        session.flush()
        ids.append(row.id)
    return ids


def _zone_of(session: Session, grid_code: str) -> tuple[int | None, int | None]:
    """The enforcement zone and squad of a grid, if the zones layer (issue 3) is installed."""
    try:
        zones = importlib.import_module("layers.zones")
    except ImportError:
        return None, None
    zone_of_grid = getattr(zones, "zone_of_grid", None)
    if zone_of_grid is None:
        return None, None
    try:
        with session.begin_nested():  # its table may not be migrated yet
            zone = zone_of_grid(session=session, grid_code=grid_code)
    except Exception:
        return None, None
    if zone is None:
        return None, None
    return getattr(zone, "id", None), getattr(zone, "squad_id", None)


WORKER_FROM = {15: "grid", 12: "village", 9: "town"}  # by the length of the holder's code


def _holder(
    session: Session, codes: list[str], role: StaffRole, day: Any
) -> tuple[int, str] | None:
    """The person holding ``role`` on the most specific of ``codes`` on ``day``, and that code."""
    rows = session.execute(
        select(GridAssignment.person_id, GridAssignment.grid_code)
        .where(
            GridAssignment.grid_code.in_(codes),
            GridAssignment.role == role,
            assignment_in_force(day),
        )
        .order_by(func.length(GridAssignment.grid_code).desc(), GridAssignment.id)
        .limit(1)
    ).first()
    return None if rows is None else (int(rows[0]), str(rows[1]))


def _person_for(session: Session, codes: list[str], role: StaffRole, day: Any) -> int | None:
    """The person holding ``role`` on the most specific of ``codes`` on ``day``."""
    held = _holder(session, codes, role, day)
    return None if held is None else held[0]


PLACE_PRECISIONS = ("village", "town")  # a point that stands for a place, not the spot


def route(
    *,
    session: Session,
    lon: float,
    lat: float,
    at: datetime,
    subclass_code: str,
    precision: str | None = None,
) -> Routing:
    """Route a CGCS2000 point reported at ``at`` (see the module docstring).

    ``precision`` ``village`` or ``town``: the point only stands for that place (an address
    placed by the gazetteer, :mod:`layers.gazetteer`), so the grid under it is arbitrary: the
    case goes as a grid without a worker does (:func:`routing_note`), to the worker of the
    village (village precision), else of the town, else the town's dispatch queue; never to
    the worker of the grid under the place's point."""
    generation = active_generation(session=session, at=at)
    grid_code = locate_in_postgis(session=session, generation_id=generation.id, lon=lon, lat=lat)
    if grid_code is None:
        raise InvalidGeometry(
            f"the point ({lon:.6f}, {lat:.6f}) is outside the city's grids (generation "
            f"{generation.id}); check the coordinates, their order (lon, lat) and crs",
            field="lon",
        )
    chain = [grid_code, *reversed(ancestors_of(grid_code))]
    if precision in PLACE_PRECISIONS:
        chain = [c for c in chain if len(c) <= (12 if precision == "village" else 9)]
    day = at.astimezone(UTC).date()
    zone_id, squad_id = _zone_of(session, grid_code)
    worker = _holder(session, chain, StaffRole.GRID_WORKER, day)
    return Routing(
        generation_id=generation.id,
        grid_code=grid_code,
        village_code=grid_code[:12],
        town_code=grid_code[:9],
        chief_person_id=_person_for(session, chain, StaffRole.GRID_CHIEF, day),
        worker_person_id=None if worker is None else worker[0],
        zone_id=zone_id,
        squad_team_id=squad_id,
        department=get_subclass(session=session, code=subclass_code).department,
        worker_from="town_dispatch" if worker is None else WORKER_FROM[len(worker[1])],
        placed=precision if precision in PLACE_PRECISIONS else None,
    )


def routing_note(routing: Routing) -> SystemNote | None:
    """What the report's log says when the grid has no worker of its own (None when it has),
    in Chinese and in English (a system note, layers/events/notes.py: each reader sees it in
    their language)."""
    if routing.worker_from == "grid":
        return None
    town, village = routing.town_code, routing.village_code
    if routing.placed is not None:
        return SystemNote(
            f"按地址定位到{'村' if routing.placed == 'village' else '镇'}"
            f"（{village if routing.placed == 'village' else town}，非具体地点），"
            f"{_ROUTED_ZH[routing.worker_from](town, village)}",
            f"placed by its address at {routing.placed} precision (not the spot); routed to "
            f"{_ROUTED_EN[routing.worker_from](town, village)}",
        )
    zh, en = {
        "village": (f"已派至村 {village} 的网格员", f"the worker of village {village}"),
        "town": (f"已派至镇 {town} 的网格员", f"the worker of town {town}"),
        "town_dispatch": (f"进入镇 {town} 待派遣队列（无网格员：请人工派遣）",
                          f"the dispatch queue of town {town} (no worker: dispatch it by hand)"),
    }[routing.worker_from]  # fmt: skip
    return SystemNote(
        f"网格 {routing.grid_code} 无网格员（调整后可能待定岗：/plan 待定清单），{zh}",
        f"grid {routing.grid_code} has no worker (its staffing may still be to decide after a "
        f"publication: /plan, to-decide list); routed to {en}",
    )


_ROUTED_ZH = {
    "village": lambda town, village: f"已派至村 {village} 的网格员",
    "town": lambda town, village: f"已派至镇 {town} 的网格员",
    "town_dispatch": lambda town, village: f"进入镇 {town} 待派遣队列（请人工派遣）",
}
_ROUTED_EN = {
    "village": lambda town, village: f"the worker of village {village}",
    "town": lambda town, village: f"the worker of town {town}",
    "town_dispatch": lambda town, village: (
        f"the dispatch queue of town {town} (dispatch it by hand)"
    ),
}


def check_metric_domain(lon: float, lat: float, metric_srid: int) -> None:
    """InvalidGeometry unless the CGCS2000 point lies in the metric CRS's area of use (from
    the EPSG registry, widened by :data:`METRIC_DOMAIN_MARGIN_DEG`): outside it a projection
    gives meaningless or infinite metres."""
    from pyproj import CRS

    area = CRS.from_epsg(metric_srid).area_of_use
    m = METRIC_DOMAIN_MARGIN_DEG
    if area is None:
        return
    inside = area.west - m <= lon <= area.east + m and area.south - m <= lat <= area.north + m
    if not inside:
        raise InvalidGeometry(
            f"the point ({lon:.6f}, {lat:.6f}) is outside the area EPSG:{metric_srid} measures "
            f"({area.west}..{area.east} E, {area.south}..{area.north} N); check the "
            "coordinates, their order (lon, lat) and crs",
            field="lon",
        )


def find_duplicates(
    *,
    session: Session,
    lon: float,
    lat: float,
    subclass_code: str,
    at: datetime,
    within_m: float = 50.0,
    window_h: float = 72.0,
    metric_srid: int = 4549,
    where: Any = None,
) -> list[Event]:
    """Open events of the same subclass within ``within_m`` metres and ``window_h`` hours,
    narrowed by ``where`` (the caller's cases, :func:`layers.events.access.read_clause`; None:
    all) before the limit of 10.

    InvalidGeometry (422, field ``lon``) for a point outside the metric CRS's domain."""
    check_metric_domain(lon, lat, metric_srid)
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), SRID_CGCS2000)
    # Prefilter on the GiST index with a degree radius that surely covers ``within_m`` (one
    # degree is more than 80 km in either direction at the city's latitude), then measure
    # exactly in the metric CRS.
    box_deg = within_m / 80_000.0
    stmt = select(Event) if where is None else select(Event).where(where)
    return list(
        session.scalars(
            stmt.where(
                Event.subclass_code == subclass_code,
                Event.status.not_in(list(TERMINAL)),
                Event.reported_at.between(
                    at - timedelta(hours=window_h), at + timedelta(hours=window_h)
                ),
                func.ST_DWithin(Event.geom, point, box_deg),
                func.ST_Distance(
                    func.ST_Transform(Event.geom, metric_srid),
                    func.ST_Transform(point, metric_srid),
                )
                <= within_m,
            )
            .order_by(Event.reported_at.desc())
            .limit(10)
        )
    )


MAX_ACCURACY_M = 10_000.0  # a position worse than 10 km says nothing about the point


def check_accuracy(value: float | None) -> None:
    """A position accuracy in metres: a finite number from 0 to :data:`MAX_ACCURACY_M`."""
    if value is None:
        return
    if not (isinstance(value, int | float) and math.isfinite(value)):
        raise InvalidEventInput(
            "location_accuracy_m must be a number of metres", field="location_accuracy_m"
        )
    if not 0 <= value <= MAX_ACCURACY_M:
        raise InvalidEventInput(
            f"location_accuracy_m {value} is out of range; give the position's accuracy radius "
            f"in metres, 0 to {MAX_ACCURACY_M:.0f} (or leave it out)",
            field="location_accuracy_m",
        )


def create_event(
    *,
    session: Session,
    actor: Actor,
    lon: float,
    lat: float,
    subclass_code: str,
    description: str,
    source: EventSource,
    reported_at: datetime | None = None,
    address: str | None = None,
    reporter_name: str | None = None,
    external_ref: str | None = None,
    photos: list[Photo] | None = None,
    ignore_duplicates: bool = False,
    metric_srid: int = 4549,
    location_accuracy_m: float | None = None,
    precision: str | None = None,
) -> Event:
    """Create a reported event (CGCS2000 point), routed, with its photos and first log entry.

    ``location_accuracy_m``: the radius (metres, 68 %) of the device's position fix when the
    point came from a phone's GPS (the Geolocation API's ``accuracy``); None when the point was
    picked on a map or is unknown. 0-10 000 m, else :class:`InvalidEventInput`. ``precision``
    ``village``/``town``: the point stands for that place (an address placed by the
    gazetteer; its radius is the accuracy): routed to the place, not a grid (:func:`route`)."""
    now = datetime.now(UTC)
    reported_at = (reported_at or now).astimezone(UTC)
    check_accuracy(location_accuracy_m)
    if reported_at > now + CLOCK_SKEW:
        raise InvalidEventInput(
            f"reported_at {reported_at.isoformat()} is in the future; check the device clock",
            field="reported_at",
        )
    if not description or not description.strip():
        raise InvalidEventInput("description is empty; say what was found", field="description")
    for name, value, limit in (
        ("description", description, MAX_DESCRIPTION_CHARS),
        ("address", address, MAX_ADDRESS_CHARS),
        ("reporter_name", reporter_name, MAX_NAME_CHARS),
        ("external_ref", external_ref, MAX_NAME_CHARS),
    ):
        if value is not None and not isinstance(value, str):
            raise InvalidEventInput(f"{name} must be text", field=name)
        if value is not None and len(value) > limit:
            raise InvalidEventInput(
                f"{name} is {len(value)} characters; at most {limit}", field=name
            )
        if value is not None and "\x00" in value:
            raise InvalidEventInput(f"{name} contains a NUL character; remove it", field=name)
    get_subclass(session=session, code=subclass_code)
    routing = route(
        session=session,
        lon=lon,
        lat=lat,
        at=reported_at,
        subclass_code=subclass_code,
        precision=precision,
    )
    if not ignore_duplicates:
        from layers.events.access import read_clause

        dups = find_duplicates(  # only the cases the reporter may read: others are never shown
            session=session,
            lon=lon,
            lat=lat,
            subclass_code=subclass_code,
            at=reported_at,
            metric_srid=metric_srid,
            where=read_clause(session=session, person_id=actor.person_id, codes=actor.scope_codes),
        )
        if dups:
            raise PossibleDuplicate(
                f"{len(dups)} open event(s) of subclass {subclass_code} within 50 m and 72 h "
                f"(ids {', '.join(str(e.id) for e in dups)}); add to one of them, or send "
                "ignore_duplicates=true to file a new event",
                field="ignore_duplicates",
                extra={"duplicates": [event_summary(e) for e in dups]},
            )
    event = Event(
        source=source,
        subclass_code=subclass_code,
        description=description.strip(),
        address=address,
        geom=WKTElement(f"POINT({lon!r} {lat!r})", srid=SRID_CGCS2000),
        reported_at=reported_at,
        reporter_person_id=actor.person_id,
        reporter_name=reporter_name or actor.name,
        external_ref=external_ref,
        location_accuracy_m=location_accuracy_m,
        status=EventStatus.REPORTED,
        rework_count=0,
        extension_count=0,
        version=1,
        **routing.event_columns(),
    )
    session.add(event)
    session.flush()
    photo_ids = store_photos(session=session, event_id=event.id, photos=photos or [])
    append_log(
        session=session,
        event=event,
        actor=actor,
        action="report",
        from_status=None,
        at=reported_at,
        note=routing_note(routing),
        attachments=photo_ids,
        data={
            "grid_code": routing.grid_code,
            "department": routing.department,
            "worker_from": routing.worker_from,
            **({"location_precision": precision} if precision else {}),
        },
    )
    return event


REROUTABLE = ("grid_code", "chief_person_id", "worker_person_id", "squad_team_id", "department")
ROUTING_ID_MAX = 2**31 - 1  # ids are PostgreSQL integers
DEPARTMENT_MAX_CHARS = 100  # event.department is String(100)


def check_routing_changes(*, session: Session, changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` of a reroute, each value checked strictly: ``grid_code`` a 15-digit string,
    ``department`` a non-empty string of at most 100 characters, ``*_person_id`` and
    ``squad_team_id`` an integer id (not a boolean, not a string) of an existing person or
    team, or null to clear it. Raises InvalidEventInput naming ``changes/<key>``."""
    from layers.people import Person, Team

    for key, value in changes.items():
        field = f"changes/{key}"
        if key in ("grid_code", "department"):
            if not isinstance(value, str) or not value.strip() or "\x00" in value:
                raise InvalidEventInput(
                    f"{key} must be a non-empty string, not {type(value).__name__} {value!r:.60}",
                    field=field,
                )
            if key == "grid_code" and not (value.isdigit() and len(value) == 15):
                raise InvalidEventInput(
                    f"grid_code {value!r:.60} is not a unit grid code; give its 15 digits",
                    field=field,
                )
            if key == "department" and len(value) > DEPARTMENT_MAX_CHARS:
                raise InvalidEventInput(
                    f"department has {len(value)} characters; at most {DEPARTMENT_MAX_CHARS}",
                    field=field,
                )
            continue
        if value is None:
            continue  # clears the assignment
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidEventInput(
                f"{key} must be an integer id or null, not {type(value).__name__} {value!r:.60}",
                field=field,
            )
        if not 1 <= value <= ROUTING_ID_MAX:
            raise InvalidEventInput(
                f"{key} {value} is not an id (1..{ROUTING_ID_MAX})", field=field
            )
        model, where = (
            (Team, "/api/v1/teams")
            if key == "squad_team_id"
            else (Person, "/api/v1/teams/{id}/members")
        )
        if session.get(model, value) is None:
            raise InvalidEventInput(
                f"no {'team' if model is Team else 'person'} with id {value}; find ids at {where}",
                field=field,
            )
    return changes


def reroute(
    *, session: Session, event: Event, actor: Actor, changes: dict[str, Any], reason: str
) -> None:
    """A dispatcher changes the stored routing; the old and new values are logged."""
    if not reason or not reason.strip():
        raise InvalidEventInput("rerouting needs a reason", field="reason")
    unknown = set(changes) - set(REROUTABLE)
    if unknown or not changes:
        raise InvalidEventInput(
            f"cannot reroute {sorted(unknown) or 'nothing'}; change one of {', '.join(REROUTABLE)}",
            field="changes",
        )
    if event.status in TERMINAL:
        raise InvalidEventInput(
            f"event {event.id} is {event.status.value}; it cannot be rerouted", field="changes"
        )
    check_routing_changes(session=session, changes=changes)
    before = {k: getattr(event, k) for k in changes}
    if "grid_code" in changes:
        code = str(changes["grid_code"])
        found = session.execute(
            text("SELECT 1 FROM grid WHERE generation_id = :g AND code = :c AND level = 3"),
            {"g": event.generation_id, "c": code},
        ).first()
        if found is None:
            raise InvalidEventInput(
                f"no unit grid {code} in generation {event.generation_id}",
                field="changes/grid_code",
            )
        event.village_code, event.town_code = code[:12], code[:9]
    for key, value in changes.items():
        setattr(event, key, value)
    event.version += 1
    session.flush()
    append_log(
        session=session,
        event=event,
        actor=actor,
        action="reroute",
        from_status=event.status,
        at=datetime.now(UTC),
        note=reason,
        data={"before": before, "after": changes},
    )


def event_summary(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "status": event.status.value,
        "subclass": event.subclass_code,
        "reported_at": event.reported_at.isoformat(),
        "grid_code": event.grid_code,
        "description": event.description,
    }
