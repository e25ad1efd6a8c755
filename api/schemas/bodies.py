"""Request bodies of the routes that read their body by hand (JSON, a form, a file), as JSON
Schemas for the OpenAPI document (``openapi_extra=body(...)``). The routes check every value
themselves and answer a 4xx problem naming the field; these schemas say what to send.

They are also the list of fields a route takes: :func:`refuse_unknown` answers 422 naming a
field the schema does not name (a misspelt ``descripton`` is never silently dropped). Bodies
of client protocols we do not control stay tolerant and do not call it: Open311 (GeoReport
v2), OsmAnd / Traccar Client (form and JSON), OwnTracks, and GeoJSON (foreign members are
allowed by RFC 7946).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from api.errors import InvalidParameter
from api.schemas.common import BINARY, CSV_TEXT
from layers.events.intake import MAX_ADDRESS_CHARS, MAX_DESCRIPTION_CHARS

BATCH_MAX_FIXES = 50_000  # fixes in one ingest batch (api/routes/ingest.py answers 413 above)

TEXT = {"type": "string", "maxLength": 10_000}
NAME = {"type": "string", "minLength": 1, "maxLength": 200}
VERSION = {
    "type": "integer", "minimum": 0, "maximum": 2**31 - 1,
    "description": "the version read (or If-Match)",
}  # fmt: skip
MAX_EXTENSION = 1000  # an extension, in the subclass's unit (hours or working days)
DATUM = {
    "type": "string",
    "enum": ["cgcs2000", "wgs84", "gcj02", "bd09", "EPSG:4490", "EPSG:4326"],
    "description": "cgcs2000|wgs84|gcj02|bd09, or EPSG:4490 (CGCS2000), EPSG:4326 (WGS 84), "
    "their OGC URIs and OGC CRS84",
}
DATUM_ALIAS = {**DATUM, "description": "older name of crs (must agree with crs if both are sent)"}


def body(*media: tuple[str, dict[str, Any]], required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` declaring the request body's media types and schemas."""
    return {"requestBody": {"required": required, "content": {m: {"schema": s} for m, s in media}}}


def obj(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    """A closed object schema: ``properties`` only (see :func:`refuse_unknown`)."""
    return {
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": False,
    }


def refuse_unknown(
    data: Mapping[str, Any], schema: Mapping[str, Any] | Iterable[str], *, at: str = ""
) -> None:
    """Raise :class:`InvalidParameter` (422) naming the first key of ``data`` that ``schema``
    (an object schema of this module, or the field names) does not name, or the first string
    value (at any depth) holding a NUL character, which PostgreSQL cannot store. The field is
    the JSON pointer under ``at`` (``days/3/kind``)."""
    names = set(schema.get("properties", {})) if isinstance(schema, Mapping) else set(schema)
    for key in data:
        if key not in names:
            shown = key if len(key) <= 60 else key[:60] + "…"
            raise InvalidParameter(
                f"{shown!r} is not a field of this body; remove it or correct its name (the "
                f"fields are {', '.join(sorted(names))})",
                field=f"{at}/{key}" if at else str(key),
            )
    stack: list[tuple[str, Any]] = [(f"{at}/{k}" if at else str(k), v) for k, v in data.items()]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str) and "\x00" in value:
            raise InvalidParameter(
                f"{where} contains a NUL character (\\u0000); remove it", field=where
            )
        if isinstance(value, dict):
            stack.extend((f"{where}/{k}", v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{where}/{i}", v) for i, v in enumerate(value))


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "null": (type(None),),
    "array": (list,),
    "object": (dict,),
}


def check_values(data: Mapping[str, Any], schema: Mapping[str, Any], *, at: str = "") -> None:
    """Raise :class:`InvalidParameter` (422) naming the first value of a JSON body ``data`` that
    breaks its property's schema in ``schema`` (this module's, the one the OpenAPI document
    shows: one limit for both): ``type`` (JSON types strictly: ``true`` is no integer, ``"1"``
    no number), ``enum``, ``minLength``/``maxLength``, ``minimum``/``maximum``/
    ``exclusiveMinimum``, ``maxItems``; nested object schemas are checked the same way (unknown
    keys included, see :func:`refuse_unknown`). Multipart forms (strings) are not for this."""
    properties = schema.get("properties", {})
    for key, value in data.items():
        rule = properties.get(key)
        if rule is None:
            continue
        field = f"{at}/{key}" if at else str(key)
        _check_value(value, rule, field)


def _check_value(value: Any, rule: Mapping[str, Any], field: str) -> None:
    kinds = rule.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        ok = any(
            isinstance(value, _JSON_TYPES[n]) and not (n in ("number", "integer") and
                                                       isinstance(value, bool))
            for n in names
        )  # fmt: skip
        if not ok:
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:60] + "…"
            raise InvalidParameter(
                f"{field} must be {' or '.join(names)}, not {shown}", field=field
            )
    if value is None:
        return
    if "enum" in rule and value not in rule["enum"]:
        raise InvalidParameter(
            f"{field} {value!r:.60} is not one of {', '.join(map(str, rule['enum']))}",
            field=field,
        )
    if isinstance(value, str):
        if len(value) > rule.get("maxLength", len(value)):
            raise InvalidParameter(
                f"{field} has {len(value)} characters; at most {rule['maxLength']}", field=field
            )
        if len(value) < rule.get("minLength", 0):
            raise InvalidParameter(f"{field} must not be empty", field=field)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = rule.get("minimum"), rule.get("maximum")
        above = rule.get("exclusiveMinimum")
        if (
            (low is not None and value < low)
            or (high is not None and value > high)
            or (above is not None and value <= above)
            or value != value  # NaN
        ):
            lo = (
                f"{low}" if low is not None else (f"more than {above}" if above is not None else "")
            )
            raise InvalidParameter(
                f"{field} {value!r:.40} is out of range ({lo}..{high if high is not None else ''})",
                field=field,
            )
    elif isinstance(value, list):
        if len(value) > rule.get("maxItems", len(value)):
            raise InvalidParameter(
                f"{field} has {len(value)} items; send at most {rule['maxItems']}", field=field
            )
        if len(value) < rule.get("minItems", 0):
            raise InvalidParameter(
                f"{field} has {len(value)} items; send at least {rule['minItems']}", field=field
            )
        if isinstance(rule.get("items"), Mapping):
            for i, item in enumerate(value):
                _check_value(item, rule["items"], f"{field}/{i}")
    elif isinstance(value, dict) and "properties" in rule:
        if rule.get("additionalProperties") is False:
            refuse_unknown(value, rule, at=field)
        check_values(value, rule, at=field)


EVENT_REPORT = obj(
    ["lon", "lat", "subclass"],
    lon={"type": "number", "description": "longitude in crs"},
    lat={"type": "number", "description": "latitude in crs"},
    alt={"type": "number", "description": "height in metres (a 3-D position): accepted, ignored"},
    crs=DATUM,
    subclass={"type": "string", "pattern": "^[0-9]{4}$", "description": "e.g. 0101"},
    description={"type": "string", "maxLength": MAX_DESCRIPTION_CHARS},
    source={"type": "string", "description": "patrol (default), public, hotline, …"},
    address={"type": "string", "maxLength": MAX_ADDRESS_CHARS},
    reported_at={"type": "string", "description": "ISO 8601; default now"},
    reporter_name={"type": "string", "maxLength": 100, "description": "who reported it"},
    external_ref={"type": "string", "maxLength": 100, "description": "the caller's own id"},
    ignore_duplicates={
        "type": "boolean",
        "description": "store it even if it looks like a duplicate (default false)",
    },
    location_accuracy_m={
        "type": "number", "minimum": 0, "maximum": 10_000,
        "description": "metres (68 % radius) of the GPS fix that placed the point, if any",
    },
    accuracy_m={"type": "number", "minimum": 0, "maximum": 10_000,
                "description": "older name of location_accuracy_m", "deprecated": True},
)  # fmt: skip
EVENT_REPORT_FORM = {
    **EVENT_REPORT,
    "properties": {**EVENT_REPORT["properties"], "photos": {"type": "array", "items": BINARY}},
}
EVENT_ACTION = obj(
    ["action"],
    action={"type": "string", "description": "GET /api/v1/event-workflow lists them"},
    note=TEXT,
    at={"type": "string", "description": "ISO 8601; admins only (back-dating); default now"},
    acted_at={
        "type": "string",
        "description": "ISO 8601 with zone: when the action was taken on a phone that was "
        "offline; at most 5 min ahead, 72 h old, not before the previous step",
    },
    extension={
        "type": "number", "exclusiveMinimum": 0, "maximum": MAX_EXTENSION,
        "description": "extra time, in the subclass's unit",
    },
    version=VERSION,
)  # fmt: skip
ROUTING_ID = {"type": ["integer", "null"], "minimum": 1, "maximum": 2**31 - 1}
EVENT_ROUTING = obj(
    ["changes", "reason"],
    changes={
        **obj(
            [],
            grid_code={"type": "string", "pattern": "^[0-9]{15}$", "description": "unit grid"},
            department={"type": "string", "minLength": 1, "maxLength": 100},
            chief_person_id={**ROUTING_ID, "description": "a person's id; null clears it"},
            worker_person_id={**ROUTING_ID, "description": "a person's id; null clears it"},
            squad_team_id={**ROUTING_ID, "description": "a team's id; null clears it"},
        ),
        "minProperties": 1,
        "description": 'e.g. {"department": "市城管局"} (intake.check_routing_changes)',
    },
    reason=TEXT,
)
UNDO_REDO = obj([], reason=TEXT, version=VERSION)

# The parameters of each draft edit op (layers/planning/edit_ops.py, feature_ops.py), checked
# by POST /api/v1/generations/{id}/edits before the edit runs: a parameter the op does not take
# is a 422 naming it (a misspelt ``snapm`` never silently falls back to the default).
EDIT_LINE_MAX_POINTS = 10_000
LONLAT = {
    "type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
    "description": "[lon, lat] in CGCS2000 (EPSG:4490) degrees",
}  # fmt: skip
GRID_CODE = {"type": "string", "minLength": 1, "maxLength": 20, "description": "a grid code"}
CODE_PAIR = {
    "type": "array", "items": GRID_CODE, "minItems": 2, "maxItems": 2,
    "description": "two neighbouring unit grids",
}  # fmt: skip
GEOJSON_OBJECT = {"type": "object", "description": "a GeoJSON geometry, EPSG:4490 lon/lat"}
EDIT_PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "move_vertex": {
        "at": LONLAT, "to": LONLAT,
        "snap_m": {"type": "number", "minimum": 0, "maximum": 100, "description": "metres"},
    },
    "move_edge": {
        "codes": CODE_PAIR,
        "offset_m": {**LONLAT, "description": "[east, north] in metres, each at most 5000"},
    },
    "split": {
        "code": GRID_CODE,
        "line": {
            "type": ["object", "array"], "maxItems": EDIT_LINE_MAX_POINTS,
            "description": "a GeoJSON LineString or [[lon, lat], …] (EPSG:4490)",
        },
        "names": {"type": "array", "items": NAME, "maxItems": 100},
    },
    "merge": {"codes": CODE_PAIR, "name": NAME},
    "reparent": {"code": GRID_CODE, "to_parent": GRID_CODE},
    "rename": {"code": GRID_CODE, "name": NAME},
    "recode": {"code": GRID_CODE, "new_code": GRID_CODE},
    "replace_geometry": {"code": GRID_CODE, "geometry": GEOJSON_OBJECT},
}  # fmt: skip
DRAFT_EDIT = obj(
    ["op", "reason"],
    op={"type": "string", "enum": list(EDIT_PARAMS)},
    reason=TEXT,
    version=VERSION,
    **{name: rule for params in EDIT_PARAMS.values() for name, rule in params.items()},
)
DRAFT_EDIT["description"] = (
    "op, reason, version and the op's own parameters (docs/planning.md): move_vertex at, to, "
    "snap_m; move_edge codes, offset_m; split code, line, names; merge codes, name; reparent "
    "code, to_parent; rename code, name; recode code, new_code; replace_geometry code, geometry"
)


def check_edit(data: Mapping[str, Any]) -> None:
    """A draft edit body (:data:`DRAFT_EDIT`): its control fields and the parameters of its op
    (:data:`EDIT_PARAMS`) by their schema; 422 naming the first unknown or invalid field."""
    op = data.get("op")
    check_values(data, DRAFT_EDIT)
    params = EDIT_PARAMS.get(op) if isinstance(op, str) else None
    if params is None:
        return  # an unknown op: refused by the edit itself, naming op and the ops
    schema = obj([], op=DRAFT_EDIT["properties"]["op"], reason=TEXT, version=VERSION, **params)
    refuse_unknown(data, schema)
    check_values(data, schema)


GENERATION_FILE = obj(
    ["file", "name"],
    file=BINARY,
    name=NAME,
    layer={"type": "string", "maxLength": 200},
    crs={"type": "string", "maxLength": 50},
    encoding={
        "type": "string",
        "maxLength": 50,
        "description": "a Shapefile's attribute encoding (GBK, UTF-8, ISO-8859-1); default: its "
        ".cpg, else its language driver id, else detected (file.encoding_guessed says so)",
    },
    force={"type": "boolean"},
    note={"type": "string", "maxLength": 10_000},
    lang={
        "type": "string",
        "enum": ["zh", "en"],
        "description": "language of the detail when a layer must be chosen (default zh)",
    },
)


def _fix_schema() -> dict[str, Any]:
    """A fix of a batch, made from the validator's own tables (api/ingest/formats.py
    ``FIX_KEYS``, ``BATCH_FIELDS``; api/ingest/pipeline.py ``VALUE_RANGES``, ``SEQ_MAX``,
    the attribute bounds): a field the validator takes is never missing here (the import fails
    if the two disagree), and no second list is kept by hand (issue 11, task S part 5)."""
    from api.ingest import pipeline
    from api.ingest.formats import BATCH_FIELDS, FIX_KEYS

    ranged = {
        key: {"type": "number", "minimum": pipeline.VALUE_RANGES[key][0],
              "maximum": pipeline.VALUE_RANGES[key][1]}
        for key in BATCH_FIELDS
    }  # fmt: skip
    schema = obj(
        ["time", "lon", "lat"],
        time={
            "anyOf": [{"type": "string", "maxLength": 64}, {"type": "number", "minimum": 0}],
            "description": "ISO 8601, epoch seconds or milliseconds",
        },
        lon={"type": "number", "minimum": -180, "maximum": 180},
        lat={"type": "number", "minimum": -90, "maximum": 90},
        crs=DATUM,
        datum=DATUM_ALIAS,
        seq={"type": "integer", "minimum": 0, "maximum": pipeline.SEQ_MAX,
             "description": "the client's sequence number (resends are recognised by it)"},
        valid={"type": "boolean", "description": "false: the phone had no position fix"},
        attributes={
            "type": "object",
            "description": f"free-form, at most {pipeline.MAX_ATTRIBUTE_DEPTH} levels deep and "
            f"{pipeline.MAX_ATTRIBUTE_BYTES} bytes as JSON",
        },
        **ranged,
    )  # fmt: skip
    if set(schema["properties"]) != FIX_KEYS:  # the validator gained or lost a field
        raise RuntimeError(f"batch fix schema {sorted(schema['properties'])} != {sorted(FIX_KEYS)}")
    return schema


FIX = _fix_schema()
INGEST_BATCH = obj(
    ["device", "fixes"],
    device={"type": "string", "maxLength": 100},
    crs=DATUM,
    datum=DATUM_ALIAS,
    fixes={"type": "array", "items": FIX, "maxItems": BATCH_MAX_FIXES},
)
OSMAND_FORM = {
    **obj(
        ["id", "lat", "lon"],
        id={"type": "string"},
        lat={"type": "number"},
        lon={"type": "number"},
        timestamp={"type": "string"},
        speed={"type": "number"},
        bearing={"type": "number"},
        altitude={"type": "number"},
        accuracy={"type": "number"},
        batt={"type": "number"},
    ),
    "additionalProperties": {"type": "string"},
}
DEVICE_KEY = {
    "name": "key",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "maxLength": 200},
    "description": "the device's secret (Traccar Client / OsmAnd ?key=); or Authorization: "
    "Bearer <secret>, HTTP Basic with the secret as the password, or X-Device-Secret",
}


def device_key(*, osmand: bool = False) -> dict[str, Any]:
    """``openapi_extra`` declaring the query parameter ``key`` (a device's secret) and, for the
    OsmAnd protocol (``osmand``), the fix's own query parameters (from :data:`OSMAND_FORM`, the
    form body's schema; none required: a POST may carry them in the body)."""
    params = [DEVICE_KEY]
    if osmand:
        params += [
            {"name": name, "in": "query", "required": False, "schema": schema}
            for name, schema in OSMAND_FORM["properties"].items()
        ]
    return {"parameters": params}


OSMAND_JSON = {  # Traccar Client's protocol: tolerant of fields we do not read
    **obj(
        ["device_id", "location"],
        device_id={"type": "string"},
        location={"type": "object", "description": "Traccar Client's JSON location (m/s)"},
    ),
    "additionalProperties": True,
}
OWNTRACKS = {
    **obj(
        ["_type"],
        _type={"type": "string", "description": "location (others are ignored)"},
        lat={"type": "number"},
        lon={"type": "number"},
        tst={"type": "integer"},
        acc={"type": "number"},
        vel={"type": "number"},
        tid={"type": "string"},
    ),
    "additionalProperties": True,
}
GPX = {"type": "string", "description": "a GPX 1.1 document"}
GPX_FORM = obj(["file"], file=BINARY)
LOCATE_BATCH = {
    "oneOf": [
        obj(["points"], crs=DATUM,
            points={"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2,
                                               "items": {"type": "number"}}}),
        obj(["lon", "lat"], crs=DATUM, lon={"type": "array", "items": {"type": "number"}},
            lat={"type": "array", "items": {"type": "number"}},
            ids={"type": "array", "description": "your ids of the points, answered back"}),
    ]
}  # fmt: skip
TABLE_FILE = (("text/csv", CSV_TEXT),)
