"""A small hand-made three-level grid (2 towns, 4 villages/communities, 12 unit grids).

Around Jiangyin (EPSG:4490 lon/lat). One town has an exclave, so MultiPolygons are covered.
"""

from __future__ import annotations

from typing import Any

from shapely.geometry import MultiPolygon, Polygon, box, mapping
from shapely.ops import unary_union

# Projected area is not needed here: a rough m² per square degree at 31.9°N is enough.
M2_PER_DEG2 = 111_320.0 * 94_520.0

TOWNS: list[tuple[str, str, Polygon | MultiPolygon]] = [
    ("320281001", "澄江街道", box(120.26, 31.88, 120.32, 31.93)),
    (
        "320281100",
        "璜土镇",
        unary_union([box(120.20, 31.88, 120.26, 31.93), box(120.21, 31.935, 120.225, 31.945)]),
    ),
]
VILLAGE_NAMES = {
    "320281001": ["君山社区", "黄山社区"],
    "320281100": ["石庄村", "璜土村"],
}


def _feature(code: str, name: str, level: int, parent: str | None, geom: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": code,
        "geometry": mapping(geom),
        "properties": {
            "code": code,
            "name": name,
            "level": level,
            "parent_code": parent,
            "area_m2": round(geom.area * M2_PER_DEG2, 1),
        },
    }


def sample_levels() -> dict[int, dict[str, Any]]:
    """Level -> FeatureCollection, as ``layers.grids.grid_features`` would give them."""
    features: dict[int, list[dict[str, Any]]] = {1: [], 2: [], 3: []}
    for town_code, town_name, town in TOWNS:
        features[1].append(_feature(town_code, town_name, 1, None, town))
        west, south, east, north = town.bounds
        middle = (south + north) / 2
        halves = [box(west, middle, east, north + 0.1), box(west, south - 0.1, east, middle)]
        for i, (half, village_name) in enumerate(
            zip(halves, VILLAGE_NAMES[town_code], strict=True)
        ):
            village = town.intersection(half)
            village_code = f"{town_code}{i + 1:03d}"
            features[2].append(_feature(village_code, village_name, 2, town_code, village))
            step = (east - west) / 3
            for j in range(3):
                strip = box(west + j * step, south - 0.1, west + (j + 1) * step, north + 0.1)
                unit = village.intersection(strip)
                unit_code = f"{village_code}{j + 1:03d}"
                unit_name = f"{village_name}第{j + 1}网格"
                features[3].append(_feature(unit_code, unit_name, 3, village_code, unit))
    return {level: {"type": "FeatureCollection", "features": f} for level, f in features.items()}
