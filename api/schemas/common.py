"""Schemas shared by every router of the OpenAPI document: the problem+json error (RFC 9457)
answered by api/errors.py, the error responses declared once for every API route, and the
non-JSON answers (GeoJSON, CSV/XLSX, Mapbox Vector Tiles)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

PROBLEM_MEDIA_TYPE = "application/problem+json"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An error (RFC 9457): what went wrong, the offending ``field`` and how to fix it."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="a URI naming the kind of problem")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="what is wrong and how to fix it")
    field: str | None = Field(default=None, description="the offending parameter or body field")
    errors: list[FieldError] | None = Field(
        default=None, description="every invalid field (request validation only)"
    )


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}}


PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

# Declared once for every API router (api/main.py include_router(responses=...)); the
# Problem schema is added to the document's components by add_problem_schema.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: _problem(text)
    for code, text in {
        400: "Bad request (e.g. an unreadable body)",
        401: "No or an invalid token/session (WWW-Authenticate: Bearer, Basic)",
        403: "The caller's role or scope does not allow this",
        404: "Not found",
        405: "Method not allowed (the Allow header lists the methods)",
        409: "Conflict with the current state",
        413: "Payload too large",
        415: "Unsupported media type",
        422: "Invalid parameter (field names the parameter)",
        429: "Too many failed sign-ins from this address (Retry-After)",
        500: "Unexpected error (logged)",
        503: "Database unavailable, read-only or full (Retry-After)",
    }.items()
}


def add_problem_schema(doc: dict[str, Any]) -> None:
    """Put Problem (and FieldError) into ``components/schemas`` of an OpenAPI document."""
    _, top = models_json_schema(
        [(Problem, "serialization")], ref_template="#/components/schemas/{model}"
    )
    doc.setdefault("components", {}).setdefault("schemas", {}).update(top["$defs"])


def media_response(
    description: str, *media: tuple[str, dict[str, Any]], status: int = 200
) -> dict[int | str, dict[str, Any]]:
    """A ``responses=`` entry for answers that are not one pydantic model."""
    return {status: {"description": description, "content": {m: {"schema": s} for m, s in media}}}


BINARY = {"type": "string", "format": "binary"}
CSV_TEXT = {"type": "string", "description": "CSV, UTF-8 with BOM, header first"}

GEOJSON_GEOMETRY: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"type": "string"}, "coordinates": {"type": "array"}},
}
GEOJSON_FEATURE: dict[str, Any] = {
    "type": "object",
    "required": ["type", "properties"],
    "properties": {
        "type": {"const": "Feature"},
        "id": {"type": ["string", "integer"]},
        "geometry": {"oneOf": [GEOJSON_GEOMETRY, {"type": "null"}]},
        "properties": {"type": ["object", "null"]},
    },
}
GEOJSON_FEATURE_COLLECTION: dict[str, Any] = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {"type": "array", "items": GEOJSON_FEATURE},
    },
}


def table_responses(model: type[BaseModel] | None, description: str) -> dict[int | str, Any]:
    """JSON (``model``), CSV or XLSX by ``format=`` / ``Accept``."""
    content: dict[str, Any] = {
        "text/csv": {"schema": CSV_TEXT},
        XLSX_MEDIA_TYPE: {"schema": BINARY},
    }
    out: dict[str, Any] = {"description": description, "content": content}
    if model is not None:
        out["model"] = model
    return {200: out}


MVT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "a Mapbox Vector Tile", "content": {MVT_MEDIA_TYPE: {"schema": BINARY}}},
    204: {"description": "an empty tile (nothing in it)"},
    304: {"description": "not modified (If-None-Match matched the ETag)"},
}


def body_schema(model: type[BaseModel], *, multipart: bool = True) -> dict[str, Any]:
    """``openapi_extra`` declaring a request body read by hand (JSON, or multipart form fields)
    as ``model``'s JSON Schema."""
    schema = model.model_json_schema()
    content = {"application/json": {"schema": schema}}
    if multipart:
        content["multipart/form-data"] = {"schema": schema}
    return {"requestBody": {"required": True, "content": content}}


# A CSV/XLSX file sent as the raw body or as the multipart part ``file``.
TABLE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            XLSX_MEDIA_TYPE: {"schema": BINARY},
            "multipart/form-data": {
                "schema": {"type": "object", "required": ["file"], "properties": {"file": BINARY}}
            },
        },
    }
}


class Answer(BaseModel):
    """Base of response schemas: the fields named are always there with their types; an answer
    may carry more (documented in the route's description), so extra fields are allowed."""

    model_config = ConfigDict(extra="allow")


class Listing(Answer):
    """A list answer ``{data, count}`` (full-stack-fastapi-template's ``XsPublic``)."""

    data: list[dict[str, Any]]
    count: int


class GeoJSONResponse(JSONResponse):
    """Names the GeoJSON media type in the document; routes return their own Response."""

    media_type = "application/geo+json"


def geojson(
    description: str, schema: dict[str, Any] | None = None, *, also_json: bool = False
) -> dict[str, Any]:
    """Route keyword arguments for a GeoJSON answer (default: a FeatureCollection);
    ``also_json``: the same body may also go out as application/json."""
    content = {"application/geo+json": {"schema": schema or GEOJSON_FEATURE_COLLECTION}}
    if also_json:
        content["application/json"] = {"schema": schema or GEOJSON_FEATURE_COLLECTION}
    return {
        "response_class": GeoJSONResponse,
        "responses": {200: {"description": description, "content": content}},
    }


# Any GeoJSON object (a Feature, a FeatureCollection with extra members, a geometry).
GEOJSON_OBJECT: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"type": "string"}},
}

# A generation exported as a file (format=shp|gpkg|geojson).
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = media_response(
    "the grids as a file: zipped Shapefile, GeoPackage or GeoJSON",
    ("application/zip", BINARY),
    ("application/geopackage+sqlite3", BINARY),
    ("application/geo+json", GEOJSON_FEATURE_COLLECTION),
)

# JSON (the route's model), or CSV for a CSV body / Accept: text/csv.
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "JSON, or CSV", "content": {"text/csv": {"schema": CSV_TEXT}}}
}
