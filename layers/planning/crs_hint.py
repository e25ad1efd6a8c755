"""A file sent with the wrong CRS is named as such, not as a draft that "drops 100 % of the
city": lon/lat values read as EPSG:3857 metres land near (0°, 0°), metres read as degrees land
nowhere at all. :func:`wrong_crs` looks at an import that covers (almost) none of the city, or
whose coordinates lie outside the stated CRS's area of use, finds what the raw coordinates are
(degrees or metres: the outline transformed back to the stated CRS) and names the likely CRS
(degrees → EPSG:4490, or EPSG:4326; metres → the city's metric CRS, EPSG:4549 by default), in
English and in Chinese, ``field`` ``crs`` (DraftRefused, 422).

Sources: the import comparison (``layers.planning.drafts.compare_with_active``: outline
``dropped_share``, ``hausdorff_m``), pyproj's CRS area of use (EPSG registry).
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

NOWHERE_NEAR_SHARE = 0.999  # an outline covering less than 0.1 % of the city is not the city


def _raw_bounds(frame: gpd.GeoDataFrame, source_crs: str) -> tuple[float, float, float, float]:
    """The file's own coordinates' bounds (its outline, EPSG:4490, back in ``source_crs``)."""
    w, s, e, n = (float(v) for v in frame.total_bounds)
    to_source = Transformer.from_crs("EPSG:4490", source_crs, always_xy=True)
    xs, ys = to_source.transform([w, e, w, e], [s, s, n, n])
    return min(xs), min(ys), max(xs), max(ys)


def _number(v: float) -> str:
    """A coordinate as written in a file: whole metres, or degrees to six places (never in
    scientific notation)."""
    return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.6f}".rstrip("0").rstrip(".")


def _outside_area_of_use(frame: gpd.GeoDataFrame, crs: CRS) -> bool:
    area = crs.area_of_use
    if area is None:
        return False
    w, s, e, n = (float(v) for v in frame.total_bounds)
    return w < area.west or e > area.east or s < area.south or n > area.north


def wrong_crs(
    *, frame: gpd.GeoDataFrame, source_crs: str, comparison: dict[str, Any], metric_srid: int
) -> tuple[str, str, dict[str, Any]] | None:
    """``(detail_en, detail_zh, extra)`` when the file's coordinates do not fit the CRS it was
    read in (``source_crs``): outside that CRS's area of use, or an outline (``frame``,
    EPSG:4490) covering almost none of the city (``comparison['outline']``); else None (also
    with nothing to compare with). ``extra``: ``{stated_crs, likely_crs: [..], bounds: [minx,
    miny, maxx, maxy] in the file's units, distance_m}``."""
    outline = comparison.get("outline")
    if outline is None or frame.empty:
        return None
    try:
        crs = CRS.from_user_input(source_crs)
        raw = _raw_bounds(frame, source_crs)
    except (CRSError, ValueError):
        return None
    outside = _outside_area_of_use(frame, crs)
    if not outside and outline["dropped_share"] < NOWHERE_NEAR_SHARE:
        return None
    minx, miny, maxx, maxy = raw
    degrees = all(abs(v) <= 180 for v in (minx, maxx)) and all(abs(v) <= 90 for v in (miny, maxy))
    stated = crs.to_string()
    if degrees and not crs.is_geographic:
        likely, kind_en, kind_zh = (
            ["EPSG:4490", "EPSG:4326"],
            "longitude/latitude degrees",
            "经纬度（度）",
        )
    elif not degrees and crs.is_geographic:
        likely, kind_en, kind_zh = [f"EPSG:{metric_srid}"], "metres", "米制平面坐标"
    else:
        likely, kind_en, kind_zh = [], "", ""
    apart = float(outline.get("hausdorff_m") or 0)
    distance_m = round(apart) if math.isfinite(apart) else None  # None: too far to measure
    km = distance_m / 1000 if distance_m is not None else math.inf
    lo_x, hi_x, lo_y, hi_y = (_number(v) for v in (minx, maxx, miny, maxy))
    box = f"x {lo_x}…{hi_x}, y {lo_y}…{hi_y}"
    box_zh = f"x {lo_x}～{hi_x}，y {lo_y}～{hi_y}"
    where_en = (
        f"outside the area of use of {stated}" if outside else
        f"nowhere near the city (its outline is {km:,.0f} km from the city's)"
        if distance_m is not None else "nowhere near the city"
    )  # fmt: skip
    where_zh = (
        f"超出 {stated} 的适用范围"
        if outside
        else (
            f"与城市相距甚远（轮廓相距 {km:.0f} 公里）"
            if distance_m is not None
            else "与城市相距甚远"
        )
    )
    if likely:
        names = f" ({' or '.join(likely)})" if len(likely) > 1 else ""
        names_zh = f"（{'或'.join(likely)}）" if len(likely) > 1 else ""
        en = (
            f"the file's coordinates ({box}) look like {kind_en}, not the CRS it was read in "
            f"({stated}): read as {stated} they lie {where_en}. Send it again with "
            f"crs={likely[0]}{names}, or leave crs out if the file states its CRS"
        )
        zh = (
            f"文件坐标（{box_zh}）看起来是{kind_zh}，而不是所读取的坐标系 {stated}：按 {stated} "
            f"读取时{where_zh}。请用 crs={likely[0]}{names_zh}重新上传；"
            "如文件已写明坐标系，可不填 crs"
        )
    else:
        en = (
            f"the file's coordinates ({box}) read in {stated} lie {where_en}: check the CRS "
            f"(crs=EPSG:4490 for longitude/latitude, EPSG:{metric_srid} for metres)"
        )
        zh = (
            f"文件坐标（{box_zh}）按 {stated} 读取时{where_zh}：请检查坐标系（经纬度用 "
            f"crs=EPSG:4490，米制坐标用 EPSG:{metric_srid}）"
        )
    extra = {"stated_crs": stated, "likely_crs": likely, "bounds": [minx, miny, maxx, maxy],
             "distance_m": distance_m}  # fmt: skip
    return en, zh, extra
