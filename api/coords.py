"""Coordinates as clients send them: a datum (``crs``) and an optional height.

Every endpoint that takes a point accepts ``crs`` (cgcs2000 | wgs84 | gcj02 | bd09, as a query
parameter, a JSON or form field or a CSV column, all read by :func:`client_crs`; both given
must agree, a disagreement or an unknown name is a 422 naming the field) and a 3D position
(``[lon, lat, z]``, or ``z``/``alt``/``altitude`` fields: the height is ignored).
:func:`point_to_cgcs2000` is the one conversion to the stored CGCS2000 degrees.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from api.deps import check_lonlat, parse_crs
from api.errors import InvalidParameter
from gis.crs import Datum, to_cgcs2000


def client_crs(
    query: Any = None,
    body: Any = None,
    *,
    default: Datum = Datum.CGCS2000,
    body_field: str = "crs",
) -> Datum:
    """The one reading of the datum of a client's coordinates, wherever the client sends it:
    ``query`` is the query parameter ``crs``; ``body`` the body's (a JSON or form field, or
    one CSV row's ``crs`` column, named ``body_field`` in errors). Either alone is taken; both
    given must name the same datum; neither: ``default`` (CGCS2000 for the API, WGS 84 for
    GPS clients). Names: api.deps.parse_crs (gcj02, bd09, wgs84, cgcs2000, EPSG codes, OGC
    URIs). 422 naming the field for an unknown name or a disagreement."""
    q = None if query is None or query == "" else parse_crs(query, "crs")
    b = None if body is None or body == "" else parse_crs(body, body_field)
    if q is not None and b is not None and q != b:
        raise InvalidParameter(
            f"{body_field} is {b.value} in the body (or the file's row) and crs {q.value} in "
            "the query; give one of them (or the same in both)",
            field=body_field,
        )
    return b or q or default


def position(value: Any, field: str = "coordinates") -> tuple[float, float]:
    """``[lon, lat]`` or ``[lon, lat, z]`` (z ignored) as two floats."""
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or len(value) not in (2, 3)
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise InvalidParameter(
            f"{field} is {value!r}; give [lon, lat] or [lon, lat, z] in degrees", field=field
        )
    return float(value[0]), float(value[1])


def point_to_cgcs2000(lon: float, lat: float, crs: Datum) -> tuple[float, float]:
    """One point given in ``crs`` as CGCS2000 lon/lat degrees (range-checked first)."""
    check_lonlat(lon, lat)
    x, y = to_cgcs2000(np.array([lon]), np.array([lat]), crs)
    return float(x[0]), float(y[0])
