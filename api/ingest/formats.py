"""Parsers of the client protocols into :class:`FixColumns` (DOMAIN.md section 6).

Each returns the device's external id (if the format carries it) and the parsed fixes; a bad
fix becomes a per-item error (index, field, reason) and never stops the others.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import gpxpy
import gpxpy.gpx

from api.errors import InvalidParameter, PayloadTooLarge
from api.ingest.pipeline import (
    HDOP_UERE_M,
    FixColumns,
    ItemError,
    check_attributes,
    check_coordinates,
    check_seq,
    check_text,
    is_unknown,
    parse_number,
    parse_time,
    parse_value,
)
from gis.crs import DATUM_NAMES, Datum, datum_of
from layers.errors import DomainError
from layers.tables import xml_text

KMH_MPS = 1000.0 / 3600.0
DATUMS = {d.value for d in Datum}


class BadRequestBody(DomainError):
    """A request whose body (or the one fix it carries) cannot be used: HTTP 400, as Traccar."""


# -- Traccar Client / OsmAnd --------------------------------------------------------------------
OSMAND_KNOWN = {
    "id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "bearing", "heading",
    "altitude", "accuracy", "hdop", "batt", "valid", "key", "token", "crs",
}  # fmt: skip
MAX_DEVICE_ID_CHARS = 100
MAX_EXTRA_PARAMETERS = 50


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() not in ("false", "0", "no", "")


def _known(value: Any, kind: str) -> Any:
    """None for a "not known" sentinel of ``kind`` (pipeline.UNKNOWN_SENTINELS), else the
    value."""
    return None if is_unknown(value, kind) else value


def device_id(value: Any, field: str) -> str:
    """A device's external id as clients send it: text or a number, 1..100 characters."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadRequestBody(f"{field} must be the device's id as text", field=field)
    text = str(value).strip()
    if not text:
        raise BadRequestBody(f"the device id is missing; send {field}=<device id>", field=field)
    try:
        return check_text(text, field, max_chars=MAX_DEVICE_ID_CHARS)
    except ItemError as err:
        raise BadRequestBody(err.reason, field=err.field) from None


def _accuracy(accuracy: Any, hdop: Any, field: str = "accuracy") -> float:
    """The reported accuracy in metres, else HDOP x :data:`HDOP_UERE_M`, else NaN."""
    value = parse_value(accuracy, "accuracy_m", field)
    if math.isnan(value):
        value = parse_value(hdop, "hdop", "hdop") * HDOP_UERE_M
    return value


def osmand_params(params: Mapping[str, str]) -> tuple[str, FixColumns]:
    """One fix from Traccar Client / OsmAnd query or form parameters.

    ``speed`` is in the device's unit (``device.speed_unit``: knots for Traccar Client, the
    default; m/s for the OsmAnd app), converted once the device is known. ``-1`` for speed,
    bearing, accuracy, hdop or batt means unknown (stored NULL, pipeline.UNKNOWN_SENTINELS);
    ``hdop`` without ``accuracy`` becomes an accuracy estimate (HDOP x 5 m).
    """
    field = "id" if params.get("id") else "deviceid"
    device = device_id(params.get("id") or params.get("deviceid"), field)
    if len(params) > len(OSMAND_KNOWN) + MAX_EXTRA_PARAMETERS:
        raise BadRequestBody(
            f"{len(params)} parameters; send at most {MAX_EXTRA_PARAMETERS} beyond the protocol's",
            field="query",
        )
    fixes = FixColumns(speed_in_device_unit=True, time_field="timestamp")
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
        # the speed's range is checked in m/s after the unit conversion (pipeline)
        speed = parse_number(_known(params.get("speed"), "speed_mps"), "speed", low=0, high=10_000)
        course = parse_value(params.get("bearing", params.get("heading")), "course_deg", "bearing")
        attrs = {
            check_text(k, "query", max_chars=100): check_text(v, k)
            for k, v in params.items()
            if k.lower() not in OSMAND_KNOWN
        }
        if params.get("hdop") and not is_unknown(params["hdop"], "hdop"):
            attrs["hdop"] = check_text(params["hdop"], "hdop", max_chars=30)
        fixes.add(
            0,
            fix_time=fix_time,
            lon=float(lon_v),
            lat=float(lat_v),
            accuracy_m=_accuracy(params.get("accuracy"), params.get("hdop")),
            speed_mps=speed,
            course_deg=course,
            altitude_m=parse_value(params.get("altitude"), "altitude_m", "altitude"),
            battery_pct=parse_value(params.get("batt"), "battery_pct", "batt"),
            valid=_truthy(params.get("valid", "true")),
            attributes=attrs,
        )
    except ItemError as err:
        raise BadRequestBody(err.reason, field=err.field) from None
    return device, fixes


def osmand_json(data: Any) -> tuple[str, FixColumns]:
    """The newer Traccar Client JSON body (speed in m/s here, not knots).

    ``-1`` for speed, heading, accuracy or battery level means unknown: stored NULL (one rule
    for every ingest path, pipeline.UNKNOWN_SENTINELS); an altitude of -1 m is stored as sent.
    """
    if not isinstance(data, dict):
        raise BadRequestBody(
            'the body must be a JSON object {"device_id", "location"}', field="body"
        )
    device = device_id(data.get("device_id"), "device_id")
    location = data.get("location")
    if not isinstance(location, dict) or not isinstance(location.get("coords"), dict):
        raise BadRequestBody(
            "location/coords is missing; send {location: {timestamp, coords: {latitude, "
            "longitude}}}",
            field="location/coords",
        )
    coords = location["coords"]
    fixes = FixColumns(time_field="location/timestamp")
    try:
        check_coordinates(
            coords.get("longitude"), coords.get("latitude"),
            "location/coords/longitude", "location/coords/latitude",
        )  # fmt: skip
        ts = location.get("timestamp")
        battery = location.get("battery") if isinstance(location.get("battery"), dict) else {}
        level = parse_number(_known(battery.get("level"), "battery_pct"), "location/battery/level")
        # battery.level is 0..1 in the Traccar/transistorsoft format
        battery_pct = None if math.isnan(level) else level * 100.0 if level <= 1.0 else level
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
            else parse_time(ts, "location/timestamp"),
            lon=float(coords["longitude"]),
            lat=float(coords["latitude"]),
            accuracy_m=parse_value(
                coords.get("accuracy"), "accuracy_m", "location/coords/accuracy"
            ),
            speed_mps=parse_value(coords.get("speed"), "speed_mps", "location/coords/speed"),
            course_deg=parse_value(coords.get("heading"), "course_deg", "location/coords/heading"),
            altitude_m=parse_value(
                coords.get("altitude"), "altitude_m", "location/coords/altitude"
            ),
            battery_pct=parse_value(battery_pct, "battery_pct", "location/battery/level"),
            attributes=check_attributes(attrs, "location"),
        )
    except ItemError as err:
        raise BadRequestBody(err.reason, field=err.field) from None
    return device, fixes


# -- OwnTracks ------------------------------------------------------------------------------------
def owntracks(data: Any) -> FixColumns:
    """An OwnTracks ``_type: location`` message (``vel`` km/h); other types carry no fix."""
    fixes = FixColumns(time_field="tst")
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
            accuracy_m=parse_value(data.get("acc"), "accuracy_m", "acc"),
            speed_mps=parse_value(data.get("vel"), "speed_mps", "vel", scale=KMH_MPS),
            course_deg=parse_value(data.get("cog"), "course_deg", "cog"),
            altitude_m=parse_value(data.get("alt"), "altitude_m", "alt"),
            battery_pct=parse_value(data.get("batt"), "battery_pct", "batt"),
            attributes=check_attributes(attrs, "body"),
        )
    except ItemError as err:
        raise BadRequestBody(err.reason, field=err.field) from None
    return fixes


# -- our batch ----------------------------------------------------------------------------------
BATCH_FIELDS = ("accuracy_m", "speed_mps", "course_deg", "altitude_m", "battery_pct")
# every field a batch and a fix of it may carry: anything else is refused (a misspelt
# "acuracy_m" would otherwise be dropped without a word); free-form data goes in attributes
BATCH_KEYS = frozenset({"device", "crs", "datum", "fixes"})
FIX_KEYS = frozenset(
    {"time", "lon", "lat", "crs", "datum", "seq", "valid", "attributes", *BATCH_FIELDS}
)


def crs_field(obj: dict[str, Any], default: str | None) -> str | None:
    """The datum value of ``obj``'s ``crs`` (the documented name) or ``datum`` (the older alias),
    any name :func:`gis.crs.datum_of` knows (``gcj02``, ``EPSG:4326``, …), else ``default``.

    Raises ValueError(field, message) for an unknown name or a ``crs`` and ``datum`` that
    disagree."""
    found: dict[str, Datum] = {}
    for key in ("crs", "datum"):
        value = obj.get(key)
        if value is None or value == "":
            continue
        datum = datum_of(value) if isinstance(value, str) else None
        if datum is None:
            raise ValueError(key, f"{key} {str(value)[:60]!r} is not supported; use {DATUM_NAMES}")
        found[key] = datum
    if len(set(found.values())) > 1:
        raise ValueError(
            "datum",
            f"crs {obj['crs']!r} and datum {obj['datum']!r} disagree; send crs only "
            "(datum is its older name)",
        )
    return next(iter(found.values())).value if found else default


def _json_numbers(item: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    """JSON numbers are numbers: ``"120.28"`` (a string) or ``true`` for a number is the fix's
    error naming the field, as every JSON body of the API (api/schemas/bodies.py
    ``check_values``); only the client protocols that send strings (OsmAnd) convert them."""
    for key in keys:
        value = item.get(key)
        if value is not None and (type(value) is bool or not isinstance(value, int | float)):
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "…"
            raise ItemError(
                key, f'{key} must be a JSON number, not {shown} (send 120.28, not "120.28")'
            )


def batch(data: Any, *, max_fixes: int) -> tuple[str | None, FixColumns, int]:
    """``{"device", "crs", "fixes": [{"time", "lon", "lat", "crs", "seq", …}]}`` (``datum`` is
    the older name of ``crs``; both given must agree).

    Returns the device id (if given), the good fixes and the number received. Raises for a body
    that is not a batch at all (or names a field a batch does not have); a bad fix is a
    per-item error (its index, the JSON pointer of its field ``fixes/3/time``, and reason),
    a fix with a field of its own the batch does not know included.
    Values are bounded (:data:`VALUE_RANGES`, ``seq`` 0..2^63-1, attributes 8 levels deep and
    8 KiB, no NUL in any string).
    """
    if not isinstance(data, dict):
        raise InvalidParameter(
            'the body must be a JSON object {"device": …, "fixes": [{"time", "lon", "lat"}, …]}',
            field="body",
        )
    unknown = sorted(str(k) for k in data if k not in BATCH_KEYS)
    if unknown:
        raise InvalidParameter(
            f"{unknown[0][:60]!r} is not a field of a batch; send device, crs and fixes "
            "(a fix's own values go inside it)",
            field=unknown[0][:60],
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
    try:
        default_datum = crs_field(data, None) or Datum.WGS84.value
    except ValueError as err:
        raise InvalidParameter(err.args[1], field=err.args[0]) from None
    device = data.get("device")
    if device is not None:
        try:
            device = device_id(device, "device")
        except BadRequestBody as err:
            raise InvalidParameter(err.detail, field="device") from None
    fixes = FixColumns(time_field="fixes/{i}/time")
    for i, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise ItemError("", f"fix {i} must be an object with time, lon and lat")
            if not FIX_KEYS.issuperset(item):
                key = str(next(k for k in item if k not in FIX_KEYS))[:60]
                raise ItemError(
                    key,
                    f"{key!r} is not a field of a fix; use {', '.join(sorted(FIX_KEYS))} (put "
                    "anything else in attributes)",
                )
            lon, lat = item.get("lon"), item.get("lat")
            # fast path: plain in-range floats need no further checks
            fast = type(lon) is float and type(lat) is float
            _json_numbers(item, BATCH_FIELDS if fast else ("lon", "lat", *BATCH_FIELDS))
            if not (fast and -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):  # type: ignore[operator]
                check_coordinates(lon, lat)
            datum = default_datum
            if "crs" in item or "datum" in item:
                try:
                    datum = crs_field(item, None) or default_datum
                except ValueError as err:
                    raise ItemError(err.args[0], err.args[1]) from None
            seq = check_seq(item.get("seq"))
            extra = [parse_value(item.get(k), k) for k in BATCH_FIELDS]
            valid = item.get("valid", True)
            if not isinstance(valid, bool):
                raise ItemError("valid", f"valid must be true or false, got {valid!r}")
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
                valid=valid,
                seq=seq,
                attributes=check_attributes(item.get("attributes")),
            )
        except ItemError as err:
            # the JSON pointer of the field (attributes' keys as "attributes/a/b")
            path = re.sub(r"\[(\d+)\]", r".\1", err.field)  # attributes.a[0] -> attributes.a.0
            where = "/".join(part for part in path.split(".") if part)
            fixes.reject(i, ItemError(f"fixes/{i}/{where}".rstrip("/"), err.reason))
    return device, fixes, len(items)


# -- GPX ----------------------------------------------------------------------------------------
def _raw_times(text: str) -> dict[int, str]:
    """The ``<time>`` text of each point of a GPX document by the index :func:`gpx` gives it
    (track points, else route points, else waypoints), for the points gpxpy left without a
    time: an invalid ``T25:00:00Z`` is named as invalid, not as missing. Read only when a
    point has no time (the file has passed gpxpy, so it is well-formed XML)."""
    from xml.etree import ElementTree as ET

    def local(tag: Any) -> str:
        return str(tag).rsplit("}", 1)[-1]

    try:  # the declaration's encoding is the file's, not this (decoded) text's
        root = ET.fromstring(re.sub(r"^\s*<\?xml[^>]*\?>", "", text))
    except ET.ParseError:
        return {}
    by_kind: dict[str, list[ET.Element]] = {"trkpt": [], "rtept": [], "wpt": []}
    for el in root.iter():
        kind = local(el.tag)
        if kind in by_kind:
            by_kind[kind].append(el)
    points = by_kind["trkpt"] or by_kind["rtept"] or by_kind["wpt"]
    out: dict[int, str] = {}
    for i, point in enumerate(points):
        for child in point:
            if local(child.tag) == "time" and (child.text or "").strip():
                out[i] = (child.text or "").strip()
    return out


def gpx(body: bytes, charset: str | None = None) -> tuple[FixColumns, int, str | None]:
    """The track points (``trk/trkseg/trkpt``, else route/way points) of a GPX 1.0/1.1 file,
    read in its declared encoding (BOM, XML declaration, else the upload's ``charset``, else
    UTF-8 or detected); returns the fixes, the number of points and the name of the (first
    named) track or file."""
    text = xml_text(body, field="body", charset=charset)
    try:
        parsed = gpxpy.parse(text)
    except (gpxpy.gpx.GPXException, ValueError, OverflowError) as exc:
        raise InvalidParameter(
            f"the GPX file cannot be read ({str(exc)[:200]}); export it again as GPX 1.1",
            field="body",
        ) from None
    points = [p for t in parsed.tracks for s in t.segments for p in s.points]
    points = points or [p for r in parsed.routes for p in r.points] or list(parsed.waypoints)
    if not points:
        raise InvalidParameter("the GPX file has no track points (trk/trkseg/trkpt)", field="body")
    fixes = FixColumns(time_field="trkpt/{i}/time")
    raw_times: dict[int, str] | None = None
    for i, p in enumerate(points):
        try:
            check_coordinates(p.longitude, p.latitude, f"trkpt/{i}/lon", f"trkpt/{i}/lat")
            if p.time is None and raw_times is None:
                raw_times = _raw_times(text)
            if p.time is None:
                raw = raw_times.get(i) if raw_times is not None else None
                raise ItemError(
                    f"trkpt/{i}/time",
                    "this track point has no <time>; a patrol track needs a time per point"
                    if raw is None
                    else f"the <time> {raw[:40]!r} of this track point is not a valid time; "
                    "write it as ISO 8601 UTC, e.g. 2026-03-01T08:30:00Z",
                )
            t = p.time if p.time.tzinfo else p.time.replace(tzinfo=UTC)
            fixes.add(
                i,
                fix_time=parse_time(t.isoformat(), f"trkpt/{i}/time"),
                lon=float(p.longitude),
                lat=float(p.latitude),
                altitude_m=parse_value(p.elevation, "altitude_m", f"trkpt/{i}/ele"),
                accuracy_m=parse_value(p.horizontal_dilution, "hdop", f"trkpt/{i}/hdop")
                * HDOP_UERE_M,
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
    names = [t.name for t in parsed.tracks if t.name] + [r.name for r in parsed.routes if r.name]
    name = (names[0] if names else parsed.name) or None
    return fixes, len(points), None if name is None else name.strip()[:200]
