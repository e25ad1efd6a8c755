"""The comparison of an import with the active city, the diff and the lineage count a grid as
changed only beyond the tolerance (0.05 m Hausdorff and 5 m² of symmetric difference per km
of boundary in EPSG:4549 by default): a file round-tripped through EPSG:4549 changes nothing,
and the neighbours of a split grid (they gain a vertex on their shared edge) are not reshaped.
Each test works on its own draft, rolled back."""

from __future__ import annotations

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.grids import create_generation, load_grids, read_grid_frame
from layers.planning.drafts import compare_frames
from layers.planning.edits import apply_edit
from layers.planning.lineage import ShapeTolerance, diff_features, lineage_pairs
from tests.layers.test_impact import WHO, copy_draft, geom

METRIC = 4549


def _round_trip(frame, decimals: int = 3):  # type: ignore[no-untyped-def]
    """The frame written in EPSG:4549 with coordinates rounded to mm, read back to 4490."""
    metric = frame.to_crs(METRIC)
    metric["geometry"] = shapely.set_precision(metric.geometry.values, 10.0**-decimals)
    return metric.to_crs(frame.crs)


def test_round_trip_through_4549_changes_nothing(db_session: Session, demo_generation) -> None:  # type: ignore[no-untyped-def]
    active = read_grid_frame(session=db_session, generation_id=demo_generation)
    back = _round_trip(active)
    # the coordinates really differ (else the test proves nothing) ...
    differ = ~shapely.equals_exact(active.geometry.values, back.geometry.values, 1e-12)
    assert differ.sum() > 1000
    # ... yet no grid is changed, in the comparison of an import ...
    comparison = compare_frames(back, active, metric_srid=METRIC)
    assert comparison["codes"]["changed_count"] == 0, comparison["codes"]["changed"][:3]
    assert comparison["tolerance"] == {"hausdorff_m": 0.05, "area_m2_per_km": 5.0}
    # ... nor in the diff and lineage of the draft stored from it
    draft = create_generation(session=db_session, name="round trip").id
    load_grids(session=db_session, generation_id=draft, grids=back, metric_srid=METRIC)
    diff = diff_features(
        session=db_session, old_generation_id=demo_generation, new_generation_id=draft
    )
    assert diff["features"] == [] and diff["counts"] == {}
    assert (
        lineage_pairs(
            session=db_session, old_generation_id=demo_generation, new_generation_id=draft
        )
        == []
    )


def test_a_real_change_is_still_seen_and_the_tolerance_is_configurable(  # type: ignore[no-untyped-def]
    db_session: Session, demo_generation
) -> None:
    active = read_grid_frame(session=db_session, generation_id=demo_generation)
    moved = active.copy()
    k = int(np.flatnonzero(moved["level"].to_numpy() == 3)[0])
    code = moved["code"].iloc[k]
    # 0.3 m east (about 3e-6 degrees): beyond 0.05 m
    moved.loc[moved.index[k], "geometry"] = shapely.affinity.translate(
        moved.geometry.iloc[k], xoff=3e-6
    )
    comparison = compare_frames(moved, active, metric_srid=METRIC)
    changed = comparison["codes"]["changed"]
    assert [c["code"] for c in changed] == [code]
    assert 0.2 < changed[0]["hausdorff_m"] < 0.4 and changed[0]["changed_m2"] > 1.0
    loose = ShapeTolerance(hausdorff_m=1.0, area_m2_per_km=1e9)
    assert (
        compare_frames(moved, active, metric_srid=METRIC, tolerance=loose)["codes"]["changed_count"]
        == 0
    )


def test_neighbours_of_a_split_are_not_reshaped(db_session: Session, demo_generation) -> None:  # type: ignore[no-untyped-def]
    draft = copy_draft(db_session, demo_generation)
    c = db_session.execute(
        text("SELECT code FROM grid WHERE generation_id = :g AND level = 3 "
             "ORDER BY area_m2 DESC, code LIMIT 1"),
        {"g": draft},
    ).scalar_one()  # fmt: skip
    minx, miny, maxx, maxy = geom(db_session, draft, c).bounds
    # a line across the grid, through the middle (it cuts the shared edges of its neighbours
    # at points that are not vertices, which the split adds to both sides)
    mid = (miny + maxy) / 2 + 1.234e-6
    apply_edit(
        session=db_session, draft_id=draft, op="split",
        params={"code": c, "line": [[minx - 0.01, mid], [maxx + 0.01, mid]]},
        reason="split", actor=WHO,
    )  # fmt: skip
    diff = diff_features(
        session=db_session, old_generation_id=demo_generation, new_generation_id=draft
    )
    changes = {f["properties"]["code"]: f["properties"]["change"] for f in diff["features"]}
    l3 = {k: v for k, v in changes.items() if len(k) == 15}
    assert l3.pop(c) == "removed"
    assert sorted(l3.values()) == ["added", "added"], changes
    assert "reshaped" not in changes.values(), changes
    rows = lineage_pairs(
        session=db_session, old_generation_id=demo_generation, new_generation_id=draft
    )
    assert {r["kind"] for r in rows} == {"split_from"}
    # without tolerance the neighbours that gained a vertex would count as reshaped: show the
    # split really touched them
    exact = diff_features(
        session=db_session, old_generation_id=demo_generation, new_generation_id=draft,
        tolerance=ShapeTolerance(hausdorff_m=0.0, area_m2_per_km=0.0),
    )  # fmt: skip
    strict = {f["properties"]["code"]: f["properties"]["change"] for f in exact["features"]}
    assert "reshaped" in strict.values(), strict
