"""``generate_demo_city``: a deterministic, realistic three-level grid over Jiangyin."""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon

from gis.crs import SRID_METRIC_DEFAULT, from_metric, to_metric
from gis.democity import naming, partition, regions, seeds
from gis.democity.outline import load_outline
from gis.democity.towns import TOWNS, grid_density

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Geoms = NDArray[np.object_]
Row = tuple[str, int, str | None, str, Polygon]
"""(code, level, parent_code, name, polygon in CGCS2000 degrees)"""

COUNTS = {1: 17, 2: 271, 3: 1558}
"""Jiangyin's grid counts per level (DOMAIN.md section 1)."""
LLOYD_STEPS = 2
COMMUNITY_MAX_GRID_KM2 = 0.45
"""A village whose unit grids average at most this area is a community (社区)."""
_SEAT_JITTER_M = 400.0
_VILLAGE_RETRIES = 30
MIN_GRIDS_PER_VILLAGE = 3
"""Villages get at least this many unit grids when the town's shape allows it."""


def _metric(geom: object, srid: int) -> object:
    return shapely.transform(geom, lambda c: np.column_stack(to_metric(c[:, 0], c[:, 1], srid)))


def _degrees(geom: object, srid: int) -> object:
    return shapely.transform(geom, lambda c: np.column_stack(from_metric(c[:, 0], c[:, 1], srid)))


class _City:
    """Working state of one generation run (metres in ``srid`` unless named _deg)."""

    def __init__(self, seed: int, srid: int, attempt: int = 0) -> None:
        streams = np.random.SeedSequence([seed, 320281, attempt]).spawn(5)
        self.rng_town, self.rng_seed, self.rng_warp, self.rng_village, self.rng_name = (
            np.random.default_rng(s) for s in streams
        )
        self.srid = srid
        self.outline_deg = load_outline()
        outline_m = _metric(self.outline_deg, srid)
        assert isinstance(outline_m, MultiPolygon)
        self.outline_m: Polygon = max(outline_m.geoms, key=lambda p: p.area)
        lon = np.array([t.seat[0] for t in TOWNS])
        lat = np.array([t.seat[1] for t in TOWNS])
        sx, sy = to_metric(lon, lat, srid)
        jitter = self.rng_town.uniform(-1.0, 1.0, (len(TOWNS), 2)) * _SEAT_JITTER_M
        self.seats_m = np.column_stack([sx, sy]) + jitter
        inside = shapely.contains_xy(self.outline_m, self.seats_m[:, 0], self.seats_m[:, 1])
        self.seats_m[~inside] = np.column_stack([sx, sy])[~inside]
        target = np.array([t.area_km2 for t in TOWNS]) * self.rng_town.uniform(0.9, 1.1, len(TOWNS))
        self.town_target_m2 = target / target.sum() * self.outline_m.area

    def density(self, x: FloatArray, y: FloatArray) -> FloatArray:
        return grid_density(x / 1000.0, y / 1000.0, self.seats_m / 1000.0)

    def side_m(self, x: FloatArray, y: FloatArray) -> FloatArray:
        return np.asarray(1000.0 / np.sqrt(self.density(x, y)))

    # -- unit grids -------------------------------------------------------------------
    def build_unit_grids(self) -> None:
        n = COUNTS[3]
        pts = seeds.sample_seeds(self.outline_m, n, self.density, self.rng_seed)
        pts = seeds.lloyd(pts, self.outline_m, self.density, LLOYD_STEPS)
        lines = partition.wiggly_edges(pts, self.outline_m, self.side_m, self.rng_warp)
        lines_deg = _degrees(lines, self.srid)
        faces = partition.build_faces(np.asarray(lines_deg), self.outline_deg)
        self.seed_xy = pts
        seed_deg = np.asarray(_degrees(shapely.points(self.seed_xy), self.srid))
        seed_face = self._locate(faces, seed_deg)
        pairs, length, on_edge = partition.face_adjacency(faces)
        face_grid = partition.assign_faces(len(faces), seed_face, pairs, length)
        self.faces, self.face_grid = faces, face_grid
        self.grid_ids = np.arange(n)
        faces_m = np.asarray(_metric(faces, self.srid))
        face_area = shapely.area(faces_m)
        self.grid_area = np.bincount(face_grid, face_area, n).astype(np.float64)
        self.grid_on_edge = np.bincount(face_grid, weights=on_edge, minlength=n) > 0
        gp = face_grid[pairs]
        gp = gp[gp[:, 0] != gp[:, 1]]
        gp = np.unique(np.sort(gp, axis=1), axis=0)
        self.graph = regions.build_graph(n, gp, self.seed_xy)

    @staticmethod
    def _locate(faces: Geoms, points: Geoms) -> IntArray:
        tree = shapely.STRtree(faces)
        pt_idx, face_idx = tree.query(points, predicate="intersects")
        seed_face = np.full(len(points), -1, dtype=np.int64)
        for p, f in zip(pt_idx.tolist(), face_idx.tolist(), strict=True):
            if seed_face[p] < 0 or f < seed_face[p]:
                seed_face[p] = f
        if (seed_face < 0).any() or len(np.unique(seed_face)) != len(points):
            raise RuntimeError("two grid seeds share a face; try another seed")
        return seed_face

    # -- towns and villages -------------------------------------------------------------
    def build_towns(self) -> None:
        seat_grid = [int(np.argmin(np.hypot(*(self.seed_xy - s).T))) for s in self.seats_m]
        self.seat_grid = seat_grid
        self.grid_town = regions.grow_to_areas(
            self.graph, seat_grid, self.grid_area, self.town_target_m2
        )
        for t in range(len(TOWNS)):
            region = self.grid_town == t
            if not region.any() or regions.enclosed_components(
                self.graph, region, self.grid_on_edge
            ):
                raise RuntimeError(f"town {TOWNS[t].code} is empty or encloses another town")

    def village_counts(self) -> IntArray:
        n3 = np.bincount(self.grid_town, minlength=len(TOWNS)).astype(float)
        weight = n3**0.8
        share = weight / weight.sum() * COUNTS[2]
        k = np.maximum(np.floor(share), 3).astype(np.int64)
        order = np.argsort(-(share - np.floor(share)), kind="stable")
        i = 0
        while k.sum() != COUNTS[2]:
            t = order[i % len(order)]
            step = 1 if k.sum() < COUNTS[2] else -1
            if 3 <= k[t] + step <= n3[t]:
                k[t] += step
            i += 1
        return k

    def _has_hole(self, members: IntArray, label: IntArray, k: int) -> bool:
        for c in range(k):
            region = np.zeros(COUNTS[3], dtype=bool)
            region[members[label == c]] = True
            if regions.enclosed_components(self.graph, region, self.grid_on_edge):
                return True
        return False

    def build_villages(self) -> None:
        self.grid_village = np.full(COUNTS[3], -1, dtype=np.int64)
        self.village_town: list[int] = []
        for t, k in enumerate(self.village_counts().tolist()):
            members = np.flatnonzero(self.grid_town == t)
            best: tuple[int, IntArray] | None = None
            for _ in range(_VILLAGE_RETRIES):
                label = regions.cluster(self.graph, members, k, self.seed_xy, self.rng_village)
                if self._has_hole(members, label, k):
                    continue
                small = int(np.sum(np.bincount(label, minlength=k) < MIN_GRIDS_PER_VILLAGE))
                if best is None or small < best[0]:
                    best = (small, label)
                if small == 0:
                    break
            if best is None:
                raise RuntimeError(f"no hole-free villages for town {TOWNS[t].code}")
            label = best[1]
            self.grid_village[members] = label + len(self.village_town)
            self.village_town.extend([t] * k)

    # -- geometry, codes and names ------------------------------------------------------
    def _union(self, grid_mask: NDArray[np.bool_]) -> Polygon:
        geom = shapely.coverage_union_all(self.faces[grid_mask[self.face_grid]])
        if not isinstance(geom, Polygon) or not geom.is_valid or geom.interiors:
            raise RuntimeError("a grid is not a single valid polygon without holes")
        return geom

    def _measure(self, geoms: list[Polygon]) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Metric centroids (n, 2), areas (m²) and northernmost y of ``geoms``."""
        metric = _metric(np.asarray(geoms), self.srid)
        xy = shapely.get_coordinates(shapely.centroid(metric))
        return xy, shapely.area(metric), shapely.bounds(metric)[:, 3]

    def _village_codes(self, l2_xy: FloatArray, l2_area: FloatArray) -> dict[int, str]:
        village_town = np.asarray(self.village_town)
        l2_size = np.bincount(self.grid_village, minlength=len(village_town))
        _, l1_area, l1_north = self._measure(self.l1)
        codes: dict[int, str] = {}
        for t, town in enumerate(TOWNS):
            vs = np.flatnonzero(village_town == t)
            seat_village = self.grid_village[self.seat_grid[t]]
            mean_grid = l2_area[vs] / l2_size[vs]
            community = (mean_grid <= COMMUNITY_MAX_GRID_KM2 * 1e6) | (vs == seat_village)
            comm = vs[community]
            comm = comm[np.argsort(np.hypot(*(l2_xy[comm] - self.seats_m[t]).T), kind="stable")]
            vill = vs[~community]
            band = float(np.sqrt(l1_area[t] / len(vs)))
            vill = vill[naming.row_order(l2_xy[vill], float(l1_north[t]), band)]
            for i, v in enumerate(comm.tolist()):
                codes[v] = f"{town.code}{i + 1:03d}"
            for i, v in enumerate(vill.tolist()):
                codes[v] = f"{town.code}{201 + i:03d}"
        return codes

    def assemble(self) -> list[Row]:
        l3 = [self._union(self.grid_ids == g) for g in range(COUNTS[3])]
        l2 = [self._union(self.grid_village == v) for v in range(len(self.village_town))]
        self.l1 = [self._union(self.grid_town == t) for t in range(len(TOWNS))]
        l3_xy, _, _ = self._measure(l3)
        l2_xy, l2_area, l2_north = self._measure(l2)
        village_code = self._village_codes(l2_xy, l2_area)
        rows: list[Row] = [
            (town.code, 1, None, town.name, geom) for town, geom in zip(TOWNS, self.l1, strict=True)
        ]
        ordered = sorted(village_code, key=village_code.__getitem__)
        names = naming.make_names([village_code[v][-3] == "0" for v in ordered], self.rng_name)
        for v, name in zip(ordered, names, strict=True):
            code = village_code[v]
            rows.append((code, 2, code[:9], name, l2[v]))
            members = np.flatnonzero(self.grid_village == v)
            band = float(np.sqrt(l2_area[v] / len(members)))
            order = naming.row_order(l3_xy[members], float(l2_north[v]), band)
            for seq, g in enumerate(members[order], 1):
                rows.append((f"{code}{seq:03d}", 3, code, f"{name}第{seq}网格", l3[g]))
        rows.sort(key=lambda r: (r[1], r[0]))
        return rows


MAX_ATTEMPTS = 5


class GenerationFailed(RuntimeError):
    """No valid city for this seed after ``MAX_ATTEMPTS`` tries; use another seed."""


def generate_rows(seed: int, metric_srid: int = SRID_METRIC_DEFAULT) -> list[Row]:
    """The demo city as (code, level, parent_code, name, polygon) rows, sorted by level, code.

    A run that meets a rare degenerate layout (two seeds in one face, a region with a hole)
    is redone with the next attempt number of the same seed, so the result stays a pure
    function of ``seed`` and ``metric_srid``.
    """
    problems = []
    for attempt in range(MAX_ATTEMPTS):
        city = _City(seed, metric_srid, attempt)
        try:
            city.build_unit_grids()
            city.build_towns()
            city.build_villages()
            return city.assemble()
        except RuntimeError as exc:
            problems.append(str(exc))
    raise GenerationFailed(
        f"seed {seed}: no valid demo city in {MAX_ATTEMPTS} attempts ({'; '.join(problems)}); "
        "use another seed"
    )
