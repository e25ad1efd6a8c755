"""The coverage engine on the stored demo city against PostGIS doing it the slow, obvious way.

Three officers wander through the dense town centre for two hours. Per unit grid, PostGIS
measures ``ST_Length(ST_Intersection(grid, track))`` (metres inside), the share of the grid
within ``ST_Buffer(track, 30 m)`` and the H3 centres ``ST_DWithin`` 30 m of a track; the engine
must give the same metres (to a millimetre), the same covered cells, and buffer shares within
one percentage point (its buffer is measured on a 5 m raster).
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from sqlalchemy import text
from sqlalchemy.engine import Engine

from gis.coverage import CoverageGrids, CoverageParams, compute_coverage
from gis.crs import from_metric, to_metric

PARAMS = CoverageParams(resolution=11, distance_m=30.0, max_gap_s=300.0, pixel_m=5.0)


@pytest.fixture(scope="module")
def tracks(demo_grids):  # type: ignore[no-untyped-def]
    l3 = demo_grids[demo_grids["level"] == 3]
    core = l3[l3["code"].str.startswith("320281001")]  # the town centre (澄江街道)
    x0, y0 = to_metric(*(np.array([v]) for v in core.union_all().centroid.coords[0]))
    rng = np.random.default_rng(2026)
    rows = []
    for device in (1, 2, 3):
        heading = np.cumsum(rng.normal(0, 0.25, 1440))
        step = np.column_stack((np.cos(heading), np.sin(heading))) * 6.0
        xy = np.array([x0[0], y0[0]]) + np.cumsum(step, axis=0) + rng.normal(0, 3, (1440, 2))
        rows.append((device, xy))
    return l3, rows


def test_engine_matches_postgis_on_the_demo_city(
    engine: Engine, demo_generation: int, tracks
) -> None:  # type: ignore[no-untyped-def]
    l3, rows = tracks
    grids = CoverageGrids.from_polygons(list(l3["code"]), l3.geometry.values, params=PARAMS)
    device = np.concatenate([np.full(len(xy), d) for d, xy in rows])
    xy = np.vstack([xy for _, xy in rows])
    lon, lat = from_metric(xy[:, 0], xy[:, 1])
    t = np.concatenate([np.arange(len(xy_)) * 5.0 for _, xy_ in rows])
    result = compute_coverage(grids, PARAMS, device, t, lon, lat, np.ones(len(t), dtype=bool))
    # the engine's segments in metres, exactly as it drew them (projected from lon/lat)
    mx, my = to_metric(lon, lat)
    lines = [shapely.linestrings(mx[device == d], my[device == d]) for d, _ in rows]
    wkb = shapely.to_wkb(shapely.multilinestrings(lines))  # full precision
    with engine.connect() as conn:
        exact = conn.execute(
            text(
                "WITH t AS (SELECT ST_GeomFromWKB(:wkb, 4549) AS line), "
                "g AS (SELECT code, ST_Transform(geom, 4549) AS geom FROM grid "
                "      WHERE generation_id = :gen AND level = 3) "
                "SELECT g.code, ST_Length(ST_Intersection(g.geom, t.line)), "
                "  ST_Area(ST_Intersection(g.geom, ST_Buffer(t.line, 30, 'quad_segs=32'))) "
                "  / ST_Area(g.geom) "
                "FROM g, t WHERE ST_DWithin(g.geom, t.line, 30)"
            ),
            {"wkb": wkb, "gen": demo_generation},
        ).all()
        # only centres in the tracks' bounding box grown by 30 m can be within reach
        c = grids.centres_m
        box = (c[:, 0] >= mx.min() - 30) & (c[:, 0] <= mx.max() + 30)
        box &= (c[:, 1] >= my.min() - 30) & (c[:, 1] <= my.max() + 30)
        centres = np.column_stack((c, np.arange(len(c))))[box]
        near = conn.execute(
            text(
                "WITH t AS (SELECT ST_GeomFromWKB(:wkb, 4549) AS line) "
                "SELECT c.i FROM unnest(:x, :y, :i) AS c(x, y, i), t "
                "WHERE ST_DWithin(ST_SetSRID(ST_MakePoint(c.x, c.y), 4549), t.line, 30)"
            ),
            {"wkb": wkb, "x": centres[:, 0].tolist(), "y": centres[:, 1].tolist(),
             "i": centres[:, 2].astype(int).tolist()},
        ).scalars().all()  # fmt: skip
    assert len(exact) > 10  # the walk crossed many grids
    metres: dict[str, float] = {}
    for v in result.visits:
        metres[v.code] = metres.get(v.code, 0.0) + v.metres
    shares = {g.code: g.buffer_share for g in result.grids}
    for code, length, share in exact:
        assert metres.get(code, 0.0) == pytest.approx(length, abs=1e-3), code
        assert shares[code] == pytest.approx(share, abs=0.01), code
    assert sorted(np.flatnonzero(result.covered).tolist()) == sorted(near)
