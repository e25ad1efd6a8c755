"""Parsers of the client protocols into :class:`FixColumns` (DOMAIN.md section 6).

Each returns the device's external id (if the format carries it) and the parsed fixes; a bad
fix becomes a per-item error (index, field, reason) and never stops the others.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import gpxpy
import gpxpy.gpx

from api.errors import InvalidParameter, PayloadTooLarge
from api.ingest.pipeline import FixColumns, ItemError, check_coordinates, parse_number, parse_time
from gis.crs import Datum
from layers.errors import DomainError

KNOT_MPS = 1852.0 / 3600.0
KMH_MPS = 1000.0 / 3600.0
DATUMS = {d.value for d in Datum}


class BadRequestBody(DomainError):
    """A request whose body (or the one fix it carries) cannot be used: HTTP 400, as Traccar."""


# -- Traccar Client / OsmAnd --------------------------------------------------------------------
OSMAND_KNOWN = {
    "id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "bearing", "heading",
    "altitude", "accuracy", "hdop", "batt", "valid", "key", "token",
}  # fmt: skip


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() not in ("false", "0", "no", "")


def osmand_params(params: Mapping[str, str]) -> tuple[str, FixColumns]:
    """One fix from Traccar Client / OsmAnd query or form parameters."""
    device = params.get("id") or params.get("deviceid")
    if not device:
        raise BadRequestBody("the device id is missing; send id=<device id>", field="id")
    fixes = FixColumns()
    try:
        lat_v: Any = params.get("lat")
        lon_v: Any = params.get("lon")
        if "location" in params:
            parts = params["location"].split(",")
            if len(parts) != 2:
                raise ItemError("location", "location must be 'lat,lon', e.g. 31.92,120.28")
            lat_v, lon_v = parts
        check_coordinates(lon_v, lat_v)
        ts = params.get("timestamp")
        fix_time = datetime.now(UTC) if ts in (None, "") else parse_time(ts, "timestamp")
        speed_kn = parse_number(params.get("speed"), "speed", low=0)
        course = parse_number(params.get("bearing", params.get("heading")), "bearing")
        accuracy = parse_number(params.get("accuracy"), "accuracy", low=0)
        attrs = {k: v for k, v in params.items() if k.lower() not in OSMAND_KNOWN}
        if params.get("hdop"):
            attrs["hdop"] = params["hdop"]
        fixes.add(
            0,
            fix_time=fix_time,
            lon=float(lon_v),
            lat=float(lat_v),
            accuracy_m=accuracy,
            speed_mps=speed_kn * KNOT_MPS,
            course_deg=course,
            altitude_m=parse_number(params.get("altitude"), "altitude"),
            battery_pct=parse_number(params.get("batt"), "batt", low=0, high=100),
            valid=_truthy(params.get("valid", "true")),
            attributes=attrs,
        )
    except ItemError as err:
        raise BadRequestBody(err.reason, field=err.field) from None
    return str(device), fixes


def osmand_json(data: Any) -> tuple[str, FixColumns]:
    """The newer Traccar Client JSON body (speed in m/s here, not knots)."""
    if not isinstance(data, dict):
        raise BadRequestBody(
            'the body must be a JSON object {"device_id", "location"}', field="body"
        )
    device = data.get("device_id")
    location = data.get("location")
    if not device:
        raise BadRequestBody("device_id is missing", field="device_id")
    if not isinstance(location, dict) or not isinstance(location.get("coords"), dict):
        raise BadRequestBody(
            "location.coords is missing; send {location: {timestamp, coords: {latitude, "
            "longitude}}}",
            field="location.coords",
        )
    coords = location["coords"]
    fixes = FixColumns()
    try:
        check_coordinates(
            coords.get("longitude"), coords.get("latitude"),
            "location.coords.longitude", "location.coords.latitude",
        )  # fmt: skip
        ts = location.get("timestamp")
        battery = location.get("battery") if isinstance(location.get("battery"), dict) else {}
        level = parse_number(battery.get("level"), "location.battery.level")
        attrs: dict[str, Any] = {}
        for key in ("is_moving", "odometer", "activity", "extras", "event", "uuid"):
            if key in location:
                attrs[key] = location[key]
        if "is_charging" in battery:
            attrs["is_charging"] = battery["is_charging"]
        fixes.add(
            0,
            fix_time=datetime.now(UTC)
            if ts in (None, "")
            else parse_time(ts, "location.timestamp"),
            lon=float(coords["longitude"]),
            lat=float(coords["latitude"]),
            accuracy_m=parse_number(coords.get("accuracy"), "location.coords.accuracy", low=0),
            speed_mps=parse_number(coords.get("speed"), "location.coords.speed"),
            course_deg=parse_number(coords.get("heading"), "location.coords.heading"),
            altitude_m=parse_number(coords.get("altitude"), "location.coords.altitude"),
            # battery.level is 0..1 in the Traccar/transistorsoft format
            battery_pct=level * 100.0 if not math.isnan(level) and level <= 1.0 else level,
            attributes=attrs,
        )
    except ItemError as err:
        raise BadRequestBody(err.reason, field=err.field) from None
    return str(device), fixes


# -- OwnTracks ------------------------------------------------------------------------------------
def owntracks(data: Any) -> FixColumns:
    """An OwnTracks ``_type: location`` message (``vel`` km/h); other types carry no fix."""
    fixes = FixColumns()
    if not isinstance(data, dict):
        raise BadRequestBody("the body must be an OwnTracks JSON object", field="body")
    if data.get("_type") != "location":
        return fixes
    try:
        check_coordinates(data.get("lon"), data.get("lat"))
        attrs = {k: data[k] for k in ("tid", "t", "conn", "bs", "m") if k in data}
        fixes.add(
            0,
            fix_time=parse_time(data.get("tst"), "tst"),
            lon=float(data["lon"]),
            lat=float(data["lat"]),
            accuracy_m=parse_number(data.get("acc"), "acc", low=0),
            speed_mps=parse_number(data.get("vel"), "vel") * KMH_MPS,
            course_deg=parse_number(data.get("cog"), "cog"),
            altitude_m=parse_number(data.get("alt"), "alt"),
            battery_pct=parse_number(data.get("batt"), "batt", low=0, high=100),
            attributes=attrs,
        )
    except ItemError as err:
        raise BadRequestBody(err.reason, field=err.field) from None
    return fixes


# -- our batch ----------------------------------------------------------------------------------
BATCH_FIELDS = ("accuracy_m", "speed_mps", "course_deg", "altitude_m", "battery_pct")


def batch(data: Any, *, max_fixes: int) -> tuple[str | None, FixColumns, int]:
    """``{"device", "datum", "fixes": [{"time", "lon", "lat", "datum", "seq", …}]}``.

    Returns the device id (if given), the good fixes and the number received. Raises for a body
    that is not a batch at all; a bad fix is a per-item error.
    """
    if not isinstance(data, dict):
        raise InvalidParameter(
            'the body must be a JSON object {"device": …, "fixes": [{"time", "lon", "lat"}, …]}',
            field="body",
        )
    items = data.get("fixes")
    if not isinstance(items, list):
        raise InvalidParameter("fixes must be a list of fix objects", field="fixes")
    if not items:
        raise InvalidParameter("fixes is empty; send at least one fix", field="fixes")
    if len(items) > max_fixes:
        raise PayloadTooLarge(
            f"{len(items)} fixes in one batch; send at most {max_fixes} per request and the "
            "rest in further requests (resending is safe)",
            field="fixes",
        )
    default_datum = data.get("datum") or Datum.WGS84.value
    if default_datum not in DATUMS:
        raise InvalidParameter(
            f"datum {default_datum!r} is not supported; use one of {'|'.join(sorted(DATUMS))}",
            field="datum",
        )
    device = data.get("device")
    fixes = FixColumns()
    for i, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise ItemError("", f"fix {i} must be an object with time, lon and lat")
            lon, lat = item.get("lon"), item.get("lat")
            # fast path: plain in-range floats need no further checks
            fast = type(lon) is float and type(lat) is float
            if not (fast and -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):  # type: ignore[operator]
                check_coordinates(lon, lat)
            datum = item.get("datum", default_datum)
            if datum not in DATUMS:
                raise ItemError("datum", f"datum {datum!r} is not one of {sorted(DATUMS)}")
            seq = item.get("seq")
            if seq is not None and (type(seq) is not int):
                raise ItemError("seq", f"seq must be an integer, got {seq!r}")
            extra = [parse_number(item.get(k), k) for k in BATCH_FIELDS]
            attrs = item.get("attributes")
            if attrs is not None and not isinstance(attrs, dict):
                raise ItemError("attributes", "attributes must be an object")
            fixes.add(
                i,
                fix_time=parse_time(item.get("time"), "time"),
                lon=float(lon),  # type: ignore[arg-type]
                lat=float(lat),  # type: ignore[arg-type]
                datum=datum,
                accuracy_m=extra[0],
                speed_mps=extra[1],
                course_deg=extra[2],
                altitude_m=extra[3],
                battery_pct=extra[4],
                valid=bool(item.get("valid", True)),
                seq=seq,
                attributes=attrs,
            )
        except ItemError as err:
            fixes.reject(i, ItemError(f"fixes[{i}].{err.field}".rstrip("."), err.reason))
    return (str(device) if device else None), fixes, len(items)


# -- GPX ----------------------------------------------------------------------------------------
def gpx(body: bytes) -> tuple[FixColumns, int]:
    """The track points (``trk/trkseg/trkpt``, else route/way points) of a GPX 1.0/1.1 file."""
    try:
        parsed = gpxpy.parse(body.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InvalidParameter("the GPX file must be UTF-8 XML", field="body") from None
    except (gpxpy.gpx.GPXException, ValueError) as exc:
        raise InvalidParameter(
            f"the GPX file cannot be read ({str(exc)[:200]}); export it again as GPX 1.1",
            field="body",
        ) from None
    points = [p for t in parsed.tracks for s in t.segments for p in s.points]
    points = points or [p for r in parsed.routes for p in r.points] or list(parsed.waypoints)
    if not points:
        raise InvalidParameter("the GPX file has no track points (trk/trkseg/trkpt)", field="body")
    fixes = FixColumns()
    for i, p in enumerate(points):
        try:
            check_coordinates(p.longitude, p.latitude, f"trkpt[{i}].lon", f"trkpt[{i}].lat")
            if p.time is None:
                raise ItemError(
                    f"trkpt[{i}].time",
                    "this track point has no <time>; a patrol track needs a time per point",
                )
            t = p.time if p.time.tzinfo else p.time.replace(tzinfo=UTC)
            fixes.add(
                i,
                fix_time=t.astimezone(UTC),
                lon=float(p.longitude),
                lat=float(p.latitude),
                altitude_m=math.nan if p.elevation is None else float(p.elevation),
                accuracy_m=math.nan
                if p.horizontal_dilution is None
                else 5.0 * p.horizontal_dilution,
            )
        except ItemError as err:
            fixes.reject(i, err)
    if len(fixes) == 0:
        raise InvalidParameter(
            f"none of the {len(points)} GPX points can be stored: "
            + fixes.errors[0]["detail"]
            + " (export the track with times, e.g. from the recording app's GPX export)",
            field="body",
            extra={"errors": fixes.errors[:20]},
        )
    return fixes, len(points)
