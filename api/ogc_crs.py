"""OGC API - Features Part 2 (Coordinate Reference Systems by Reference) for the OGC routes.

Two CRSs are offered, both as URIs (Part 2 names CRSs by URI only):

- ``CRS84`` (``http://www.opengis.net/def/crs/OGC/1.3/CRS84``), the default: longitude,
  latitude on WGS 84; our EPSG:4490 (CGCS2000) coordinates are served unchanged (the two
  datums agree to well under a metre, and GeoJSON has always meant lon, lat);
- ``EPSG:4490`` (``http://www.opengis.net/def/crs/EPSG/0/4490``), the storage CRS: the same
  numbers in the axis order of the EPSG definition, **latitude first** (Part 2,
  /req/crs/crs-action: coordinates are in the axis order of the CRS). A bbox given with
  ``bbox-crs=…/EPSG/0/4490`` is ``south,west,north,east`` (lat, lon) for the same reason.

Nothing is re-projected: the two differ only in axis order, so a response in EPSG:4490 is the
stored coordinates with each pair swapped. Unknown CRSs answer 400 (Part 2, /req/crs/
fc-crs-valid-value). Geometries never carry a ``crs`` member; the CRS travels in the
``Content-Crs`` header (``<uri>``).
"""

from __future__ import annotations

from typing import Any

from api.deps import parse_bbox
from api.errors import STATUS, InvalidParameter

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
SUPPORTED = (CRS84, EPSG4490)
STORAGE_CRS = EPSG4490
LAT_FIRST = frozenset({EPSG4490})
"""CRSs whose first axis is latitude (EPSG's geographic CRSs)."""

_ALIASES = {
    "crs84": CRS84,
    "ogc:crs84": CRS84,
    "[ogc:crs84]": CRS84,
    "epsg:4490": EPSG4490,
    "[epsg:4490]": EPSG4490,
    "https://www.opengis.net/def/crs/ogc/1.3/crs84": CRS84,
    "https://www.opengis.net/def/crs/epsg/0/4490": EPSG4490,
}
Bbox = tuple[float, float, float, float]


class UnsupportedCrs(InvalidParameter):
    """A ``crs``/``bbox-crs``/``Content-Crs`` the server does not offer; HTTP 400 (Part 2)."""


STATUS.setdefault(UnsupportedCrs, (400, "Unsupported CRS"))


def parse_crs_uri(value: str | None, field: str = "crs") -> str:
    """The CRS URI of ``value`` (CRS84 if empty); also takes ``EPSG:4490`` and the safe CURIE
    ``[EPSG:4490]``. Raises :class:`UnsupportedCrs` naming the two URIs offered."""
    if value is None or not value.strip():
        return CRS84
    raw = value.strip().strip("<>")
    if raw in SUPPORTED:
        return raw
    found = _ALIASES.get(raw.lower()) or next(
        (c for c in SUPPORTED if c.lower() == raw.lower()), None
    )
    if found:
        return found
    raise UnsupportedCrs(
        f"{field} {value[:120]!r} is not offered; use {CRS84} (lon, lat; the default) or "
        f"{EPSG4490} (lat, lon)",
        field=field,
    )


def parse_bbox_in(value: str | None, crs: str, field: str = "bbox") -> Bbox | None:
    """A bbox given in ``crs`` as (west, south, east, north) lon/lat degrees (EPSG:4490).

    CRS84: ``west,south,east,north``; EPSG:4490: ``south,west,north,east`` (its lat, lon axis
    order). 6 numbers (with heights) are accepted and the heights dropped."""
    if value is None or value == "":
        return None
    if crs not in LAT_FIRST:
        return parse_bbox(value, field)
    parts = value.split(",")
    if len(parts) == 6:
        parts = [parts[0], parts[1], parts[3], parts[4]]
    if len(parts) != 4:
        raise InvalidParameter(
            f"bbox needs 4 numbers south,west,north,east (lat, lon: bbox-crs is EPSG:4490), "
            f"got {len(parts)}: {value[:80]!r}",
            field=field,
        )
    south, west, north, east = parts
    try:
        return parse_bbox(",".join((west, south, east, north)), field)
    except InvalidParameter as exc:
        raise InvalidParameter(
            f"{exc.detail} — with bbox-crs={EPSG4490} the order is south,west,north,east "
            "(latitude first), e.g. 31.85,120.2,31.95,120.35",
            field=field,
        ) from None


def _swap(coords: Any) -> Any:
    if coords and isinstance(coords[0], (int, float)):
        return [coords[1], coords[0], *coords[2:]]
    return [_swap(c) for c in coords]


def to_crs(geometry: dict[str, Any] | None, crs: str) -> dict[str, Any] | None:
    """A GeoJSON geometry (stored lon, lat) in the axis order of ``crs`` (a new dict), without
    a ``crs`` member (RFC 7946 has none; PostGIS adds one for SRIDs other than 4326)."""
    if geometry is None:
        return None
    if "crs" in geometry:
        geometry = {k: v for k, v in geometry.items() if k != "crs"}
    if crs not in LAT_FIRST:
        return geometry
    if geometry.get("type") == "GeometryCollection":
        return {**geometry, "geometries": [to_crs(g, crs) for g in geometry["geometries"]]}
    return {**geometry, "coordinates": _swap(geometry["coordinates"])}


def from_crs(geometry: dict[str, Any], crs: str) -> dict[str, Any]:
    """A GeoJSON geometry given in ``crs`` as lon, lat (the swap is its own inverse)."""
    result = to_crs(geometry, crs)
    assert result is not None
    return result


def features_to_crs(features: list[dict[str, Any]], crs: str) -> list[dict[str, Any]]:
    """The features with their geometries in ``crs`` (see :func:`to_crs`)."""
    return [{**f, "geometry": to_crs(f.get("geometry"), crs)} for f in features]


def content_crs(crs: str) -> str:
    """The ``Content-Crs`` header value (Part 2: the URI in angle brackets)."""
    return f"<{crs}>"
