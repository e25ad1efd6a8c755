"""Patrol coverage of unit grids (巡查覆盖率): which share of a grid the day's tracks reached.

Definitions (all distances and areas in the metric CRS, EPSG:4549 by default):

* **Track segments.** A device's *valid* fixes are sorted by (time, x, y); two consecutive
  valid fixes at most ``max_gap_s`` apart form a straight segment (linear interpolation). A
  valid fix in no segment (isolated by silences on both sides) counts as a point, so a phone
  that reported once still proves presence there. Nothing is drawn across a silence.
* **H3 method.** The cells of a grid are the H3 cells at ``resolution`` whose centre lies
  inside the grid (h3's polyfill, centre containment), so the cells partition the city among
  its grids. A cell is covered when the Euclidean distance from its centre (h3's centre,
  projected) to the nearest segment or point is at most ``distance_m`` -- computed exactly per
  (segment, nearby centre) pair, not by densifying the tracks.
* **Buffer method.** The share of the grid's area within ``distance_m`` of the tracks, measured
  on a raster of ``pixel_m`` pixels: a pixel counts when its centre is within ``distance_m``
  of a segment (exact capsule test), a pixel belongs to the grid holding its centre, and the
  share is covered pixels / the grid's pixels (a fully swept grid is exactly 100 %). With
  30 m buffers and 5 m pixels the area differs from the exact polygon union by well under 1 %
  on hand-made tracks (tests/gis/test_coverage.py); use a smaller ``pixel_m`` for more.
* **Who covered it.** Per (grid, device): metres of segment inside the grid (segments are cut
  exactly where they cross grid edges), minutes inside (a segment's duration shared out by
  the share of its length inside; a stationary segment counts for the grid that holds it) and
  the cells that device covered.

Streaming: feed fixes with :meth:`CoverageAccumulator.add` in chunks, each chunk holding all
fixes of the devices in it (read them ordered by device). Memory is bounded by the grids' cells
and raster plus one chunk plus one row per (grid, device) visit. Results do not depend on the
order of fixes, of devices or on the chunking (set unions and per-device sums); accumulators of
disjoint device sets combine exactly with :meth:`CoverageAccumulator.merge`, which is how the
work is spread over processes or machines (:mod:`gis.coverage_dask`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from gis import coverage_kernels as kern
from gis.crs import SRID_METRIC_DEFAULT, to_metric
from gis.hexgrid import cell_centres, cell_hex, cell_polygon, cells_in_polygon, check_resolution
from gis.locate import GridLocator

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
DEFAULT_DISTANCE_M = 30.0
DEFAULT_MAX_GAP_S = 300.0
DEFAULT_PIXEL_M = 5.0
MAX_RASTER_PIXELS = 250_000_000
"""The largest label raster a run builds (2 bytes a pixel: 500 MB). A finer ``pixel_m`` over
the whole city (0.5 m: ~8e9 pixels, 16 GB) killed the server (issue 11, third trial)."""


class RasterTooLarge(ValueError):
    """The city at ``pixel_m`` needs more than :data:`MAX_RASTER_PIXELS` pixels (the message
    names the finest pixel that fits; one argument, so it pickles across processes)."""


NO_GRID = np.iinfo(np.uint16).max  # label of pixels outside every grid
BIN_M = 50.0  # side of the lookup bins for cell centres and grid edges


@dataclass(frozen=True)
class CoverageParams:
    """The method parameters reported with every figure (units in the names)."""

    resolution: int = 10
    distance_m: float = DEFAULT_DISTANCE_M
    max_gap_s: float = DEFAULT_MAX_GAP_S
    metric_srid: int = SRID_METRIC_DEFAULT
    pixel_m: float = DEFAULT_PIXEL_M

    def __post_init__(self) -> None:
        check_resolution(self.resolution)
        if not 0 < self.distance_m <= 1000:
            raise ValueError(
                f"distance_m {self.distance_m} is outside (0, 1000]; use 20-50 m for foot patrols"
            )
        if not self.max_gap_s > 0:
            raise ValueError(f"max_gap_s {self.max_gap_s} must be positive, e.g. 300")
        if not 0.5 <= self.pixel_m <= 50:
            raise ValueError(f"pixel_m {self.pixel_m} is outside [0.5, 50]; 5 m suits 30 m reach")

    def as_dict(self) -> dict[str, Any]:
        return {
            "resolution": self.resolution,
            "distance_m": self.distance_m,
            "max_gap_s": self.max_gap_s,
            "metric_srid": self.metric_srid,
            "pixel_m": self.pixel_m,
        }


@dataclass(frozen=True)
class Bins:
    """A uniform lookup grid in CSR form (see :mod:`gis.coverage_kernels`)."""

    ox: float
    oy: float
    size: float
    nx: int
    ny: int
    starts: IntArray
    items: IntArray

    @classmethod
    def of_boxes(
        cls, x0: FloatArray, y0: FloatArray, x1: FloatArray, y1: FloatArray,
        bounds: tuple[float, float, float, float], size: float,
    ) -> Bins:  # fmt: skip
        minx, miny, maxx, maxy = bounds
        nx = max(math.ceil((maxx - minx) / size), 1)
        ny = max(math.ceil((maxy - miny) / size), 1)
        starts, items = kern.bin_boxes(x0, y0, x1, y1, minx, miny, size, nx, ny)
        return cls(minx, miny, size, nx, ny, starts, items)

    def args(self) -> tuple[Any, ...]:
        return (self.ox, self.oy, self.size, self.nx, self.ny, self.starts, self.items)


def _metric_geoms(geoms: ArrayLike, srid: int) -> NDArray[np.object_]:
    def project(coords: FloatArray) -> FloatArray:
        x, y = to_metric(coords[:, 0], coords[:, 1], srid)
        return np.column_stack((x, y))

    return np.asarray(shapely.transform(np.asarray(geoms, dtype=object), project))


def _edges(polys_m: NDArray[np.object_]) -> tuple[FloatArray, IntArray]:
    """Every ring edge of the polygons as rows (x0, y0, x1, y1), sorted by polygon, with each
    polygon's first edge index (``starts[k]:starts[k + 1]``)."""
    parts, part_poly = shapely.get_parts(polys_m, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[1:] == ring_of[:-1]
    edges = np.column_stack((coords[:-1][same], coords[1:][same]))
    edge_poly = part_poly[ring_part[ring_of[:-1][same]]]
    order = np.argsort(edge_poly, kind="stable")
    starts = np.searchsorted(edge_poly[order], np.arange(len(polys_m) + 1))
    return np.ascontiguousarray(edges[order]), starts.astype(np.int64)


@dataclass
class CoverageGrids:
    """Unit grids prepared for one set of parameters: cells, raster, edges and a locator.

    Build with :meth:`from_polygons` (polygons in EPSG:4490 lon/lat); reuse across days.
    ``codes`` are sorted; every per-grid array follows that order.
    """

    codes: list[str]
    polygons_m: NDArray[np.object_]
    area_m2: FloatArray
    cells: NDArray[np.uint64]  # every grid's cells, grouped by grid
    cell_grid: IntArray  # index into ``codes`` of each cell
    centres_m: FloatArray
    resolution: int
    metric_srid: int
    pixel_m: float
    distance_m: float
    raster_origin: tuple[float, float] = field(repr=False)
    labels: NDArray[np.uint16] = field(repr=False)  # grid index per pixel, NO_GRID outside
    grid_pixels: IntArray = field(repr=False)
    edges: FloatArray = field(repr=False)  # (n, 4) x0, y0, x1, y1
    centre_bins: Bins = field(repr=False)
    edge_bins: Bins = field(repr=False)
    locator: GridLocator = field(repr=False)

    @classmethod
    def from_polygons(
        cls,
        codes: list[str],
        polygons: ArrayLike,
        *,
        params: CoverageParams,
    ) -> CoverageGrids:
        """Prepare L3 grids (15-digit codes) given as polygons in EPSG:4490 (lon, lat).

        Raises ``ValueError`` if codes repeat or are not L3 codes, or a polygon is empty or
        invalid.
        """
        if len(set(codes)) != len(codes):
            raise ValueError("grid codes repeat; pass each unit grid once")
        if len(codes) >= NO_GRID:
            raise ValueError(f"at most {NO_GRID - 1} unit grids per coverage run")
        order = np.argsort(np.asarray(codes, dtype=str), kind="stable")
        codes = [codes[i] for i in order]
        polys_ll = np.asarray(polygons, dtype=object)[order]
        polys = _metric_geoms(polys_ll, params.metric_srid)
        bad = [c for c, p in zip(codes, polys, strict=True) if p.is_empty or not p.is_valid]
        if bad:
            raise ValueError(f"grids {bad[:5]} are empty or invalid; repair them (make_valid)")
        locator = GridLocator(codes, polys_ll)
        # H3 cells by centre containment; a centre on a shared edge goes to the first grid
        per_grid = [cells_in_polygon(p, params.resolution) for p in polys_ll]
        cells = np.concatenate(per_grid) if per_grid else np.empty(0, dtype=np.uint64)
        owner = np.repeat(np.arange(len(codes)), [len(c) for c in per_grid])
        _, first = np.unique(cells, return_index=True)
        keep = np.sort(first)
        cells, owner = cells[keep], owner[keep]
        lon, lat = cell_centres(cells)
        cx, cy = to_metric(lon, lat, params.metric_srid)
        bounds = tuple(float(v) for v in shapely.total_bounds(polys))
        minx, miny, maxx, maxy = bounds
        # raster of grid labels (pixel centres, even-odd per polygon)
        p = params.pixel_m
        width = max(math.ceil((maxx - minx) / p), 1)
        height = max(math.ceil((maxy - miny) / p), 1)
        if width * height > MAX_RASTER_PIXELS:
            smallest = math.ceil(math.sqrt((maxx - minx) * (maxy - miny) / MAX_RASTER_PIXELS) * 10)
            raise RasterTooLarge(
                f"pixel_m {p:g} needs a raster of {width * height:,} pixels over the city, more "
                f"than {MAX_RASTER_PIXELS:,}; use pixel_m {smallest / 10:g} or more"
            )
        labels = np.full((height, width), NO_GRID, dtype=np.uint16)
        edges, edge_start = _edges(polys)
        e = edges
        kern.rasterize_polygons(e[:, 0], e[:, 1], e[:, 2], e[:, 3], edge_start, minx, miny, p,
                                labels)  # fmt: skip
        inside = labels != NO_GRID
        grid_pixels = np.bincount(labels[inside], minlength=len(codes)).astype(np.int64)
        box = (minx, miny, maxx, maxy)
        return cls(
            codes=codes,
            polygons_m=polys,
            area_m2=shapely.area(polys),
            cells=cells,
            cell_grid=owner.astype(np.int64),
            centres_m=np.column_stack((cx, cy)),
            resolution=params.resolution,
            metric_srid=params.metric_srid,
            pixel_m=p,
            distance_m=params.distance_m,
            raster_origin=(minx, miny),
            labels=labels,
            grid_pixels=grid_pixels,
            edges=edges,
            centre_bins=Bins.of_boxes(cx, cy, cx, cy, box, max(BIN_M, params.distance_m)),
            edge_bins=Bins.of_boxes(
                np.minimum(e[:, 0], e[:, 2]), np.minimum(e[:, 1], e[:, 3]),
                np.maximum(e[:, 0], e[:, 2]), np.maximum(e[:, 1], e[:, 3]), box, BIN_M,
            ),
            locator=locator,
        )  # fmt: skip

    def cell_counts(self) -> IntArray:
        return np.bincount(self.cell_grid, minlength=len(self.codes))

    def suits(self, params: CoverageParams) -> bool:
        return (self.resolution, self.metric_srid, self.pixel_m) == (
            params.resolution, params.metric_srid, params.pixel_m,
        )  # fmt: skip


@dataclass(frozen=True)
class DeviceSummary:
    """One device's day: valid fixes, time on track, silences (gaps > ``max_gap_s``)."""

    device: int
    fixes: int
    first_s: float | None
    last_s: float | None
    tracked_s: float
    silences: list[tuple[float, float]]  # (start epoch s, duration s)


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
    devices: dict[int, DeviceSummary]
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


@dataclass
class _Segments:
    """A chunk's segments (points have a == b and dt == 0), grouped by device."""

    ax: FloatArray
    ay: FloatArray
    bx: FloatArray
    by: FloatArray
    dt: FloatArray
    dev: IntArray
    g0: IntArray  # grid index of each end (-1 outside every grid)
    g1: IntArray
    lon0: FloatArray
    lat0: FloatArray
    lon1: FloatArray
    lat1: FloatArray


class CoverageAccumulator:
    """Streams fixes device by device into coverage; call :meth:`result` at the end."""

    def __init__(self, grids: CoverageGrids, params: CoverageParams) -> None:
        if not grids.suits(params):
            raise ValueError("grids were prepared for another resolution, CRS or pixel; rebuild")
        self.grids = grids
        self.params = params
        self.covered = np.zeros(len(grids.cells), dtype=bool)
        self.painted = np.zeros(grids.labels.shape, dtype=bool)
        self._last_dev = np.full(len(grids.cells), np.iinfo(np.int64).min, dtype=np.int64)
        self._visits: list[tuple[IntArray, IntArray, FloatArray, FloatArray, IntArray]] = []
        self.devices: dict[int, DeviceSummary] = {}

    # --- input --------------------------------------------------------------------------------

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
        dev_all = np.asarray(device, dtype=np.int64).ravel()
        chunk_devices = np.unique(dev_all)
        again = [int(d) for d in chunk_devices if int(d) in self.devices]
        if again:
            raise ValueError(f"device {again[0]} came in two chunks; read fixes ordered by device")
        ok = np.asarray(valid, dtype=bool).ravel()
        dev = dev_all[ok]
        t = np.asarray(t_s, dtype=np.float64).ravel()[ok]
        lo = np.asarray(lon, dtype=np.float64).ravel()[ok]
        la = np.asarray(lat, dtype=np.float64).ravel()[ok]
        order = np.lexsort((la, lo, t, dev))
        dev, t, lo, la = dev[order], t[order], lo[order], la[order]
        x, y = to_metric(lo, la, self.params.metric_srid)
        grid = self._grid_index(lo, la)
        segs = self._segments(chunk_devices, dev, t, x, y, lo, la, grid)
        if len(segs.ax):
            self._cover_cells(segs, chunk_devices)
            d = self.params.distance_m
            (ox, oy), p = self.grids.raster_origin, self.grids.pixel_m
            kern.paint_capsules(segs.ax, segs.ay, segs.bx, segs.by, d, ox, oy, p, self.painted)
            self._share_out(segs)

    def _grid_index(self, lon: FloatArray, lat: FloatArray) -> IntArray:
        if len(lon) == 0:
            return np.empty(0, dtype=np.int64)
        return self.grids.locator.locate_index(lon, lat).astype(np.int64)

    def _segments(
        self, chunk_devices: IntArray, dev: IntArray, t: FloatArray, x: FloatArray,
        y: FloatArray, lon: FloatArray, lat: FloatArray, grid: IntArray,
    ) -> _Segments:  # fmt: skip
        """Segments between consecutive valid fixes; also records each device's summary."""
        n = len(t)
        same = dev[1:] == dev[:-1]
        dt = np.diff(t)
        linked = same & (dt <= self.params.max_gap_s)
        silent = same & ~linked
        in_seg = np.zeros(n, dtype=bool)
        in_seg[:-1] |= linked
        in_seg[1:] |= linked
        i = np.flatnonzero(linked)
        j = np.flatnonzero(~in_seg)  # isolated fixes: zero-length segments
        a = np.concatenate((i, j))
        b = np.concatenate((i + 1, j))
        seg_dt = np.concatenate((dt[i], np.zeros(len(j))))
        by_dev = np.argsort(dev[a], kind="stable")  # the cell kernel needs devices grouped
        a, b, seg_dt = a[by_dev], b[by_dev], seg_dt[by_dev]
        # per-device summaries (devices with no valid fix get an empty one)
        starts = np.searchsorted(dev, chunk_devices, side="left")
        ends = np.searchsorted(dev, chunk_devices, side="right")
        tracked = np.bincount(np.searchsorted(chunk_devices, dev[i]), weights=dt[i],
                              minlength=len(chunk_devices))  # fmt: skip
        gaps = np.flatnonzero(silent)
        gap_dev = dev[gaps]
        for k, d in enumerate(chunk_devices.tolist()):
            s, e = int(starts[k]), int(ends[k])
            lo_g, hi_g = np.searchsorted(gap_dev, [d, d + 1])
            self.devices[d] = DeviceSummary(
                device=d,
                fixes=e - s,
                first_s=float(t[s]) if e > s else None,
                last_s=float(t[e - 1]) if e > s else None,
                tracked_s=float(tracked[k]),
                silences=[(float(t[g]), float(dt[g])) for g in gaps[lo_g:hi_g].tolist()],
            )
        return _Segments(
            ax=x[a], ay=y[a], bx=x[b], by=y[b], dt=seg_dt, dev=dev[a], g0=grid[a], g1=grid[b],
            lon0=lon[a], lat0=lat[a], lon1=lon[b], lat1=lat[b],
        )  # fmt: skip

    def _cover_cells(self, s: _Segments, chunk_devices: IntArray) -> None:
        g = self.grids
        cap = len(s.ax) + 4096
        while True:
            out_cell = np.empty(cap, dtype=np.int64)
            out_dev = np.empty(cap, dtype=np.int64)
            k = kern.cover_cells(
                s.ax, s.ay, s.bx, s.by, s.dev, self.params.distance_m, *g.centre_bins.args(),
                g.centres_m[:, 0], g.centres_m[:, 1], self.covered,
                self._last_dev, out_cell, out_dev,
            )  # fmt: skip
            if k >= 0:
                break
            self._last_dev[np.isin(self._last_dev, chunk_devices)] = np.iinfo(np.int64).min
            cap *= 4
        cells_grid = g.cell_grid[out_cell[:k]]
        self._record(cells_grid, out_dev[:k], cells=np.ones(k, dtype=np.int64))

    def _share_out(self, s: _Segments) -> None:
        """Metres and minutes of every segment, cut at grid edges, to the grids they lie in."""
        g = self.grids
        length = np.hypot(s.bx - s.ax, s.by - s.ay)
        moving = np.flatnonzero(length > 0)
        cap = len(moving) // 4 + 1024
        while True:
            out_seg = np.empty(cap, dtype=np.int64)
            out_t = np.empty(cap, dtype=np.float64)
            e = g.edges
            k = kern.crossings(
                s.ax[moving], s.ay[moving], s.bx[moving], s.by[moving],
                e[:, 0], e[:, 1], e[:, 2], e[:, 3],
                *g.edge_bins.args(), out_seg, out_t,
            )  # fmt: skip
            if k >= 0:
                break
            cap *= 4
        crossing = np.zeros(len(s.ax), dtype=bool)
        crossing[moving[out_seg[:k]]] = True
        # whole segments: both ends in one grid and no edge crossed (stationary ones included)
        whole = ~crossing & (s.g0 == s.g1)
        # the rest are cut at their crossings; each piece's midpoint says its grid
        cut = np.flatnonzero(~whole)
        seg = np.concatenate((cut, cut, moving[out_seg[:k]]))
        tt = np.concatenate((np.zeros(len(cut)), np.ones(len(cut)), out_t[:k]))
        order = np.lexsort((tt, seg))
        seg, tt = seg[order], tt[order]
        piece = np.flatnonzero(seg[1:] == seg[:-1])
        p_seg, t0, t1 = seg[piece], tt[piece], tt[piece + 1]
        frac = t1 - t0
        p_seg, t0, frac = p_seg[frac > 0], t0[frac > 0], frac[frac > 0]
        tm = t0 + frac / 2
        mid_lon = s.lon0[p_seg] + tm * (s.lon1[p_seg] - s.lon0[p_seg])
        mid_lat = s.lat0[p_seg] + tm * (s.lat1[p_seg] - s.lat0[p_seg])
        p_grid = self._grid_index(mid_lon, mid_lat)
        w = np.flatnonzero(whole)
        grid = np.concatenate((s.g0[w], p_grid))
        dev = np.concatenate((s.dev[w], s.dev[p_seg]))
        metres = np.concatenate((length[w], frac * length[p_seg]))
        minutes = np.concatenate((s.dt[w], frac * s.dt[p_seg])) / 60.0
        self._record(grid, dev, metres=metres, minutes=minutes)

    def _record(
        self, grid: IntArray, dev: IntArray, *, metres: FloatArray | None = None,
        minutes: FloatArray | None = None, cells: IntArray | None = None,
    ) -> None:  # fmt: skip
        """Sum rows per (grid, device); rows outside every grid (-1) are dropped."""
        inside = grid >= 0
        grid, dev = grid[inside], dev[inside]
        if len(grid) == 0:
            return
        devs, dev_i = np.unique(dev, return_inverse=True)
        key = grid * len(devs) + dev_i
        keys, inv = np.unique(key, return_inverse=True)
        n = len(keys)

        def total(values: ArrayLike | None, dtype: type) -> Any:
            if values is None:
                return np.zeros(n, dtype=dtype)
            v = np.asarray(values)[inside]
            return np.bincount(inv, weights=v, minlength=n).astype(dtype)

        self._visits.append((
            keys // len(devs), devs[keys % len(devs)],
            total(metres, np.float64), total(minutes, np.float64), total(cells, np.int64),
        ))  # fmt: skip

    # --- combining and results ------------------------------------------------------------------

    def merge(self, other: CoverageAccumulator) -> None:
        """Add another accumulator's work (same grids and parameters, other devices)."""
        if other.params != self.params or other.grids.codes != self.grids.codes:
            raise ValueError("accumulators of different grids or parameters cannot merge")
        self._absorb(other.covered, other.painted, other._visits, other.devices)

    def state(self) -> dict[str, Any]:
        """What a worker sends back: compact arrays, without the (large, shared) grids."""
        return {
            "covered": np.packbits(self.covered),
            "painted": np.packbits(self.painted),
            "visits": self._visits,
            "devices": self.devices,
        }

    def merge_state(self, state: dict[str, Any]) -> None:
        """:meth:`merge` for a :meth:`state` (or :func:`combine_states` of several) computed
        elsewhere on the same grids."""
        covered = np.unpackbits(state["covered"], count=len(self.covered)).astype(bool)
        painted = np.unpackbits(state["painted"], count=self.painted.size).astype(bool)
        self._absorb(covered, painted.reshape(self.painted.shape), state["visits"],
                     state["devices"])  # fmt: skip

    def _absorb(
        self, covered: NDArray[np.bool_], painted: NDArray[np.bool_], visits: list[Any],
        devices: dict[int, DeviceSummary],
    ) -> None:  # fmt: skip
        _check_disjoint(self.devices, devices)
        self.covered |= covered
        self.painted |= painted
        self._visits.extend(visits)
        self.devices.update(devices)

    def result(self) -> CoverageResult:
        """Per-grid coverage by both methods, visits and the devices' summaries."""
        g = self.grids
        n = len(g.codes)
        total = g.cell_counts()
        hit = np.bincount(g.cell_grid[self.covered], minlength=n)
        lab = g.labels[self.painted]
        px = np.bincount(lab[lab != NO_GRID], minlength=n)
        rows = []
        for i, code in enumerate(g.codes):
            area = float(g.area_m2[i])
            share = float(px[i] / g.grid_pixels[i]) if g.grid_pixels[i] else 0.0
            rows.append(
                GridCoverage(
                    code=code,
                    cells=int(total[i]),
                    covered_cells=int(hit[i]),
                    h3_share=float(hit[i] / total[i]) if total[i] else None,
                    area_m2=area,
                    covered_area_m2=share * area,
                    buffer_share=share,
                )
            )
        return CoverageResult(
            self.params, rows, self._visit_rows(), dict(sorted(self.devices.items())),
            self.covered.copy(), g,
        )  # fmt: skip

    def _visit_rows(self) -> list[Visit]:
        if not self._visits:
            return []
        grid, dev, metres, minutes, cells = (
            np.concatenate([v[k] for v in self._visits]) for k in range(5)
        )
        devs, dev_i = np.unique(dev, return_inverse=True)
        key = grid * len(devs) + dev_i
        keys, inv = np.unique(key, return_inverse=True)
        sums = [np.bincount(inv, weights=v, minlength=len(keys)) for v in (metres, minutes, cells)]
        codes = self.grids.codes
        out = [
            Visit(codes[int(k // len(devs))], int(devs[k % len(devs)]), float(m), float(mi),
                  int(c))
            for k, m, mi, c in zip(keys.tolist(), *(s.tolist() for s in sums), strict=True)
        ]  # fmt: skip
        out.sort(key=lambda v: (v.code, v.device))
        return out


def _check_disjoint(a: dict[int, Any], b: dict[int, Any]) -> None:
    again = set(a) & set(b)
    if again:
        raise ValueError(
            f"device {min(again)} is in both parts; split the fixes by device (each chunk, "
            "file or partition holds whole devices, e.g. dask's .shuffle(on='device'))"
        )


def combine_states(states: list[dict[str, Any]]) -> dict[str, Any]:
    """Several :meth:`CoverageAccumulator.state` of disjoint device sets as one, without
    unpacking them (bitwise OR of the packed bits): what a cluster's client does before its one
    :meth:`CoverageAccumulator.merge_state`."""
    if not states:
        raise ValueError("no states to combine")
    covered = states[0]["covered"].copy()
    painted = states[0]["painted"].copy()
    visits = list(states[0]["visits"])
    devices = dict(states[0]["devices"])
    for s in states[1:]:
        _check_disjoint(devices, s["devices"])
        np.bitwise_or(covered, s["covered"], out=covered)
        np.bitwise_or(painted, s["painted"], out=painted)
        visits.extend(s["visits"])
        devices.update(s["devices"])
    return {"covered": covered, "painted": painted, "visits": visits, "devices": devices}


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
