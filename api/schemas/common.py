"""Schemas shared by every router of the OpenAPI document: the problem+json error (RFC 9457)
answered by api/errors.py, the error responses declared once for every API route, and the
non-JSON answers (GeoJSON, CSV/XLSX, Mapbox Vector Tiles)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

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

# Declared once for every API router (api/main.py include_router(responses=...)).
# ``model`` puts Problem into components/schemas; the content is problem+json.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, **_problem(text)}
    for code, text in {
        400: "Bad request (e.g. an unreadable body)",
        401: "No or an invalid token/session (WWW-Authenticate: Bearer)",
        403: "The caller's role or scope does not allow this",
        404: "Not found",
        405: "Method not allowed (the Allow header lists the methods)",
        409: "Conflict with the current state",
        413: "Payload too large",
        415: "Unsupported media type",
        422: "Invalid parameter (field names the parameter)",
        500: "Unexpected error (logged)",
        503: "Database unavailable, read-only or full (Retry-After)",
    }.items()
}


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
