"""Where the 17 first-level units sit in the demo city, and how dense their grids are.

Real town boundaries of Jiangyin are not public; the seats below are plausible positions
(CGCS2000 lon/lat) and the target areas are close to the published town areas. The grid
density field says how many unit grids a square kilometre gets: the urban core (澄江街道)
is ten to fifteen times denser than the countryside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gis.codes import JIANGYIN_TOWNS

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class TownSpec:
    """A first-level unit's seat and its share of the city.

    ``seat`` is (lon, lat) in CGCS2000 degrees; ``area_km2`` the target area;
    ``urban`` the peak extra grid density at the seat in grids per km², and ``urban_sigma_km``
    the radius (Gaussian sigma) of that urban area.
    """

    code: str
    seat: tuple[float, float]
    area_km2: float
    urban: float
    urban_sigma_km: float

    @property
    def name(self) -> str:
        return JIANGYIN_TOWNS[self.code]


TOWNS: tuple[TownSpec, ...] = (
    TownSpec("320281001", (120.285, 31.903), 52, 14.4, 2.4),  # 澄江街道: the urban core
    TownSpec("320281400", (120.356, 31.902), 62, 4.0, 3.1),  # 高新区: east of the core
    TownSpec("320281009", (120.214, 31.913), 40, 3.0, 2.2),  # 夏港街道
    TownSpec("320281007", (120.146, 31.924), 32, 2.5, 1.7),  # 申港街道
    TownSpec("320281008", (120.078, 31.944), 46, 2.2, 1.7),  # 利港街道
    TownSpec("320281100", (120.037, 31.890), 62, 2.5, 1.6),  # 璜土镇
    TownSpec("320281102", (120.207, 31.846), 48, 2.2, 1.4),  # 月城镇
    TownSpec("320281004", (120.286, 31.848), 46, 3.5, 2.2),  # 南闸街道
    TownSpec("320281005", (120.356, 31.861), 40, 3.0, 1.9),  # 云亭街道
    TownSpec("320281103", (120.238, 31.771), 66, 3.0, 1.6),  # 青阳镇
    TownSpec("320281104", (120.322, 31.776), 100, 2.5, 1.6),  # 徐霞客镇
    TownSpec("320281108", (120.421, 31.846), 80, 2.8, 1.6),  # 周庄镇
    TownSpec("320281107", (120.481, 31.814), 86, 3.2, 1.7),  # 华士镇
    TownSpec("320281109", (120.446, 31.776), 22, 2.2, 1.2),  # 新桥镇
    TownSpec("320281110", (120.446, 31.726), 72, 2.5, 1.6),  # 长泾镇
    TownSpec("320281112", (120.371, 31.716), 66, 2.5, 1.4),  # 祝塘镇
    TownSpec("320281111", (120.556, 31.766), 76, 2.2, 1.4),  # 顾山镇
)

CORE_TOWN = "320281001"
RURAL_DENSITY = 0.6
"""Unit grids per km² away from any town seat (grids of about 1.3 km²)."""


def grid_density(
    x_km: FloatArray, y_km: FloatArray, seats_km: FloatArray, towns: tuple[TownSpec, ...] = TOWNS
) -> FloatArray:
    """Relative unit-grid density (grids per km²) at metric points given in kilometres.

    ``seats_km`` is an (n_towns, 2) array of the seats in the same metric CRS, in km.
    """
    out = np.full(np.shape(x_km), RURAL_DENSITY, dtype=np.float64)
    for town, (sx, sy) in zip(towns, seats_km, strict=True):
        r2 = (x_km - sx) ** 2 + (y_km - sy) ** 2
        out += town.urban * np.exp(-r2 / (2.0 * town.urban_sigma_km**2))
    return out
