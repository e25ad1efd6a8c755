"""12345 hotline import: a batch file of tickets, all accepted or none.

Columns (CSV UTF-8/GB18030 or XLSX): ``ticket_no, received_at, subclass, description`` and either
``lon, lat[, crs]`` (crs ``cgcs2000`` default — or the request's ``crs`` —, ``wgs84``, ``gcj02``,
``bd09``) or ``address``.
An address without coordinates is placed by the names of the city's towns and villages it
contains (the most specific name found wins) at a point inside that village or town, with the
place's radius as the case's ``location_accuracy_m`` and routed to the place (village worker,
town worker or town dispatch queue: ``layers.events.intake.route`` ``precision``), not to the
worker of the grid under the point; an address naming no known place is an error for that row.
Tickets already imported (same ticket number) are skipped, so a file can be imported twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.crs import DATUM_NAMES, Datum, datum_of, to_cgcs2000
from layers.errors import DomainError
from layers.events.dictionary import DictionaryFileError, read_table
from layers.events.intake import MAX_ACCURACY_M, create_event
from layers.events.models import Event, EventSource
from layers.events.workflow import Actor
from layers.grids import active_generation
from layers.workcal import SHANGHAI

REQUIRED = ("ticket_no", "received_at", "subclass", "description")


class HotlineFileError(DictionaryFileError):
    """A malformed hotline file (names the row and column)."""


def _place_index(session: Session, at: datetime) -> list[tuple[str, float, float, str, float]]:
    """(name, lon, lat, precision, radius_m) of every village and town, longest name first,
    the point inside its polygon; ``precision`` ``village``/``town`` and ``radius_m`` the
    radius of a circle of its area (as :mod:`layers.gazetteer` states a place's precision)."""
    generation = active_generation(session=session, at=at)
    rows = session.execute(
        text(
            "SELECT name, ST_X(p), ST_Y(p), level, sqrt(area / pi()) FROM ("
            " SELECT name, level, ST_PointOnSurface(geom) AS p, ST_Area(geom::geography) AS area"
            " FROM grid WHERE generation_id = :g AND level IN (1, 2)) s "
            "ORDER BY level DESC, length(name) DESC"
        ),
        {"g": generation.id},
    )
    return [
        (str(n), float(x), float(y), "village" if level == 2 else "town", float(r))
        for n, x, y, level, r in rows
    ]


def _time(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip()[:40].replace("/", "-"))
        except ValueError:
            raise HotlineFileError(
                f"{where}: received_at {value!r} is not a date-time; use e.g. 2026-05-01 09:30",
                field="received_at",
            ) from None
    if not 1970 <= parsed.year <= 2100:
        raise HotlineFileError(
            f"{where}: received_at {value!r} is in the year {parsed.year}; give a date in "
            "1970..2100",
            field="received_at",
        )
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)


def import_hotline(
    *,
    session: Session,
    actor: Actor,
    content: bytes,
    filename: str,
    metric_srid: int = 4549,
    charset: str | None = None,
    row_datum: Callable[[Any], Datum] | None = None,
) -> dict[str, Any]:
    """``row_datum`` reads a row's ``crs`` cell (the API's one reader, api.coords.client_crs,
    with the request's ``crs`` query parameter as the file's default; a DomainError for an
    unknown or disagreeing name); None: the cell alone, CGCS2000 when empty."""
    rows = read_table(content, filename, charset)
    if not rows:
        raise HotlineFileError(f"{filename} has no tickets", field="file")
    missing = [c for c in REQUIRED if c not in rows[0]]
    if missing:
        raise HotlineFileError(
            f"{filename} lacks the columns {', '.join(missing)}; the header needs "
            f"{', '.join(REQUIRED)} and lon,lat[,crs] or address",
            field="file",
        )
    places: list[tuple[str, float, float, str, float]] | None = None
    created, skipped = [], []
    for number, row in enumerate(rows, start=2):
        where = f"{filename} row {number}"
        ticket = str(row.get("ticket_no") or "").strip()
        if not ticket:
            raise HotlineFileError(f"{where}: ticket_no is empty", field="ticket_no")
        ref = f"12345:{ticket}"
        if session.scalar(select(Event.id).where(Event.external_ref == ref)) is not None:
            skipped.append(ticket)
            continue
        at = _time(row.get("received_at"), where)
        lon_v, lat_v = row.get("lon"), row.get("lat")
        address = str(row.get("address") or "").strip() or None
        precision: str | None = None  # placed by the address: village or town
        accuracy: float | None = None
        if lon_v not in (None, "") and lat_v not in (None, ""):
            try:
                lon, lat = float(lon_v), float(lat_v)
            except (TypeError, ValueError):
                raise HotlineFileError(f"{where}: lon/lat are not numbers", field="lon") from None
            if row_datum is not None:
                try:
                    datum = row_datum(row.get("crs"))
                except DomainError as err:
                    raise HotlineFileError(f"{where}: {err.detail}", field="crs") from None
            else:
                found = datum_of(str(row.get("crs") or "cgcs2000"))
                if found is None:
                    raise HotlineFileError(
                        f"{where}: crs {row.get('crs')!r}: use {DATUM_NAMES}", field="crs"
                    )
                datum = found
            x, y = to_cgcs2000(np.array([lon]), np.array([lat]), datum)
            lon, lat = float(x[0]), float(y[0])
        elif address:
            places = places if places is not None else _place_index(session, at)
            hit = next((p for p in places if p[0] in address), None)
            if hit is None:
                raise HotlineFileError(
                    f"{where}: address {address!r} names no town or village of the city; "
                    "add lon,lat to the row",
                    field="address",
                )
            lon, lat, precision = hit[1], hit[2], hit[3]
            accuracy = round(min(hit[4], MAX_ACCURACY_M), 1)  # the place's radius
        else:
            raise HotlineFileError(f"{where}: give lon,lat or an address", field="lon")
        try:
            event = create_event(
                session=session,
                actor=actor,
                lon=lon,
                lat=lat,
                subclass_code=str(row.get("subclass") or "").strip().zfill(4),
                description=str(row.get("description") or ""),
                source=EventSource.HOTLINE,
                reported_at=at,
                address=address,
                external_ref=ref,
                ignore_duplicates=True,
                metric_srid=metric_srid,
                location_accuracy_m=accuracy,
                precision=precision,
            )
        except HotlineFileError:
            raise
        except Exception as exc:
            detail = getattr(exc, "detail", str(exc))
            raise HotlineFileError(
                f"{where}: {detail}", field=getattr(exc, "field", None) or "file"
            ) from None
        created.append(event.id)
    return {"created": len(created), "event_ids": created, "skipped_tickets": skipped}
