"""Request bodies of the routes that read their body by hand (JSON, a form, a file), as JSON
Schemas for the OpenAPI document (``openapi_extra=body(...)``). The routes check every value
themselves and answer a 4xx problem naming the field; these schemas say what to send."""

from __future__ import annotations

from typing import Any

from api.schemas.common import BINARY, CSV_TEXT

TEXT = {"type": "string", "maxLength": 10_000}
NAME = {"type": "string", "minLength": 1, "maxLength": 200}
VERSION = {"type": "integer", "minimum": 0, "description": "the version read (or If-Match)"}
DATUM = {"type": "string", "enum": ["cgcs2000", "wgs84", "gcj02", "bd09"]}


def body(*media: tuple[str, dict[str, Any]], required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` declaring the request body's media types and schemas."""
    return {"requestBody": {"required": required, "content": {m: {"schema": s} for m, s in media}}}


def obj(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


EVENT_REPORT = obj(
    ["lon", "lat", "subclass"],
    lon={"type": "number", "description": "longitude in crs"},
    lat={"type": "number", "description": "latitude in crs"},
    crs=DATUM,
    subclass={"type": "string", "pattern": "^[0-9]{4}$", "description": "e.g. 0101"},
    description=TEXT,
    source={"type": "string", "description": "patrol (default), public, hotline, …"},
    address={"type": "string", "maxLength": 300},
    reported_at={"type": "string", "description": "ISO 8601; default now"},
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
    extension={"type": "number", "description": "extra time, in the subclass's unit"},
    version=VERSION,
)
EVENT_ROUTING = obj(
    ["changes", "reason"],
    changes={"type": "object", "description": 'e.g. {"department": "市城管局"}'},
    reason=TEXT,
)
DRAFT_EDIT = {
    **obj(
        ["op", "reason"],
        op={
            "type": "string",
            "enum": ["move_vertex", "move_edge", "split", "merge", "reparent", "rename", "recode"],
        },
        reason=TEXT,
        version=VERSION,
    ),
    "additionalProperties": True,
    "description": "the op's parameters beside op, reason and version (docs/planning.md)",
}
UNDO_REDO = obj([], reason=TEXT, version=VERSION)
GENERATION_FILE = obj(
    ["file", "name"],
    file=BINARY,
    name=NAME,
    layer={"type": "string", "maxLength": 200},
    crs={"type": "string", "maxLength": 50},
    force={"type": "boolean"},
)
FIX = obj(
    ["time", "lon", "lat"],
    seq={"type": "integer", "minimum": 0},
    time={"type": "string", "description": "ISO 8601 or epoch seconds"},
    lon={"type": "number"},
    lat={"type": "number"},
    datum=DATUM,
)
INGEST_BATCH = obj(
    ["device", "fixes"],
    device={"type": "string", "maxLength": 100},
    datum=DATUM,
    fixes={"type": "array", "items": FIX, "maxItems": 10_000},
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
OSMAND_JSON = obj(
    ["device_id", "location"],
    device_id={"type": "string"},
    location={"type": "object", "description": "Traccar Client's JSON location (m/s)"},
)
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
LOCATE_BATCH = {
    "oneOf": [
        obj(["points"], crs=DATUM,
            points={"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2,
                                               "items": {"type": "number"}}}),
        obj(["lon", "lat"], crs=DATUM, lon={"type": "array", "items": {"type": "number"}},
            lat={"type": "array", "items": {"type": "number"}}),
    ]
}  # fmt: skip
TABLE_FILE = (("text/csv", CSV_TEXT),)
