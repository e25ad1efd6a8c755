"""The Open311 GeoReport v2 answers as JSON Schemas (``/open311/v2/``): every resource in JSON
(an array) or XML by its suffix, and the GeoReport error array instead of problem+json."""

from __future__ import annotations

from typing import Any

XML_MEDIA_TYPE = "application/xml"
XML_TEXT: dict[str, Any] = {"type": "string", "description": "GeoReport v2 XML"}
NULLABLE_STRING: dict[str, Any] = {"type": ["string", "null"]}
NULLABLE_NUMBER: dict[str, Any] = {"type": ["number", "null"]}

GEOREPORT_ERRORS: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
    },
}
SERVICE: dict[str, Any] = {
    "type": "object",
    "required": ["service_code", "service_name", "metadata", "type"],
    "properties": {
        "service_code": {"type": "string"},
        "service_name": {"type": "string"},
        "description": NULLABLE_STRING,
        "metadata": {"type": "boolean"},
        "type": {"enum": ["realtime", "batch", "blackbox"]},
        "keywords": NULLABLE_STRING,
        "group": NULLABLE_STRING,
    },
}
SERVICE_DEFINITION: dict[str, Any] = {
    "type": "object",
    "required": ["service_code", "attributes"],
    "properties": {"service_code": {"type": "string"}, "attributes": {"type": "array"}},
}
SERVICE_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["service_request_id"],
    "properties": {
        "service_request_id": {"type": "string"},
        "token": {"type": "string"},
        "status": {"enum": ["open", "closed"]},
        "status_notes": NULLABLE_STRING,
        "service_name": NULLABLE_STRING,
        "service_code": NULLABLE_STRING,
        "description": NULLABLE_STRING,
        "agency_responsible": NULLABLE_STRING,
        "service_notice": NULLABLE_STRING,
        "requested_datetime": NULLABLE_STRING,
        "updated_datetime": NULLABLE_STRING,
        "expected_datetime": NULLABLE_STRING,
        "address": NULLABLE_STRING,
        "address_id": NULLABLE_STRING,
        "zipcode": NULLABLE_STRING,
        "lat": NULLABLE_NUMBER,
        "long": NULLABLE_NUMBER,
        "media_url": NULLABLE_STRING,
        "account_id": NULLABLE_STRING,
        "attributes": {"type": "array"},
        "location_precision": NULLABLE_STRING,
        "location_radius_m": NULLABLE_NUMBER,
    },
}
DISCOVERY: dict[str, Any] = {
    "type": "object",
    "required": ["changeset", "endpoints"],
    "properties": {
        "changeset": {"type": "string"},
        "contact": {"type": "string"},
        "key_service": {"type": "string"},
        "endpoints": {"type": "array", "items": {"type": "object"}},
    },
}


def georeport(description: str, json_schema: dict[str, Any], status: int = 200) -> dict[int, Any]:
    """A ``responses=`` entry: JSON ``json_schema`` or the XML document."""
    return {
        status: {
            "description": description,
            "content": {
                "application/json": {"schema": json_schema},
                XML_MEDIA_TYPE: {"schema": XML_TEXT},
            },
        }
    }


# 400 bad request, 403 api_key missing or invalid, 404 unknown service/request/token/
# jurisdiction_id, 413/415 a body too large or of another type: the GeoReport error array.
OPEN311_ERRORS: dict[int | str, Any] = {
    code: georeport(text, GEOREPORT_ERRORS, code)[code]
    for code, text in {
        400: "Bad request (GeoReport error array)",
        403: "api_key missing or invalid (GeoReport error array)",
        404: "Unknown service, request, token, format or jurisdiction_id (GeoReport errors)",
        413: "Body too large (GeoReport error array)",
        415: "Unsupported body type (GeoReport error array)",
    }.items()
}

REQUEST_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["service_code", "description"],
    "properties": {
        "api_key": {"type": "string", "maxLength": 200},
        "jurisdiction_id": {"type": "string", "maxLength": 100},
        "service_code": {"type": "string", "maxLength": 50},
        "description": {"type": "string", "maxLength": 5000},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "long": {"type": "number", "minimum": -180, "maximum": 180},
        "address_string": {"type": "string", "maxLength": 500},
        "address_id": {"type": "string", "maxLength": 100},
        "email": {"type": "string", "maxLength": 200},
        "device_id": {"type": "string", "maxLength": 100},
        "account_id": {"type": "string", "maxLength": 100},
        "first_name": {"type": "string", "maxLength": 100},
        "last_name": {"type": "string", "maxLength": 100},
        "phone": {"type": "string", "maxLength": 50},
        "media_url": {"type": "string", "maxLength": 2000},
        "media": {
            "type": "string",
            "format": "binary",
            "description": "multipart only: an image (JPEG, PNG, WebP), stored as the case's "
            "photo and answered as media_url; not with media_url",
        },
        "location_accuracy_m": {
            "type": "number",
            "minimum": 0,
            "maximum": 10_000,
            "description": "our extension: metres (68 % radius) of the device's fix for lat/long",
        },
    },
    "additionalProperties": {"type": "string", "description": "attribute[code]=value answers"},
}
