"""Patrol coverage on dask-geopandas: the province path, one accumulator per partition.

The job is :mod:`gis.coverage` spread over a dask cluster. Fixes come as a
``dask_geopandas.GeoDataFrame`` of points in EPSG:4490 (lon, lat) with the columns ``device``
(int), ``t_s`` (epoch seconds) and optionally ``valid`` (bool, default all valid), partitioned
*by device*: every partition holds all fixes of the devices in it (read one file per group of
devices, or ``shuffle(on="device")`` first). Each partition becomes a
:class:`~gis.coverage.CoverageAccumulator` state on a worker; the client ORs the packed
bitmaps, joins the visit rows and device summaries, and produces one
:class:`~gis.coverage.CoverageResult` -- identical to the single-process engine on the same
fixes (set unions and per-device sums do not depend on the split). A device split over two
partitions raises ``ValueError`` instead of counting it twice.

The unit grids travel as a :class:`GridSpec` (codes, WKB polygons, parameters: a few MB); each
worker process builds the :class:`~gis.coverage.CoverageGrids` from it once and keeps them
(about 330 MB for 1,558 grids at 5 m pixels) for every later partition and run.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dask
import dask.dataframe as dd
import dask_geopandas
import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely
from numpy.typing import ArrayLike

from gis.coverage import (
    CoverageAccumulator,
    CoverageGrids,
    CoverageParams,
    CoverageResult,
    combine_states,
)

SRID_LONLAT = 4490
_GRIDS: dict[str, CoverageGrids] = {}  # per worker process, keyed by GridSpec.token
_GRIDS_LOCK = threading.Lock()
STATE_META = pd.DataFrame({"state": pd.Series([], dtype=object)})


@dataclass(frozen=True)
class GridSpec:
    """What a worker needs to build the grids: L3 codes, polygons as WKB (EPSG:4490), params."""

    codes: tuple[str, ...]
    wkb: tuple[bytes, ...]
    params: CoverageParams

    @classmethod
    def from_polygons(
        cls, codes: Sequence[str], polygons: ArrayLike, *, params: CoverageParams
    ) -> GridSpec:
        """Polygons in EPSG:4490 (lon, lat degrees), one per code."""
        geoms = np.asarray(polygons, dtype=object)
        if len(geoms) != len(codes):
            raise ValueError(f"{len(codes)} codes but {len(geoms)} polygons; pass one per code")
        wkb = tuple(bytes(b) for b in shapely.to_wkb(geoms))
        return cls(tuple(str(c) for c in codes), wkb, params)

    @property
    def token(self) -> str:
        h = hashlib.sha1(repr(sorted(self.params.as_dict().items())).encode())
        for code, blob in zip(self.codes, self.wkb, strict=True):
            h.update(code.encode())
            h.update(blob)
        return h.hexdigest()

    def build(self) -> CoverageGrids:
        """The prepared grids, built once per process and cached (thread-safe)."""
        key = self.token
        with _GRIDS_LOCK:
            grids = _GRIDS.get(key)
            if grids is None:
                polygons = shapely.from_wkb(np.asarray(self.wkb, dtype=object))
                grids = CoverageGrids.from_polygons(list(self.codes), polygons, params=self.params)
                _GRIDS.clear()  # one set of grids per process: bounded memory
                _GRIDS[key] = grids
            return grids


def _meta(points: bool) -> pd.DataFrame:
    base = pd.DataFrame({"device": pd.Series([], dtype="int64"),
                         "t_s": pd.Series([], dtype="float64"),
                         "valid": pd.Series([], dtype="bool")})  # fmt: skip
    if not points:
        return base.assign(lon=pd.Series([], dtype="float64"), lat=pd.Series([], dtype="float64"))
    return gpd.GeoDataFrame(base, geometry=gpd.GeoSeries([], crs=SRID_LONLAT))


def _to_points(part: pd.DataFrame, lon: str = "lon", lat: str = "lat") -> gpd.GeoDataFrame:
    geometry = gpd.points_from_xy(part[lon], part[lat], crs=SRID_LONLAT)
    return gpd.GeoDataFrame(part.drop(columns=[lon, lat]), geometry=geometry)


def fixes_frame(
    frame: dd.DataFrame, *, lon: str = "lon", lat: str = "lat"
) -> dask_geopandas.GeoDataFrame:
    """Points in EPSG:4490 from a dask DataFrame with ``lon``/``lat`` columns in degrees.

    Partition by partition (the partitions, hence the devices in each, stay as they are).
    """
    meta = _to_points(frame._meta, lon, lat)
    return frame.map_partitions(_to_points, lon, lat, meta=meta)


def _read_part(path: str, points: bool) -> pd.DataFrame:
    part = pq.read_table(path, columns=["device", "t_s", "lon", "lat", "valid"]).to_pandas()
    return _to_points(part) if points else part


def read_fixes_parquet(
    paths: Sequence[str], *, points: bool = True
) -> dask_geopandas.GeoDataFrame | dd.DataFrame:
    """One partition per Parquet file (columns device, t_s, lon, lat, valid).

    Each file must hold whole devices; the files may sit on any storage every worker reads
    (a shared disk or network file system). With ``points`` (the default) the partitions are
    GeoDataFrames of points in EPSG:4490; without, plain frames with ``lon``/``lat`` in degrees,
    which spares building a shapely point per fix (:func:`coverage_dask` takes both).
    """
    return dd.from_map(_read_part, list(paths), points=points, meta=_meta(points),
                       enforce_metadata=False)  # fmt: skip


def _lonlat(part: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lon, lat, usable) of a partition: point geometry in EPSG:4490, or lon/lat columns."""
    if not isinstance(part, gpd.GeoDataFrame) and "geometry" in part.columns:
        part = gpd.GeoDataFrame(part, geometry="geometry")  # a shuffle may drop the type
    if isinstance(part, gpd.GeoDataFrame):
        if part.crs is None or part.crs.to_epsg() != SRID_LONLAT:
            raise ValueError(f"fixes are in {part.crs}; convert them with .to_crs({SRID_LONLAT})")
        geom = part.geometry.values
        return shapely.get_x(geom), shapely.get_y(geom), ~shapely.is_empty(geom)
    if not {"lon", "lat"} <= set(part.columns):
        raise ValueError("fixes need a point geometry (EPSG:4490) or lon and lat columns")
    lon, lat = part["lon"].to_numpy(np.float64), part["lat"].to_numpy(np.float64)
    return lon, lat, np.isfinite(lon) & np.isfinite(lat)


def partition_state(part: pd.DataFrame, spec: GridSpec) -> pd.DataFrame:
    """One partition's :meth:`CoverageAccumulator.state` as a one-row frame (column ``state``).

    ``part`` holds whole devices: a GeoDataFrame of points in EPSG:4490, or a frame with
    ``lon``/``lat`` degrees; columns ``device``, ``t_s`` and optionally ``valid``.
    """
    acc = CoverageAccumulator(spec.build(), spec.params)
    if len(part):
        lon, lat, usable = _lonlat(part)
        valid = part["valid"].to_numpy(bool) if "valid" in part else np.ones(len(part), bool)
        acc.add(part["device"].to_numpy(np.int64), part["t_s"].to_numpy(np.float64), lon, lat,
                valid & usable)  # fmt: skip
    return pd.DataFrame({"state": [acc.state()]}, index=[0])


def coverage_dask(
    fixes: dask_geopandas.GeoDataFrame | dd.DataFrame,
    spec: GridSpec,
    *,
    client: Any = None,
    grids: CoverageGrids | None = None,
) -> CoverageResult:
    """Coverage of ``fixes`` (points in EPSG:4490, or lon/lat columns in degrees; partitioned
    by device) on a dask cluster.

    With a ``distributed.Client`` the spec is broadcast to every worker once; without one the
    current dask scheduler runs the partitions (``dask.config.set(scheduler="sync")`` for
    tests). ``grids`` (built from the same spec) spares the client building them again.
    """
    crs = getattr(fixes, "crs", None)
    if isinstance(fixes, dask_geopandas.GeoDataFrame) and (
        crs is None or crs.to_epsg() != SRID_LONLAT
    ):
        raise ValueError(f"fixes are in {crs}; set or convert them to EPSG:{SRID_LONLAT}")
    missing = {"device", "t_s"} - set(fixes.columns)
    if missing:
        raise ValueError(f"fixes lack the columns {sorted(missing)}; rename them")
    arg: Any = spec
    if client is not None:
        arg = dask.delayed(client.scatter(spec, broadcast=True))
    states = fixes.map_partitions(partition_state, arg, meta=STATE_META)
    collected = states.compute(**({} if client is None else {"scheduler": client}))
    merged = combine_states(list(collected["state"]))
    if grids is None:
        grids = spec.build()
    acc = CoverageAccumulator(grids, spec.params)
    acc.merge_state(merged)
    return acc.result()
