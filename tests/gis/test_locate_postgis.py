"""GridLocator agrees exactly with PostGIS ST_Covers + "smallest code wins" (gis/locate.py).

Needs the session fixture ``database_url`` (tests/conftest.py): a SQLAlchemy URL to a throwaway
database with the postgis extension. Both PostGIS point-in-polygon code paths are exercised:
the LATERAL query calls ST_Covers with a different polygon each time (uncached
point_in_multipolygon), the grid-driven join with the same polygon many times in a row (cached
point_in_multipolygon_rtree).
"""

from __future__ import annotations

import numpy as np
import shapely
import sqlalchemy

from tests.gis.test_locate import all_vertices, city, edges, locator, near_edge_points

N_RANDOM = 200_000

LATERAL = """
SELECT p.id, c.code FROM t_pt p
LEFT JOIN LATERAL (
    SELECT g.code FROM t_grid g WHERE ST_Covers(g.geom, p.geom) ORDER BY g.code LIMIT 1
) c ON true
"""
GRID_DRIVEN = """
SELECT DISTINCT ON (p.id) p.id, g.code
FROM t_grid g JOIN t_pt p ON ST_Covers(g.geom, p.geom)
ORDER BY p.id, g.code
"""


def _test_points(seed: int) -> tuple[np.ndarray, np.ndarray]:
    loc = locator(seed)
    rng = np.random.default_rng(seed + 100)
    x0, y0, x1, y1 = shapely.total_bounds(loc._geoms)
    a, b = edges(loc)
    parts = [
        np.column_stack(
            [
                rng.uniform(x0 - 1e-3, x1 + 1e-3, N_RANDOM),
                rng.uniform(y0 - 1e-3, y1 + 1e-3, N_RANDOM),
            ]
        ),
        all_vertices(loc),
        (a + b) / 2,  # edge midpoints
        near_edge_points(loc),
        np.nextafter((a + b) / 2, np.inf),
        np.nextafter((a + b) / 2, -np.inf),
    ]
    xy = np.concatenate(parts)
    return xy[:, 0], xy[:, 1]


def _postgis_codes(database_url: str, seed: int, x: np.ndarray, y: np.ndarray) -> list[dict]:
    frame = city(seed)
    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as conn:
            raw = conn.connection.driver_connection  # psycopg.Connection, for COPY
            assert raw is not None
            with raw.cursor() as cur:
                cur.execute(
                    "CREATE TEMP TABLE t_grid (code text PRIMARY KEY,"
                    " geom geometry(MultiPolygon, 4490) NOT NULL)"
                )
                cur.executemany(  # WKB keeps every double and the vertex order
                    "INSERT INTO t_grid VALUES (%s, ST_Multi(ST_GeomFromWKB(%s, 4490)))",
                    [
                        (c, shapely.to_wkb(g))
                        for c, g in zip(frame["code"], frame.geometry, strict=True)
                    ],
                )
                cur.execute("CREATE TEMP TABLE t_xy (id int, x float8, y float8)")
                with cur.copy("COPY t_xy (id, x, y) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(["int4", "float8", "float8"])
                    for row in zip(range(len(x)), x.tolist(), y.tolist(), strict=True):
                        copy.write_row(row)
                cur.execute(
                    "CREATE TEMP TABLE t_pt AS"
                    " SELECT id, ST_SetSRID(ST_MakePoint(x, y), 4490) AS geom FROM t_xy"
                )
                cur.execute(
                    "SELECT count(*) FROM t_xy JOIN t_pt USING (id)"
                    " WHERE ST_X(geom) <> x OR ST_Y(geom) <> y"
                )
                assert cur.fetchone() == (0,)
                cur.execute("CREATE INDEX ON t_grid USING gist (geom)")
                cur.execute("CREATE INDEX ON t_pt USING gist (geom)")
                cur.execute("ANALYZE t_grid")
                cur.execute("ANALYZE t_pt")
                answers = []
                for sql in (LATERAL, GRID_DRIVEN):
                    cur.execute(sql)
                    answers.append(dict(cur.fetchall()))
            raw.rollback()
    finally:
        engine.dispose()
    return answers


def test_locator_matches_postgis_exactly(database_url: str) -> None:
    for seed in (0, 1):
        loc = locator(seed)
        x, y = _test_points(seed)
        got = loc.locate(x, y).l3
        for answer in _postgis_codes(database_url, seed, x, y):
            expected = np.array([answer.get(i) for i in range(len(x))], dtype=object)
            bad = np.flatnonzero(got != expected)
            assert len(bad) == 0, (
                f"seed {seed}: {len(bad)} of {len(x)} points differ from PostGIS, e.g. "
                + ", ".join(f"({x[i]!r}, {y[i]!r}): {got[i]} vs {expected[i]}" for i in bad[:3])
            )
        assert (got != None).sum() > N_RANDOM // 3  # noqa: E711
