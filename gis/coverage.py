"""Patrol coverage of unit grids (巡查覆盖率): which share of a grid the day's tracks reached.

Definitions (all distances and areas in the metric CRS, EPSG:4549 by default):

* **Track segments.** A device's *valid* fixes are sorted by (time, lon, lat); two consecutive
  valid fixes at most ``max_gap_s`` apart form a straight segment (linear interpolation). A
  valid fix in no segment (isolated by silences on both sides) counts as a point, so a phone
  that reported once still proves presence there. Nothing is drawn across a silence.
* **H3 method.** The cells of a grid are the H3 cells at ``resolution`` whose *centre* lies
  inside (or on the boundary of) the grid polygon, so the cells partition the city among its
  grids. The centre of a cell is the mean of its six boundary vertices in the metric CRS (it
  agrees with h3's own centre to within millimetres at resolutions 10-11). A cell is covered
  when the Euclidean distance from its centre to the nearest segment or point is at most
  ``distance_m``. This is computed exactly (GEOS ``dwithin`` of every segment against an
  R-tree of the centres), not by densifying the tracks.
* **Buffer method.** ``area(grid ∩ buffer(tracks, distance_m)) / area(grid)``; the buffer is
  GEOS' polygon with ``BUFFER_QUAD_SEGS`` segments per quarter circle (its area is at most
  0.2 % below the true round buffer's).
* **Who covered it.** Per (grid, device): metres of segment inside the grid, minutes inside
  (each segment's duration shared out by the share of its length inside, assuming constant
  speed on a segment; a stationary segment counts for the grid that holds it) and covered cells.

Streaming: feed fixes with :meth:`CoverageAccumulator.add` in chunks, each chunk holding all
fixes of the devices in it (read them ordered by device). Memory is bounded by the grid cells
plus one chunk plus one covered polygon per (grid, device). Results do not depend on the order
of fixes or devices: cell counts are exact set unions, polygon pieces are merged in device
order at the end.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry.base import BaseGeometry

from gis.crs import SRID_METRIC_DEFAULT, from_metric, to_metric
from gis.hexgrid import cell_hex, cell_polygon, cells_of, check_resolution

FloatArray = NDArray[np.float64]
BUFFER_QUAD_SEGS = 16
DEFAULT_DISTANCE_M = 30.0
DEFAULT_MAX_GAP_S = 300.0


@dataclass(frozen=True)
class CoverageParams:
    """The method parameters reported with every figure (units in the names)."""

    resolution: int = 10
    distance_m: float = DEFAULT_DISTANCE_M
    max_gap_s: float = DEFAULT_MAX_GAP_S
    metric_srid: int = SRID_METRIC_DEFAULT

    def __post_init__(self) -> None:
        check_resolution(self.resolution)
        if not 0 < self.distance_m <= 1000:
            raise ValueError(
                f"distance_m {self.distance_m} is outside (0, 1000]; use 20-50 m for foot patrols"
            )
        if not self.max_gap_s > 0:
            raise ValueError(f"max_gap_s {self.max_gap_s} must be positive, e.g. 300")

    def as_dict(self) -> dict[str, Any]:
        return {
            "resolution": self.resolution,
            "distance_m": self.distance_m,
            "max_gap_s": self.max_gap_s,
            "metric_srid": self.metric_srid,
        }


def _metric_geoms(geoms: ArrayLike, srid: int) -> NDArray[np.object_]:
    def project(coords: FloatArray) -> FloatArray:
        x, y = to_metric(coords[:, 0], coords[:, 1], srid)
        return np.column_stack((x, y))

    return np.asarray(shapely.transform(np.asarray(geoms, dtype=object), project))


def _cells_in(polygon_m: BaseGeometry, resolution: int, srid: int) -> NDArray[np.uint64]:
    """Every H3 cell with a point in ``polygon_m``'s bounding box grown by one cell.

    Samples a square lattice whose spacing is 0.7 x the cell's inradius: every hexagon holds a
    disk of its inradius, and such a disk always contains a lattice point (spacing x sqrt(2)/2
    < inradius), so no cell whose centre lies in the polygon is missed.
    """
    minx, miny, maxx, maxy = polygon_m.bounds
    cx, cy = from_metric(np.array([(minx + maxx) / 2]), np.array([(miny + maxy) / 2]), srid)
    probe = cell_polygon(int(cells_of(cx, cy, resolution)[0]))
    ring = np.asarray(probe.exterior.coords)[:-1]
    px, py = to_metric(ring[:, 0], ring[:, 1], srid)
    centre = np.array([px.mean(), py.mean()])
    edges = np.hypot(px - centre[0], py - centre[1])  # circumradius = edge length for hexagons
    inradius = float(edges.min()) * np.sqrt(3) / 2
    spacing = 0.7 * inradius
    grow = 2 * float(edges.max())
    xs = np.arange(minx - grow, maxx + grow + spacing, spacing)
    ys = np.arange(miny - grow, maxy + grow + spacing, spacing)
    gx, gy = np.meshgrid(xs, ys)
    lon, lat = from_metric(gx.ravel(), gy.ravel(), srid)
    return np.unique(cells_of(lon, lat, resolution))


def _centres_m(cells: NDArray[np.uint64], srid: int) -> FloatArray:
    """Cell centres (metric x, y): the mean of the boundary vertices in the metric CRS."""
    if len(cells) == 0:
        return np.empty((0, 2))
    rings = [np.asarray(cell_polygon(c).exterior.coords)[:-1] for c in cells.tolist()]
    sizes = np.array([len(r) for r in rings])
    flat = np.concatenate(rings)
    x, y = to_metric(flat[:, 0], flat[:, 1], srid)  # one projection call for all vertices
    owner = np.repeat(np.arange(len(rings)), sizes)
    return np.column_stack((np.bincount(owner, x) / sizes, np.bincount(owner, y) / sizes))


@dataclass
class CoverageGrids:
    """Unit grids prepared for one resolution: metric polygons, their cells and R-trees.

    Build with :meth:`from_polygons` (polygons in EPSG:4490 lon/lat); reuse across days.
    """

    codes: list[str]
    polygons_m: NDArray[np.object_]
    area_m2: FloatArray
    cells: NDArray[np.uint64]  # every grid's cells, grouped by grid
    cell_grid: NDArray[np.int64]  # index into ``codes`` of each cell
    centres_m: FloatArray
    resolution: int
    metric_srid: int
    centre_tree: shapely.STRtree = field(repr=False)
    grid_tree: shapely.STRtree = field(repr=False)

    @classmethod
    def from_polygons(
        cls,
        codes: list[str],
        polygons: ArrayLike,
        *,
        resolution: int,
        metric_srid: int = SRID_METRIC_DEFAULT,
    ) -> CoverageGrids:
        """Prepare grids given as polygons in EPSG:4490 (lon, lat) degrees.

        Raises ``ValueError`` if codes repeat or a polygon is empty or invalid.
        """
        check_resolution(resolution)
        if len(set(codes)) != len(codes):
            raise ValueError("grid codes repeat; pass each unit grid once")
        polys = _metric_geoms(polygons, metric_srid)
        bad = [c for c, p in zip(codes, polys, strict=True) if p.is_empty or not p.is_valid]
        if bad:
            raise ValueError(f"grids {bad[:5]} are empty or invalid; repair them (make_valid)")
        all_cells: list[NDArray[np.uint64]] = []
        owners: list[NDArray[np.int64]] = []
        centres: list[FloatArray] = []
        for i, poly in enumerate(polys):
            cand = _cells_in(poly, resolution, metric_srid)
            cen = _centres_m(cand, metric_srid)
            shapely.prepare(poly)
            inside = shapely.covers(poly, shapely.points(cen))
            all_cells.append(cand[inside])
            centres.append(cen[inside])
            owners.append(np.full(int(inside.sum()), i, dtype=np.int64))
        cells = np.concatenate(all_cells) if all_cells else np.empty(0, dtype=np.uint64)
        cen_all = np.concatenate(centres) if centres else np.empty((0, 2))
        # A centre on the shared edge of two grids is covered by both: keep the first grid.
        _, first = np.unique(cells, return_index=True)
        keep = np.sort(first)
        cen_all = cen_all[keep]
        return cls(
            codes=list(codes),
            polygons_m=polys,
            area_m2=shapely.area(polys),
            cells=cells[keep],
            cell_grid=(np.concatenate(owners) if owners else np.empty(0, dtype=np.int64))[keep],
            centres_m=cen_all,
            resolution=resolution,
            metric_srid=metric_srid,
            centre_tree=shapely.STRtree(shapely.points(cen_all)),
            grid_tree=shapely.STRtree(polys),
        )

    def cell_counts(self) -> NDArray[np.int64]:
        return np.bincount(self.cell_grid, minlength=len(self.codes))


@dataclass(frozen=True)
class DeviceTrack:
    """One device's segments in metric coordinates (what :func:`device_segments` returns)."""

    device: int
    seg_start: FloatArray  # (n, 2) metric x, y
    seg_end: FloatArray  # (n, 2)
    seg_dt_s: FloatArray  # (n,)
    points: FloatArray  # (m, 2) isolated valid fixes
    fixes: int
    first_s: float | None
    last_s: float | None
    silences: list[tuple[float, float]]  # (start_s, duration_s) of gaps > max_gap_s

    @property
    def tracked_s(self) -> float:
        return float(self.seg_dt_s.sum())


def device_segments(
    device: int,
    t_s: FloatArray,
    x_m: FloatArray,
    y_m: FloatArray,
    *,
    max_gap_s: float,
) -> DeviceTrack:
    """Segments between consecutive valid fixes of one device, none across a silence.

    Inputs are the device's *valid* fixes in any order: times (epoch s) and metric x, y (m).
    They are sorted by (time, x, y) first, so the result does not depend on arrival order.
    """
    order = np.lexsort((y_m, x_m, t_s))
    t, x, y = t_s[order], x_m[order], y_m[order]
    n = len(t)
    if n == 0:
        e = np.empty((0, 2))
        return DeviceTrack(device, e, e, np.empty(0), e, 0, None, None, [])
    dt = np.diff(t)
    linked = dt <= max_gap_s
    xy = np.column_stack((x, y))
    in_seg = np.zeros(n, dtype=bool)
    in_seg[:-1] |= linked
    in_seg[1:] |= linked
    gaps = np.flatnonzero(~linked)
    return DeviceTrack(
        device=device,
        seg_start=xy[:-1][linked],
        seg_end=xy[1:][linked],
        seg_dt_s=dt[linked],
        points=xy[~in_seg],
        fixes=n,
        first_s=float(t[0]),
        last_s=float(t[-1]),
        silences=[(float(t[i]), float(dt[i])) for i in gaps],
    )


@dataclass(frozen=True)
class GridCoverage:
    code: str
    cells: int
    covered_cells: int
    h3_share: float | None  # None for a grid too small to hold a cell centre
    area_m2: float
    covered_area_m2: float
    buffer_share: float


@dataclass(frozen=True)
class Visit:
    """One device's presence in one grid."""

    code: str
    device: int
    metres: float
    minutes: float
    cells: int


@dataclass
class CoverageResult:
    params: CoverageParams
    grids: list[GridCoverage]
    visits: list[Visit]
    devices: dict[int, DeviceTrack]
    covered: NDArray[np.bool_] = field(repr=False)  # per cell of the CoverageGrids
    _grids: CoverageGrids = field(repr=False)

    def blind_cells(self, code: str) -> list[int]:
        """Cells of grid ``code`` no track came within ``distance_m`` of (sorted ids)."""
        try:
            i = self._grids.codes.index(code)
        except ValueError:
            raise KeyError(f"grid {code!r} is not among the computed grids") from None
        mask = (self._grids.cell_grid == i) & ~self.covered
        return sorted(int(c) for c in self._grids.cells[mask])


def blind_spots_geojson(cells: list[int]) -> dict[str, Any]:
    """Cells as a GeoJSON FeatureCollection of hexagons in EPSG:4490 (lon, lat)."""
    features = []
    for c in cells:
        ring = [[round(x, 7), round(y, 7)] for x, y in cell_polygon(c).exterior.coords]
        features.append(
            {
                "type": "Feature",
                "id": cell_hex(c),
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"cell": cell_hex(c)},
            }
        )
    return {"type": "FeatureCollection", "features": features}


class CoverageAccumulator:
    """Streams fixes device by device into coverage; call :meth:`result` at the end."""

    def __init__(self, grids: CoverageGrids, params: CoverageParams) -> None:
        if grids.resolution != params.resolution or grids.metric_srid != params.metric_srid:
            raise ValueError("grids were prepared for another resolution or CRS; rebuild them")
        self.grids = grids
        self.params = params
        self.covered = np.zeros(len(grids.cells), dtype=bool)
        self.pieces: dict[int, dict[int, BaseGeometry]] = defaultdict(dict)  # grid -> device
        self.visits: dict[tuple[int, int], list[float]] = {}  # (grid, device) -> m, min, cells
        self.devices: dict[int, DeviceTrack] = {}

    def add(
        self,
        device: ArrayLike,
        t_s: ArrayLike,
        lon: ArrayLike,
        lat: ArrayLike,
        valid: ArrayLike,
    ) -> None:
        """Add a chunk of fixes: device ids, epoch seconds, EPSG:4490 degrees, validity.

        A chunk must hold *all* fixes of each device in it (a device seen in an earlier chunk
        raises ``ValueError``). Invalid fixes are dropped before segments are drawn.
        """
        dev = np.asarray(device, dtype=np.int64)
        ok = np.asarray(valid, dtype=bool)
        t = np.asarray(t_s, dtype=np.float64)[ok]
        x, y = to_metric(np.asarray(lon)[ok], np.asarray(lat)[ok], self.params.metric_srid)
        dev_ok = dev[ok]
        for d in np.unique(dev).tolist():
            if d in self.devices:
                raise ValueError(f"device {d} came in two chunks; read fixes ordered by device")
            sel = dev_ok == d
            self._add_device(
                device_segments(d, t[sel], x[sel], y[sel], max_gap_s=self.params.max_gap_s)
            )

    def add_track(self, track: DeviceTrack) -> None:
        """Add one device's already-built segments (see :func:`device_segments`)."""
        if track.device in self.devices:
            raise ValueError(f"device {track.device} was added twice")
        self._add_device(track)

    def _add_device(self, track: DeviceTrack) -> None:
        self.devices[track.device] = track
        if track.fixes == 0:
            return
        g = self.grids
        lines = shapely.linestrings(np.stack((track.seg_start, track.seg_end), axis=1))
        geoms = (
            np.concatenate((lines, shapely.points(track.points))) if len(track.points) else lines
        )
        # (a) H3: exact distance from cell centres to segments and points
        _, hit = g.centre_tree.query(geoms, predicate="dwithin", distance=self.params.distance_m)
        hit = np.unique(hit)
        self.covered[hit] = True
        cells_per_grid = np.bincount(g.cell_grid[hit], minlength=len(g.codes))
        # (b) buffer of the whole track, clipped to each grid it reaches
        buffered = shapely.buffer(
            shapely.multilinestrings(lines) if len(lines) else shapely.Point(),
            self.params.distance_m,
            quad_segs=BUFFER_QUAD_SEGS,
        )
        if len(track.points):
            pts = shapely.buffer(
                shapely.multipoints(track.points),
                self.params.distance_m,
                quad_segs=BUFFER_QUAD_SEGS,
            )
            buffered = shapely.union(buffered, pts) if not buffered.is_empty else pts
        for gi in g.grid_tree.query(buffered, predicate="intersects").tolist():
            piece = shapely.intersection(g.polygons_m[gi], buffered)
            if not piece.is_empty:
                self.pieces[gi][track.device] = piece
        # who: metres and minutes inside each grid
        metres: dict[int, float] = defaultdict(float)
        minutes: dict[int, float] = defaultdict(float)
        if len(lines):
            si, gi_arr = g.grid_tree.query(lines, predicate="intersects")
            length = shapely.length(lines)
            inside = shapely.contains_properly(g.polygons_m[gi_arr], lines[si])
            part = np.where(inside, length[si], 0.0)
            rest = np.flatnonzero(~inside)
            if len(rest):
                part[rest] = shapely.length(
                    shapely.intersection(lines[si[rest]], g.polygons_m[gi_arr[rest]])
                )
            moving = length[si] > 0
            share = np.divide(part, length[si], out=np.zeros_like(part), where=moving)
            # a zero-length segment counts once, for the first grid (by index) that holds it
            still = ~moving
            if still.any():
                s_idx = np.flatnonzero(still)
                _, first = np.unique(si[s_idx], return_index=True)
                share[s_idx[first]] = 1.0
            for s, gix, p, sh in zip(
                si.tolist(), gi_arr.tolist(), part.tolist(), share.tolist(), strict=True
            ):
                if sh > 0 or p > 0:
                    metres[gix] += p
                    minutes[gix] += sh * float(track.seg_dt_s[s]) / 60.0
        touched = set(metres) | set(np.flatnonzero(cells_per_grid).tolist())
        touched |= {gi for gi, devs in self.pieces.items() if track.device in devs}
        for gix in touched:
            self.visits[(gix, track.device)] = [
                metres.get(gix, 0.0),
                minutes.get(gix, 0.0),
                float(cells_per_grid[gix]),
            ]

    def result(self) -> CoverageResult:
        """Per-grid coverage by both methods, visits and the devices' tracks."""
        g = self.grids
        total = g.cell_counts()
        hit = np.bincount(g.cell_grid[self.covered], minlength=len(g.codes))
        rows = []
        for i, code in enumerate(g.codes):
            devs = self.pieces.get(i, {})
            covered_area = (
                float(shapely.area(shapely.union_all([devs[d] for d in sorted(devs)])))
                if devs
                else 0.0
            )
            area = float(g.area_m2[i])
            rows.append(
                GridCoverage(
                    code=code,
                    cells=int(total[i]),
                    covered_cells=int(hit[i]),
                    h3_share=float(hit[i] / total[i]) if total[i] else None,
                    area_m2=area,
                    covered_area_m2=min(covered_area, area),
                    buffer_share=min(covered_area / area, 1.0) if area else 0.0,
                )
            )
        visits = [
            Visit(g.codes[gi], d, v[0], v[1], int(v[2]))
            for (gi, d), v in sorted(
                self.visits.items(), key=lambda kv: (g.codes[kv[0][0]], kv[0][1])
            )
        ]
        return CoverageResult(self.params, rows, visits, dict(sorted(self.devices.items())),
                              self.covered.copy(), g)  # fmt: skip


def compute_coverage(
    grids: CoverageGrids,
    params: CoverageParams,
    device: ArrayLike,
    t_s: ArrayLike,
    lon: ArrayLike,
    lat: ArrayLike,
    valid: ArrayLike,
) -> CoverageResult:
    """Coverage of all fixes at once (one chunk); see :class:`CoverageAccumulator`."""
    acc = CoverageAccumulator(grids, params)
    acc.add(device, t_s, lon, lat, valid)
    return acc.result()
