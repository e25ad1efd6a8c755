"""The product path end to end: the demo city loaded in PostGIS, read back, located in memory,
and compared with PostGIS ``ST_Covers`` + the smallest-code rule on the stored grids, for
1 M random points plus every vertex, every edge midpoint and points a hair off the edges."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from gis.locate import GridLocator
from layers.grids import read_grid_frame
from tests.gis.test_locate import all_vertices, edges, near_edge_points

N_RANDOM = 1_000_000

# Grid-driven join on the stored L3 grids (not the subdivided parts: their cut lines add
# vertices, and the rule is defined on the grids as published).
SQL = """
SELECT DISTINCT ON (p.id) p.id, g.code
FROM grid g JOIN t_pt p ON g.generation_id = :g AND g.level = 3 AND ST_Covers(g.geom, p.geom)
ORDER BY p.id, g.code
"""


@pytest.mark.slow
def test_locator_on_the_stored_demo_city_matches_postgis(engine, demo_generation) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        from sqlalchemy.orm import Session

        frame = read_grid_frame(session=Session(bind=conn), generation_id=demo_generation, level=3)
        loc = GridLocator.from_frame(frame)
        rng = np.random.default_rng(20261123)
        x0, y0, x1, y1 = frame.total_bounds
        a, b = edges(loc)
        xy = np.concatenate(
            [
                np.column_stack([rng.uniform(x0, x1, N_RANDOM), rng.uniform(y0, y1, N_RANDOM)]),
                all_vertices(loc),
                (a + b) / 2,
                near_edge_points(loc, offsets=(-1, 0, 1)),
            ]
        )
        x, y = xy[:, 0].copy(), xy[:, 1].copy()
        got = loc.locate(x, y).l3

        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            cur.execute("CREATE TEMP TABLE t_xy (id int, x float8, y float8)")
            with cur.copy("COPY t_xy (id, x, y) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int4", "float8", "float8"])
                for row in zip(range(len(x)), x.tolist(), y.tolist(), strict=True):
                    copy.write_row(row)
            cur.execute(
                "CREATE TEMP TABLE t_pt AS "
                "SELECT id, ST_SetSRID(ST_MakePoint(x, y), 4490) AS geom FROM t_xy"
            )
            cur.execute("CREATE INDEX ON t_pt USING gist (geom)")
            cur.execute("ANALYZE t_pt")
        answer = dict(conn.execute(text(SQL), {"g": demo_generation}).all())
        conn.rollback()
    expected = np.array([answer.get(i) for i in range(len(x))], dtype=object)
    bad = np.flatnonzero(got != expected)
    assert len(bad) == 0, f"{len(bad)} of {len(x)} points differ from PostGIS, e.g. " + ", ".join(
        f"({x[i]!r}, {y[i]!r}): {got[i]} vs {expected[i]}" for i in bad[:3]
    )
    inside = (got != None).sum()  # noqa: E711
    assert 0.3 * N_RANDOM < inside < len(x)
