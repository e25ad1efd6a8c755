"""Planners' grid files: read GeoJSON, GeoPackage and zipped Shapefiles as a grid frame, and
write zipped Shapefiles. Pure: no database, no HTTP.

A grid frame has the columns ``code, level, parent_code, name, geometry`` in EPSG:4490 (the
frame ``gis.hierarchy.validate_hierarchy`` checks and ``layers.grids.load_grids`` stores).

Files
-----
- GeoJSON (``.geojson``/``.json``): one layer. A GeoJSON without a ``crs`` member states no
  CRS (RFC 7946 would say WGS 84, but planners' files are usually CGCS2000): the caller must
  state it.
- GeoPackage (``.gpkg``): a file with several layers needs a layer choice; ``layer="all"``
  reads every layer and concatenates them (one layer per level, as planners often keep them).
- Shapefile: a ``.zip`` holding the ``.shp`` and its side files (several Shapefiles in one zip
  are layers, chosen like GeoPackage layers), or a bare ``.shp``. Shapefile field names have at
  most 10 characters, so ``parent_code`` is written and read as ``parent_cod``
  (:data:`SHAPEFILE_FIELDS`); field names are read case-insensitively.

Levels
------
Columns: ``code`` and ``name`` are required; ``level`` and ``parent_code`` are read from the
code when the file has no such column (level by the code's length, 9/12/15 digits; parent =
the code without its last 3 digits), as the codes carry the hierarchy (DOMAIN.md section 1).

A file may hold all three levels, or only the unit grids (L3) (or L2 and L3): a missing
parent level is derived from the codes (L2 = first 12 digits of an L3 code, L1 = first 9) and
its geometry is the union of its children; its name is taken from ``known_names`` (the active
generation) where the code exists, else a placeholder ``待命名 <code>`` that the read's notes
state.

Errors
------
Every problem that makes a file unreadable or unstorable raises :class:`GridFileError` with the
offending ``field`` and a message naming the fix: several layers without a choice (the layers
are listed), missing columns, no CRS, empty parents, codes of the wrong length or prefix,
empty, non-polygonal or invalid geometries. 3D geometries are made 2D (noted, not refused).
"""

from __future__ import annotations

import math
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from gis.codes import LEVEL_CODE_LENGTH
from gis.crs import SRID_CGCS2000
from gis.dbf_encoding import shapefile_encoding

REQUIRED_COLUMNS = ("code", "level", "parent_code", "name")
SHAPEFILE_FIELDS: dict[str, str] = {
    "code": "code",
    "level": "level",
    "parent_code": "parent_cod",
    "name": "name",
    "area_m2": "area_m2",
}
"""Our column name -> the Shapefile field name (at most 10 characters), for import and export."""
ALL_LAYERS = "all"
PLACEHOLDER_NAME = "待命名 {code}"
_EXAMPLES = 5


class GridFileError(ValueError):
    """A grid file that cannot be read or stored; ``field`` names the offending input,
    ``problems`` lists the rows concerned (dicts with ``row``, ``code``, ``detail``) and
    ``layers``, when the layer choice is the problem, the file's layers (see
    :func:`describe_layers`) to choose from; ``detail_zh`` the detail in Chinese."""

    def __init__(
        self,
        detail: str,
        *,
        field: str,
        problems: list[dict[str, Any]] | None = None,
        layers: list[dict[str, Any]] | None = None,
        detail_zh: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_zh = detail_zh  # the same in Chinese, for the pages (api/errors.py)
        self.field = field
        self.problems = problems or []
        self.layers = layers


@dataclass
class GridFile:
    """A grid file read as a grid frame (EPSG:4490) with what was done to it.

    ``layers``: the layers read; ``source_crs``: the CRS the coordinates were in;
    ``derived``: parents derived from the codes, per level; ``placeholders``: codes of derived
    parents named by placeholder; ``notes``: sentences for the import report.
    """

    frame: gpd.GeoDataFrame
    layers: list[str]
    source_crs: str
    derived: dict[int, int] = field(default_factory=dict)
    placeholders: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    encoding: str | None = None  # a Shapefile's attribute encoding (gis/dbf_encoding.py)
    encoding_guessed: bool = False  # detected, not stated by the user, a .cpg or the LDID

    def report(self) -> dict[str, Any]:
        counts = self.frame["level"].value_counts().to_dict()
        return {
            "layers": self.layers,
            "source_crs": self.source_crs,
            "counts": {str(lvl): int(counts.get(lvl, 0)) for lvl in (1, 2, 3)},
            "derived": {str(k): v for k, v in sorted(self.derived.items())},
            "placeholders": self.placeholders,
            "notes": self.notes,
            "encoding": self.encoding,
            "encoding_guessed": self.encoding_guessed,
        }


def _examples(rows: list[dict[str, Any]], zh: bool = False) -> str:
    """The first rows of a refusal, numbered as a planner counts (``row`` is 1-based: the
    file's first feature is row 1), in English or (``zh``) Chinese (``detail_zh``)."""
    if zh:
        shown = "；".join(
            f"第 {r['row']} 行（{r.get('code') or '无编码'}）：{r.get('detail_zh') or r['detail']}"
            for r in rows[:_EXAMPLES]
        )
        return shown + (f" 等，另有 {len(rows) - _EXAMPLES} 行" if len(rows) > _EXAMPLES else "")
    shown = "; ".join(
        f"row {r['row']} ({r.get('code') or 'no code'}): {r['detail']}" for r in rows[:_EXAMPLES]
    )
    more = f" and {len(rows) - _EXAMPLES} more" if len(rows) > _EXAMPLES else ""
    return shown + more


_WHAT = {
    ".gpkg": ("a GeoPackage", "GeoPackage"),
    ".geojson": ("GeoJSON", "GeoJSON"),
    ".json": ("GeoJSON", "GeoJSON"),
    ".shp": ("a Shapefile", "Shapefile"),
}


def _why_unreadable(path: Path) -> tuple[str, str]:
    """Why a file GDAL cannot open is no grid file, in English and Chinese, from the file
    itself (GDAL's own message names the server's temporary path, not the user's file)."""
    if path.suffix.lower() == ".zip":
        if not zipfile.is_zipfile(path):
            return "it is not a zip archive", "它不是 zip 压缩包"
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
        if not any(n.lower().endswith(".shp") for n in names):
            shown = ", ".join(names[:_EXAMPLES]) or "nothing"
            return (
                f"the zip holds no Shapefile (.shp); it holds: {shown}",
                f"压缩包中没有 Shapefile（.shp）；其中有：{shown if names else '无文件'}",
            )
        return (
            "its Shapefile cannot be read (is the .shx or .dbf missing?)",
            "其中的 Shapefile 无法读取（是否缺少 .shx 或 .dbf？）",
        )
    en, zh = _WHAT.get(path.suffix.lower(), ("a grid file", "网格文件"))
    if path.stat().st_size == 0:
        return "it is empty", "文件是空的"
    return f"it is not readable as {en}", f"它无法作为 {zh} 读取"


def list_grid_layers(path: Path) -> list[str]:
    """The layer names of a grid file (one name for GeoJSON or a single Shapefile).

    Raises GridFileError (field ``file``) if GDAL cannot open it, naming the file and what it
    should hold.
    """
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception:  # pyogrio raises DataSourceError and friends
        why, why_zh = _why_unreadable(path)
        raise GridFileError(
            f"{path.name} cannot be read as a grid file: {why}; send a GeoPackage (.gpkg), "
            "GeoJSON (.geojson) or a zipped Shapefile (.zip holding the .shp with its .shx, "
            ".dbf and .prj)",
            detail_zh=f"{path.name} 无法作为网格文件读取：{why_zh}；请上传 GeoPackage（.gpkg）"
            "、GeoJSON（.geojson）或 Shapefile 压缩包（.zip，含 .shp 及其 .shx、.dbf、.prj）",
            field="file",
        ) from None


def describe_layers(path: Path) -> list[dict[str, Any]]:
    """The layers of a grid file, for a person to choose from: dicts ``name``,
    ``geometry_type`` (GDAL's name, e.g. ``MultiPolygon``; None for an attribute table) and
    ``features`` (the count, None if the driver cannot tell without reading).

    Raises GridFileError (field ``file``) if GDAL cannot open it.
    """
    list_grid_layers(path)  # the readable-file check and its message
    out = []
    for name, geometry_type in pyogrio.list_layers(path):
        try:
            features = int(pyogrio.read_info(path, layer=str(name))["features"])
        except Exception:  # a layer GDAL cannot count is still listed
            features = -1
        out.append(
            {
                "name": str(name),
                "geometry_type": None if geometry_type is None else str(geometry_type),
                "features": features if features >= 0 else None,
            }
        )
    return out


def _layer_list(layers: list[dict[str, Any]]) -> str:
    return ", ".join(
        f"{x['name']} ({x['geometry_type'] or 'no geometry'}, {x['features']} features)"
        for x in layers
    )


def _choose_layers(path: Path, layer: str | None) -> list[str]:
    names = list_grid_layers(path)
    if not names:
        raise GridFileError(
            f"{path.name} holds no layer; export the grids again",
            detail_zh=f"{path.name} 中没有图层；请重新导出网格",
            field="file",
        )
    if layer is None or layer == "":
        if len(names) > 1:
            layers = describe_layers(path)
            raise GridFileError(
                f"{path.name} holds {len(names)} layers: {_layer_list(layers)}; choose the "
                f"layer with the grids, or {ALL_LAYERS!r} to read every layer when the levels "
                "are in separate layers",
                detail_zh=f"{path.name} 有 {len(names)} 个图层：{_layer_list(layers)}；"
                f"请选择存放网格的图层，或选 {ALL_LAYERS!r} 读取全部图层（"
                "各级网格分层存放时）",
                field="layer",
                layers=layers,
            )
        return names
    if layer == ALL_LAYERS:
        return names
    if layer not in names:
        layers = describe_layers(path)
        raise GridFileError(
            f"{path.name} has no layer {layer!r}; its layers are: {_layer_list(layers)}",
            detail_zh=f"{path.name} 中没有图层 {layer!r}；其图层有：{_layer_list(layers)}",
            field="layer",
            layers=layers,
        )
    return [layer]


def _states_crs(path: Path) -> bool:
    """Whether a GeoJSON file has a ``crs`` member (GDAL reads any GeoJSON as WGS 84)."""
    with path.open("rb") as fh:
        return b'"crs"' in fh.read()


def _parse_crs(value: str) -> CRS:
    text = value.strip()
    aliases = {"cgcs2000": "EPSG:4490", "wgs84": "EPSG:4326", "crs84": "OGC:CRS84"}
    text = aliases.get(text.lower(), text)
    if text.isdigit():
        text = f"EPSG:{text}"
    try:
        return CRS.from_user_input(text)
    except CRSError:
        raise GridFileError(
            f"crs {value!r} is not a CRS; state it as EPSG:4490 (CGCS2000 lon/lat), EPSG:4549 "
            "(CGCS2000 3-degree GK, metres), EPSG:4326 or any EPSG code",
            detail_zh=f"{value!r} 不是坐标系；请写成 EPSG:4490（CGCS2000 经纬度）、EPSG:4549（"
            "CGCS2000 3 度带高斯投影，米）、EPSG:4326 或其他 EPSG 编码",
            field="crs",
        ) from None


def _read_layer(
    path: Path, layer: str, crs: CRS | None, encoding: str | None = None
) -> tuple[gpd.GeoDataFrame, str]:
    try:
        frame = pyogrio.read_dataframe(path, layer=layer, encoding=encoding)
    except Exception as exc:
        why = str(exc).replace(f"/vsizip/{path}", path.name).replace(str(path), path.name)
        raise GridFileError(
            f"layer {layer!r} of {path.name} cannot be read ({why}); export it again",
            detail_zh=f"{path.name} 的图层 {layer!r} 无法读取；请重新导出",
            field="file",
        ) from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise GridFileError(
            f"layer {layer!r} of {path.name} has no geometry (an attribute table); choose the "
            "layer that holds the grid polygons",
            detail_zh=f"{path.name} 的图层 {layer!r} 没有几何（是属性表）；请选择存放网格面的图层",
            field="layer",
        )
    frame.columns = [
        c if c == frame.geometry.name else str(c).strip().lower() for c in frame.columns
    ]
    frame = frame.rename(columns={v: k for k, v in SHAPEFILE_FIELDS.items() if v != k})
    stated = frame.crs
    if path.suffix.lower() in (".geojson", ".json") and not _states_crs(path):
        stated = None
    if stated is None and crs is None:
        raise GridFileError(
            f"layer {layer!r} of {path.name} does not state its CRS; give the CRS its "
            "coordinates are in (crs=EPSG:4490 for CGCS2000 lon/lat), or save "
            "the file with its CRS set (a .prj beside a Shapefile)",
            detail_zh=f"{path.name} 的图层 {layer!r} 没有说明坐标系；请填写坐标所用的坐标系（"
            "CGCS2000 经纬度为 crs=EPSG:4490），或保存文件时设置坐标系（Shapefile 旁的 "
            ".prj）",
            field="crs",
        )
    if stated is not None and crs is not None and CRS(stated) != crs:
        raise GridFileError(
            f"layer {layer!r} of {path.name} states {CRS(stated).to_string()} but crs "
            f"{crs.to_string()} was given; leave crs out to use the file's, or fix the file",
            detail_zh=f"{path.name} 的图层 {layer!r} 已说明坐标系 {CRS(stated).to_string()}，"
            f"但又给出了 crs {crs.to_string()}；请不填 crs 使用文件的坐标系，或修正文件",
            field="crs",
        )
    source = CRS(stated) if stated is not None else crs
    assert source is not None  # refused above when neither the file nor the caller states it
    frame = frame.set_crs(source, allow_override=True)
    return frame, source.to_string()


_LEVEL_OF_LENGTH = {n: lvl for lvl, n in LEVEL_CODE_LENGTH.items()}
_NO_LEVEL = "(not read from the code)"
"""The level a row gets when the file has no level column and its code has no level's length
(:func:`_normalise` then names the code, not the level)."""


def _derive_columns(frame: gpd.GeoDataFrame, layer: str, notes: list[str]) -> gpd.GeoDataFrame:
    """Add ``level`` (from the code's length: 9, 12, 15 digits) and ``parent_code`` (the code
    without its last 3 digits; none for L1) when the layer has a ``code`` column but not
    them (DOMAIN.md section 1: the codes carry the hierarchy). A present column is kept as
    the file has it and checked against the code later."""
    if "code" not in frame.columns:
        return frame
    codes = [_code_text(v) for v in frame["code"]]
    added = []
    if "level" not in frame.columns:
        frame["level"] = [
            _LEVEL_OF_LENGTH.get(len(c), _NO_LEVEL) if c.isdigit() else _NO_LEVEL for c in codes
        ]
        added.append("level")
    if "parent_code" not in frame.columns:
        frame["parent_code"] = [c[:-3] if len(c) > LEVEL_CODE_LENGTH[1] else "" for c in codes]
        added.append("parent_code")
    if added:
        notes.append(
            f"layer {layer!r} has no {' and no '.join(added)} column: read from the codes "
            "(level by the code's length, parent_code = the code without its last 3 digits)"
        )
    return frame


def _code_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _level_value(value: Any) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() and int(number) in (1, 2, 3) else None


def _normalise(frame: gpd.GeoDataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    """Codes and parents as text, levels as int, 2D valid polygons; raise on what is wrong."""
    codes = [_code_text(v) for v in frame["code"]]
    parents = [_code_text(v) for v in frame["parent_code"]]
    raw_levels = list(frame["level"])
    levels = [_level_value(v) for v in raw_levels]
    rows: dict[str, list[dict[str, Any]]] = {
        "level": [], "code": [], "parent_code": [], "geometry": []
    }  # fmt: skip
    for i, (code, parent, lvl) in enumerate(zip(codes, parents, levels, strict=True)):
        if lvl is None and raw_levels[i] == _NO_LEVEL:
            rows["code"].append({"row": i + 1, "code": code, "detail": (
                f"code {code!r} is not 9, 12 or 15 digits, so its level cannot be read from it "
                "(the file has no level column): correct the code, or add a level column"
            ), "detail_zh": (
                f"编码 {code!r} 不是 9、12 或 15 位，无法判断其层级（文件没有 level 字段）："
                "请改正编码，或增加 level 字段"
            )})  # fmt: skip
            continue
        if lvl is None:
            detail = f"level {raw_levels[i]!r} is not 1, 2 or 3"
            detail_zh = f"level {raw_levels[i]!r} 不是 1、2 或 3"
            rows["level"].append(
                {"row": i + 1, "code": code, "detail": detail, "detail_zh": detail_zh}
            )
            continue
        want = LEVEL_CODE_LENGTH[lvl]
        if not code.isdigit() or len(code) != want:
            what = "is empty" if not code else (
                "has characters other than digits" if not code.isdigit()
                else f"has {len(code)} digits"
            )  # fmt: skip
            what_zh = "为空" if not code else (
                "含有数字以外的字符" if not code.isdigit() else f"有 {len(code)} 位"
            )  # fmt: skip
            rows["code"].append({"row": i + 1, "code": code, "detail": (
                f"L{lvl} code {code!r} {what}; an L{lvl} code has {want} digits "
                "(L1 9, L2 12, L3 15): correct the code, or the level if it is wrong"
            ), "detail_zh": (
                f"L{lvl} 编码 {code!r} {what_zh}；L{lvl} 编码应为 {want} 位"
                "（L1 9 位、L2 12 位、L3 15 位）：请改正编码，或改正错误的层级"
            )})  # fmt: skip
            continue
        if lvl == 1:
            if parent:
                rows["parent_code"].append({"row": i + 1, "code": code, "detail": (
                    f"L1 {code} has parent_code {parent!r}; leave parent_code empty for L1"
                ), "detail_zh": (
                    f"L1 {code} 的 parent_code 为 {parent!r}；L1 的 parent_code 应为空"
                )})  # fmt: skip
            continue
        if not parent:
            rows["parent_code"].append({"row": i + 1, "code": code, "detail": (
                f"L{lvl} {code} has an empty parent_code; fill it with {code[:-3]} "
                "(the code without its last 3 digits)"
            ), "detail_zh": (
                f"L{lvl} {code} 的 parent_code 为空；请填写 {code[:-3]}（编码去掉最后 3 位）"
            )})  # fmt: skip
        elif parent != code[:-3]:
            rows["parent_code"].append({"row": i + 1, "code": code, "detail": (
                f"L{lvl} {code} has parent_code {parent} but its code starts with "
                f"{code[:-3]}; make code and parent_code agree (prefix rule)"
            ), "detail_zh": (
                f"L{lvl} {code} 的 parent_code 为 {parent}，但编码以 {code[:-3]} 开头："
                "请使编码与 parent_code 一致（前缀规则）"
            )})  # fmt: skip
    geoms = np.asarray(frame.geometry.values, dtype=object)
    has_z = shapely.has_z(geoms)
    if has_z.any():
        geoms = shapely.force_2d(geoms)
        notes.append(f"{int(has_z.sum())} geometries had Z values; the heights were dropped")
    reasons = shapely.is_valid_reason(geoms)
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            rows["geometry"].append({"row": i + 1, "code": codes[i], "detail": (
                "has no geometry; draw its boundary or delete the row"
            ), "detail_zh": "没有几何：请画出其边界或删除该行"})  # fmt: skip
        elif shapely.get_type_id(g) not in (3, 6):
            rows["geometry"].append({"row": i + 1, "code": codes[i], "detail": (
                f"is a {g.geom_type}; grids are Polygons or MultiPolygons, redraw it"
            ), "detail_zh": (
                f"是 {g.geom_type}；网格应为面（Polygon 或 MultiPolygon），请重画"
            )})  # fmt: skip
        elif reasons[i] != "Valid Geometry":
            rows["geometry"].append({"row": i + 1, "code": codes[i], "detail": (
                f"is invalid ({reasons[i]}); repair it with QGIS 'Fix geometries' "
                "(or shapely.make_valid) and check it"
            ), "detail_zh": (
                f"几何无效（{reasons[i]}）：请用 QGIS“修复几何”（或 shapely.make_valid）修复并检查"
            )})  # fmt: skip
    fixes = {
        "level": "give each row level 1, 2 or 3",
        "code": "correct the codes",
        "parent_code": "correct parent_code (empty for L1, the code's first 9 or 12 digits else)",
        "geometry": "repair or redraw the geometries",
    }
    names_zh = {"level": "层级（level）", "code": "编码", "parent_code": " parent_code ",
                "geometry": "几何"}  # fmt: skip
    fixes_zh = {
        "level": "每行的 level 应为 1、2 或 3",
        "code": "请改正编码",
        "parent_code": "请改正 parent_code（L1 为空，其他为编码的前 9 或 12 位）",
        "geometry": "请修复或重画几何",
    }
    for name, found in rows.items():
        if found:
            raise GridFileError(
                f"{len(found)} rows with a wrong {name}: {_examples(found)}; {fixes[name]}",
                detail_zh=f"{len(found)} 行的{names_zh[name]}有误：{_examples(found, zh=True)}；"
                f"{fixes_zh[name]}",
                field=name,
                problems=found,
            )
    out = gpd.GeoDataFrame(
        {
            "code": codes,
            "level": levels,
            "parent_code": [p or None for p in parents],
            "name": [_code_text(v) for v in frame["name"]],
        },
        geometry=list(geoms),
        crs=frame.crs,
    )
    return out


def _derive_parents(
    frame: gpd.GeoDataFrame, known_names: Mapping[str, str], result: GridFile
) -> gpd.GeoDataFrame:
    """Add the missing parent levels (L2 from L3 codes, L1 from L2) as unions of children."""
    for lvl in (2, 1):
        present = set(frame["level"])
        if lvl in present or lvl + 1 not in present:
            continue
        kids = frame[frame["level"] == lvl + 1]
        keys = kids["code"].str[: LEVEL_CODE_LENGTH[lvl]].to_numpy()
        codes = sorted(set(keys))
        geoms = [
            shapely.union_all(np.asarray(kids.geometry.values, dtype=object)[keys == c])
            for c in codes
        ]
        names = [known_names.get(c) or PLACEHOLDER_NAME.format(code=c) for c in codes]
        placeholders = [c for c in codes if not known_names.get(c)]
        parents = frame.__class__(
            {
                "code": codes,
                "level": lvl,
                "parent_code": [c[:-3] if lvl > 1 else None for c in codes],
                "name": names,
            },
            geometry=geoms,
            crs=frame.crs,
        )
        frame = gpd.GeoDataFrame(pd.concat([parents, frame], ignore_index=True), crs=frame.crs)
        result.derived[lvl] = len(codes)
        result.placeholders += placeholders
        note = (
            f"{len(codes)} L{lvl} grids derived from the L{lvl + 1} codes (first "
            f"{LEVEL_CODE_LENGTH[lvl]} digits), each the union of its children"
        )
        if placeholders:
            shown = ", ".join(placeholders[:_EXAMPLES])
            more = (
                f" and {len(placeholders) - _EXAMPLES} more"
                if len(placeholders) > _EXAMPLES
                else ""
            )
            note += (
                f"; {len(placeholders)} of them are not in the active generation and are named "
                f"'{PLACEHOLDER_NAME.format(code='<code>')}' ({shown}{more}): rename them"
            )
        result.notes.append(note)
    return frame


def read_grid_file(
    path: Path,
    *,
    layer: str | None = None,
    crs: str | None = None,
    known_names: Mapping[str, str] | None = None,
    encoding: str | None = None,
) -> GridFile:
    """Read a planner's grid file as a grid frame in EPSG:4490.

    Parameters
    ----------
    path : Path
        ``.gpkg``, ``.geojson``/``.json``, ``.zip`` (Shapefile inside) or ``.shp``.
    layer : str, optional
        The layer to read; required when the file has several; ``"all"`` reads every layer.
    crs : str, optional
        The CRS of the coordinates when the file does not state one (EPSG code or
        ``cgcs2000``/``wgs84``); any CRS is reprojected to EPSG:4490.
    known_names : mapping, optional
        code -> name of grids known elsewhere (the active generation), for derived parents.
    encoding : str, optional
        The text encoding of a Shapefile's attributes (GBK, UTF-8, ISO-8859-1); default: its
        ``.cpg``, else its language driver id, else detected -- a guess the report warns
        about (:mod:`gis.dbf_encoding`).

    Raises
    ------
    GridFileError
        With ``field`` ``file``, ``layer``, ``columns``, ``crs``, ``level``, ``code``,
        ``parent_code`` or ``geometry`` and a message naming the fix.
    """
    stated = _parse_crs(crs) if crs else None
    chosen = _choose_layers(path, layer)
    result = GridFile(frame=gpd.GeoDataFrame(), layers=chosen, source_crs="")
    frames, sources = [], []
    for name in chosen:
        try:
            enc = shapefile_encoding(path, name, encoding)
        except ValueError as exc:
            raise GridFileError(
                str(exc),
                detail_zh=f"无法识别编码 {encoding!r}；请使用 GBK（GB18030）、UTF-8 或 ISO-8859-1",
                field="encoding",
            ) from None
        if enc is not None:
            result.encoding = enc.encoding
            result.encoding_guessed = result.encoding_guessed or enc.guessed
            if enc.guessed:
                result.notes.append(
                    f"layer {name!r}: the attribute encoding was guessed as {enc.encoding} "
                    "(no .cpg, no language driver id); check the names, and give encoding= "
                    "(e.g. GBK) if they are garbled"
                )
        frame, source = _read_layer(path, name, stated, enc.encoding if enc else None)
        frame = _derive_columns(frame, name, result.notes)
        missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
        if missing:
            found = [c for c in frame.columns if c != frame.geometry.name]
            raise GridFileError(
                f"layer {name!r} of {path.name} lacks the column(s) {', '.join(missing)} (it has: "
                f"{', '.join(found) or 'none'}); a grid file needs code and name (codes as "
                "text; level and parent_code are read from the codes when the file has no such "
                "column; in a Shapefile parent_code is spelled parent_cod): rename the columns "
                "in QGIS (Refactor fields)",
                detail_zh=f"{path.name} 的图层 {name!r} 缺少字段 {'、'.join(missing)}（"
                f"现有：{'、'.join(found) or '无'}）；网格文件需要 code 和 name（编码为文本；"
                "没有 level、parent_code 字段时由编码推出；Shapefile 中 parent_code 写作 "
                "parent_cod）：请在 QGIS 中重命名字段（重构字段）",
                field="columns",
            )
        if frame.crs.to_epsg() != SRID_CGCS2000:
            result.notes.append(f"layer {name!r} reprojected from {source} to EPSG:4490")
            frame = frame.to_crs(SRID_CGCS2000)
        frame = frame[[*REQUIRED_COLUMNS, frame.geometry.name]]
        if frame.geometry.name != "geometry":
            frame = frame.rename_geometry("geometry")
        frames.append(frame)
        sources.append(source)
    result.source_crs = ", ".join(sorted(set(sources)))
    merged = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=SRID_CGCS2000)
    if merged.empty:
        raise GridFileError(
            f"{path.name} ({', '.join(chosen)}) holds no grids; choose the layer with the grids",
            detail_zh=f"{path.name}（{'、'.join(chosen)}）中没有网格；请选择存放网格的图层",
            field="layer",
        )
    frame = _normalise(merged, result.notes)
    frame = _derive_parents(frame, known_names or {}, result)
    frame = frame.sort_values(["level", "code"], kind="stable").reset_index(drop=True)
    result.frame = frame
    return result


def to_shapefile(frame: gpd.GeoDataFrame, path: Path) -> Path:
    """Write a grid frame as a zipped Shapefile (UTF-8 ``.cpg``) at ``path`` (``.zip``).

    Fields are renamed by :data:`SHAPEFILE_FIELDS` (``parent_code`` -> ``parent_cod``), the
    mapping :func:`read_grid_file` reads back. Returns ``path``.
    """
    columns = [c for c in SHAPEFILE_FIELDS if c in frame.columns]
    out = frame[[*columns, frame.geometry.name]].rename(columns=SHAPEFILE_FIELDS)
    stem = path.stem
    with tempfile.TemporaryDirectory() as tmp:
        shp = Path(tmp) / f"{stem}.shp"
        pyogrio.write_dataframe(out, shp, driver="ESRI Shapefile", encoding="UTF-8")
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(Path(tmp).iterdir()):
                zf.write(part, arcname=part.name)
    return path


def upload_name(filename: str | None, suffix: str) -> str:
    """A safe local file name that keeps the user's (so that problems name their file): the
    last path component, characters other than letters, digits, space and ``-_.()`` replaced
    by ``_``, at most 100 characters, ending in ``suffix``; ``upload<suffix>`` if nothing is
    left."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = base[: -len(suffix)] if base.lower().endswith(suffix) else base
    stem = "".join(c if c.isalnum() or c in " -_.()" else "_" for c in stem)
    stem = stem.strip(" .")[:100] or "upload"
    return f"{stem}{suffix}"


def save_upload(data: bytes, filename: str, directory: Path) -> Path:
    """Write uploaded bytes under ``directory`` (a fresh temporary directory) as the user's
    file name made safe (:func:`upload_name`), so that problems name the user's file."""
    suffix = Path(filename or "upload").suffix.lower()
    if suffix not in (".gpkg", ".geojson", ".json", ".zip", ".shp"):
        raise GridFileError(
            f"file {filename!r} is not a grid file; send a .gpkg, .geojson or a zipped "
            "Shapefile (.zip)",
            detail_zh=f"文件 {filename!r} 不是网格文件；请上传 .gpkg、.geojson 或 Shapefile "
            "压缩包（.zip）",
            field="file",
        )
    target = directory / upload_name(filename, suffix)
    target.write_bytes(data)
    return target


__all__ = [
    "ALL_LAYERS",
    "SHAPEFILE_FIELDS",
    "GridFile",
    "GridFileError",
    "describe_layers",
    "list_grid_layers",
    "read_grid_file",
    "save_upload",
    "to_shapefile",
    "upload_name",
]
