"""Point-in-grid routing: one point by GET, up to ``locate_batch_max`` points by POST."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any

import numpy as np
import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.coords import client_crs
from api.deps import AtDep, CrsDep, Reader, SessionDep, check_lonlat, parse_at
from api.errors import InvalidParameter, PayloadTooLarge, UnsupportedMediaType
from api.exports import csv_safe
from api.locators import CityLocator
from api.schemas.bodies import LOCATE_BATCH, body, refuse_unknown
from api.schemas.common import CSV_RESPONSES, CSV_TEXT
from api.schemas.grids import LocateBatchPublic, LocatePublic
from api.uploads import Upload, read_upload
from gis.crs import Datum, to_cgcs2000
from layers.grids import ACTIVE_CACHE, resolve_generation
from layers.models import Generation
from layers.tables import read_table

router = APIRouter(prefix="/api/v1", tags=["locate"])

MAX_ERRORS_LISTED = 20


def _unit(code: str | None, names: dict[str, str]) -> dict[str, str] | None:
    return None if code is None else {"code": code, "name": names.get(code, "")}


@router.get("/locate", summary="Which grid is this point in?", response_model=LocatePublic)
async def locate_point(
    request: Request,
    session: SessionDep,
    _: Reader,
    crs: CrsDep,
    at: AtDep,
    lon: Annotated[float, Query(description="longitude in degrees, in `crs`")],
    lat: Annotated[float, Query(description="latitude in degrees, in `crs`")],
    generation: Annotated[
        int | None, Query(description="generation id (default: in force at `at`)")
    ] = None,
) -> dict[str, Any]:
    """The grids (L3, L2, L1) covering one point; ``found`` false outside the city.

    The point is in ``crs`` (default CGCS2000, EPSG:4490; WGS 84, GCJ-02 and BD-09 converted
    first); answered in EPSG:4490. The generation in force now, once its locator is loaded, is
    answered on the event loop without a thread hop or a database round trip (a few µs of
    work); anything else (another generation, ``at``, a locator to build) in the thread pool.
    Errors: 422 (a coordinate out of range or not finite), 404 (no such generation)."""
    check_lonlat(lon, lat)
    if generation is None and at is None and (gen := ACTIVE_CACHE.peek()) is not None:
        city = request.app.state.locators.peek(gen.id)
        if city is not None and city.content_version is None:
            return _located(city, gen, lon, lat, crs)
    return await run_in_threadpool(_locate_loading, request, session, crs, at, lon, lat, generation)


def _locate_loading(
    request: Request,
    session: Session,
    crs: Datum,
    at: datetime | None,
    lon: float,
    lat: float,
    generation: int | None,
) -> dict[str, Any]:
    gen = resolve_generation(session=session, generation_id=generation, at=at)
    city = request.app.state.locators.get(session=session, generation_id=gen.id)
    return _located(city, gen, lon, lat, crs)


def _located(
    city: CityLocator, gen: Generation, lon: float, lat: float, crs: Datum
) -> dict[str, Any]:
    x, y = to_cgcs2000(np.array([lon]), np.array([lat]), crs)
    result = city.locator.locate(x, y)
    l3 = result.l3[0]
    return {
        "input": {"lon": lon, "lat": lat, "crs": crs.value},
        "lon": round(float(x[0]), 8),
        "lat": round(float(y[0]), 8),
        "crs": Datum.CGCS2000.value,
        "generation": {"id": gen.id, "name": gen.name},
        "found": l3 is not None,
        "l3": _unit(l3, city.names),
        "l2": _unit(result.l2[0], city.names),
        "l1": _unit(result.l1[0], city.names),
    }


def _points_from_json(body: bytes) -> tuple[np.ndarray, np.ndarray, list[Any] | None, str | None]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"the body is not valid JSON: {exc}", field="body") from None
    if not isinstance(data, dict):
        raise InvalidParameter(
            'the body must be an object: {"crs": "wgs84", "points": [[lon, lat], …]}', field="body"
        )
    refuse_unknown(data, ("crs", "points", "lon", "lat", "ids"))
    crs = data.get("crs")
    if "points" in data:
        points = data["points"]
        if not isinstance(points, list):
            raise InvalidParameter("points must be a list of [lon, lat] pairs", field="points")
        ids = None
        try:
            array = _numbers(points)  # JSON numbers only: "120.28" is refused below
        except (ValueError, TypeError):
            array = None
        # [lon, lat] or [lon, lat, z]: a height is accepted and ignored.
        if array is None or array.ndim != 2 or (len(points) and array.shape[1] not in (2, 3)):
            for i, p in enumerate(points):
                if not (
                    isinstance(p, list)
                    and len(p) in (2, 3)
                    and all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)
                ):
                    raise InvalidParameter(
                        f"points/{i} is {p!r}; each point is [lon, lat] or [lon, lat, z]",
                        field=f"points/{i}",
                    )
            array = np.array([p[:2] for p in points], dtype=np.float64).reshape(-1, 2)
        if array.size == 0:
            return np.empty(0), np.empty(0), ids, crs
        return array[:, 0].copy(), array[:, 1].copy(), ids, crs
    if "lon" in data and "lat" in data:
        try:
            lon, lat = _numbers(data["lon"]), _numbers(data["lat"])
        except (ValueError, TypeError):
            raise InvalidParameter("lon and lat must be lists of numbers", field="lon") from None
        if lon.ndim != 1 or lon.shape != lat.shape:
            raise InvalidParameter(
                f"lon and lat must be lists of equal length, got {lon.size} and {lat.size}",
                field="lat",
            )
        return lon, lat, data.get("ids"), crs
    raise InvalidParameter(
        'give the points as {"points": [[lon, lat], …]} or {"lon": […], "lat": […]}',
        field="points",
    )


def _numbers(values: Any) -> np.ndarray:
    """``values`` (nested lists from JSON) as float64; ``ValueError`` unless every value is a JSON
    number (a string such as ``"120.28"`` or a boolean is not, as in every JSON body)."""
    raw = np.asarray(values)
    if raw.size and raw.dtype.kind not in "iuf":
        raise ValueError("not numbers")
    if raw.dtype.kind == "f" and isinstance(values, list):  # numpy reads true beside 1.5 as 1.0
        rows = values if raw.ndim == 2 else [values]
        if any(type(v) is bool for row in rows for v in row):
            raise ValueError("booleans are not numbers")
    return raw.astype(np.float64)


def _points_from_csv(
    body: bytes, charset: str | None, max_rows: int
) -> tuple[np.ndarray, np.ndarray, list[Any] | None, list[str] | None]:
    """``lon,lat[,id][,crs]`` rows in the file's declared or detected encoding (layers.tables);
    the ``crs`` column's values (one per row, empty: the query's or CGCS2000) if it has one."""
    table = read_table(body, kind="csv", charset=charset, max_rows=max_rows, field="body")
    header = [h.strip().lower() for h in (table[0] if table else [])]
    if "lon" not in header or "lat" not in header:
        raise InvalidParameter(
            f"the CSV header must name lon and lat columns (optionally id and crs), got {header}",
            field="body",
        )
    i_lon, i_lat = header.index("lon"), header.index("lat")
    i_id = header.index("id") if "id" in header else None
    i_crs = header.index("crs") if "crs" in header else None
    lons: list[float] = []
    lats: list[float] = []
    ids: list[str] = []
    crs: list[str] = []
    for row_no, row in enumerate(table[1:], start=2):
        try:
            lons.append(float(row[i_lon]))
            lats.append(float(row[i_lat]))
        except (ValueError, IndexError):
            raise InvalidParameter(
                f"CSV line {row_no}: lon/lat {row[:3]!r} are not numbers", field=f"line {row_no}"
            ) from None
        if i_id is not None:
            ids.append(row[i_id][:200] if i_id < len(row) else "")
        if i_crs is not None:
            crs.append(row[i_crs].strip()[:100] if i_crs < len(row) else "")
    return (
        np.array(lons),
        np.array(lats),
        (ids if i_id is not None else None),
        (crs if i_crs is not None else None),
    )


@router.post(
    "/locate",
    summary="Locate a batch of points (JSON or CSV)",
    response_model=LocateBatchPublic,
    responses=CSV_RESPONSES,
    openapi_extra=body(("application/json", LOCATE_BATCH), ("text/csv", CSV_TEXT)),
)
async def locate_batch(
    request: Request,
    session: SessionDep,
    _: Reader,
    crs: Annotated[str | None, Query(max_length=20)] = None,
    at: Annotated[str | None, Query(max_length=40)] = None,
    generation: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """The body (limited while it arrives, api/limits.py) is read here; parsing and locating
    run in a worker thread so other requests are answered meanwhile."""
    upload = await read_upload(request)
    content_type = upload.media_type or "application/json"
    if content_type not in ("application/json", "text/csv", "application/csv", "text/plain"):
        raise UnsupportedMediaType(
            f"content type {content_type} is not supported; send application/json or text/csv",
            field="Content-Type",
        )
    return await run_in_threadpool(
        _locate_batch, request, session, upload, content_type, crs, at, generation
    )


def _locate_batch(
    request: Request,
    session: Session,
    upload: Upload,
    content_type: str,
    crs: str | None,
    at: str | None,
    generation: int | None,
) -> Response:
    limit = request.app.state.settings.server.locate_batch_max
    body_crs: Any = None  # a JSON body's crs (any JSON value: a non-name is a 422)
    crs_column: list[str] | None = None  # a CSV's crs column
    if content_type == "application/json":
        lon, lat, ids, body_crs = _points_from_json(upload.content)
        as_csv = False
    else:
        lon, lat, ids, crs_column = _points_from_csv(upload.content, upload.charset, limit)
        as_csv = True
    if "text/csv" in request.headers.get("accept", ""):
        as_csv = True
    if lon.size > limit:
        raise PayloadTooLarge(
            f"{lon.size} points is more than the limit of {limit}; split the batch",
            field="points",
        )
    if ids is not None and (not isinstance(ids, list) or len(ids) != lon.size):
        raise InvalidParameter("ids must be a list as long as lon and lat", field="ids")
    _check_batch(lon, lat)
    if crs_column is not None:  # each row's datum (api.coords.client_crs)
        x, y, datum = _rows_to_cgcs2000(lon, lat, crs_column, crs)
    else:
        datum = client_crs(crs, body_crs)
        x, y = to_cgcs2000(lon, lat, datum)
    gen = resolve_generation(session=session, generation_id=generation, at=parse_at(at))
    city = request.app.state.locators.get(session=session, generation_id=gen.id)
    result = city.locator.locate(x, y)
    if as_csv:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow((["id"] if ids is not None else []) + ["lon", "lat", "l3", "l2", "l1"])
        for i in range(lon.size):
            writer.writerow(
                # An id is the client's text: never a formula in a spreadsheet (api.exports).
                ([csv_safe(ids[i])] if ids is not None else [])
                + [lon[i], lat[i], result.l3[i] or "", result.l2[i] or "", result.l1[i] or ""]
            )
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8")
    rows = [
        {"l3": a, "l2": b, "l1": c}
        for a, b, c in zip(result.l3.tolist(), result.l2.tolist(), result.l1.tolist(), strict=True)
    ]
    if ids is not None:
        for row, ident in zip(rows, ids, strict=False):
            row["id"] = ident
    payload = {
        "generation": {"id": gen.id, "name": gen.name},
        "crs": datum.value,
        "count": int(lon.size),
        "found": int(sum(1 for r in rows if r["l3"] is not None)),
        "results": rows,
    }
    return Response(orjson.dumps(payload), media_type="application/json")


def _rows_to_cgcs2000(
    lon: np.ndarray, lat: np.ndarray, names: list[str], query: str | None
) -> tuple[np.ndarray, np.ndarray, Datum]:
    """Points of a CSV with a ``crs`` column as CGCS2000 degrees, each row in its own datum
    (an empty cell: the query's ``crs``, else CGCS2000); also the datum answered (the rows'
    one datum, CGCS2000 if they mix). 422 naming the line for an unknown or disagreeing
    name."""
    datums: list[Datum] = []
    for row_no, name in enumerate(names, start=2):
        try:
            datums.append(client_crs(query, name))
        except InvalidParameter as err:
            raise InvalidParameter(f"CSV line {row_no}: {err.detail}", field="crs") from None
    x, y = lon.astype(np.float64), lat.astype(np.float64)
    kinds = np.array([d.value for d in datums], dtype=object)
    for d in set(datums):
        sel = kinds == d.value
        x[sel], y[sel] = to_cgcs2000(lon[sel], lat[sel], d)
    return x, y, datums[0] if len(set(datums)) == 1 else Datum.CGCS2000


def _check_batch(lon: np.ndarray, lat: np.ndarray) -> None:
    """Reject the batch if any point is unusable, listing the first offenders by index."""
    bad = ~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
    if not bad.any():
        return
    errors = []
    for i in np.flatnonzero(bad)[:MAX_ERRORS_LISTED]:
        try:
            check_lonlat(float(lon[i]), float(lat[i]), prefix=f"points/{i}/")
        except InvalidParameter as exc:
            errors.append({"index": int(i), "field": exc.field, "message": exc.detail})
    first = errors[0]
    raise InvalidParameter(
        f"{int(bad.sum())} of {lon.size} points are invalid; first: {first['message']}",
        field=first["field"],
        extra={"errors": errors},
    )
