"""Coordinates as clients send them: a datum (``crs``) and an optional height.

Every endpoint that takes a point accepts ``crs`` (cgcs2000 | wgs84 | gcj02 | bd09, as a query
parameter or a body field; the body's wins when both are given and agree, a disagreement is a
422) and a 3D position (``[lon, lat, z]``, or ``z``/``alt``/``altitude`` fields: the height is
ignored). :func:`point_to_cgcs2000` is the one conversion to the stored CGCS2000 degrees.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from api.deps import check_lonlat, parse_crs
from api.errors import InvalidParameter
from gis.crs import Datum, to_cgcs2000


def body_crs(body_value: str | None, query_value: Datum | None) -> Datum:
    """The datum of a point: the body's ``crs`` field, else the query's, else CGCS2000."""
    if body_value not in (None, ""):
        datum = parse_crs(body_value)
        if query_value is not None and query_value is not Datum.CGCS2000 and query_value != datum:
            raise InvalidParameter(
                f"crs is {datum.value} in the body and {query_value.value} in the query; give "
                "one of them",
                field="crs",
            )
        return datum
    return query_value or Datum.CGCS2000


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
