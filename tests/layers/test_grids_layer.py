"""Database rules of the grid backbone, on real PostGIS, each test rolled back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import geopandas as gpd
import pytest
from shapely.geometry import box
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from layers.errors import CodeConflict, GenerationNotFound, InvalidState
from layers.grids import (
    active_generation,
    create_generation,
    load_grids,
    locate_in_postgis,
    publish_generation,
    read_grid_frame,
)


def tiny_city() -> gpd.GeoDataFrame:
    """One town, one village, two unit grids side by side (EPSG:4490)."""
    rows = [
        ("320281001", 1, None, "澄江街道", box(120.0, 31.0, 120.02, 31.01)),
        ("320281001001", 2, "320281001", "甲社区", box(120.0, 31.0, 120.02, 31.01)),
        ("320281001001001", 3, "320281001001", "甲社区第1网格", box(120.0, 31.0, 120.01, 31.01)),
        ("320281001001002", 3, "320281001001", "甲社区第2网格", box(120.01, 31.0, 120.02, 31.01)),
    ]
    return gpd.GeoDataFrame(
        rows, columns=["code", "level", "parent_code", "name", "geometry"], crs=4490
    )


def test_load_computes_areas_in_metres_and_subdivides(db_session) -> None:  # type: ignore[no-untyped-def]
    gen = create_generation(session=db_session, name="tiny")
    assert (
        load_grids(session=db_session, generation_id=gen.id, grids=tiny_city(), metric_srid=4549)
        == 4
    )
    frame = read_grid_frame(session=db_session, generation_id=gen.id)
    town = frame[frame.code == "320281001"].iloc[0]
    # 0.02 deg x 0.01 deg at 31 N: about 1,909 m x 1,109 m
    assert town.area_m2 == pytest.approx(1909 * 1109, rel=0.01)
    parts = db_session.execute(
        text("SELECT count(DISTINCT code) FROM grid_part WHERE generation_id = :g"), {"g": gen.id}
    ).scalar()
    assert parts == 2


def test_shared_edge_goes_to_the_smaller_code_in_postgis(db_session) -> None:  # type: ignore[no-untyped-def]
    gen = create_generation(session=db_session, name="tiny")
    load_grids(session=db_session, generation_id=gen.id, grids=tiny_city(), metric_srid=4549)
    on_edge = locate_in_postgis(session=db_session, generation_id=gen.id, lon=120.01, lat=31.005)
    assert on_edge == "320281001001001"
    assert (
        locate_in_postgis(session=db_session, generation_id=gen.id, lon=120.015, lat=31.005)
        == "320281001001002"
    )
    assert (
        locate_in_postgis(session=db_session, generation_id=gen.id, lon=121.0, lat=31.005) is None
    )


def test_duplicate_code_is_refused(db_session) -> None:  # type: ignore[no-untyped-def]
    gen = create_generation(session=db_session, name="dup")
    frame = tiny_city()
    frame = gpd.GeoDataFrame(
        [*frame.itertuples(index=False), frame.iloc[3].tolist()], columns=frame.columns, crs=4490
    )
    with pytest.raises(CodeConflict, match="already used in this generation"):
        load_grids(session=db_session, generation_id=gen.id, grids=frame, metric_srid=4549)


def test_missing_parent_is_refused_at_commit(db_session) -> None:  # type: ignore[no-untyped-def]
    gen = create_generation(session=db_session, name="orphan")
    frame = tiny_city()
    frame = frame[frame.code != "320281001001"]
    load_grids(session=db_session, generation_id=gen.id, grids=frame, metric_srid=4549)
    with pytest.raises(IntegrityError, match="grid_parent_exists"):
        db_session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))


def test_code_not_prefixed_by_parent_is_refused(db_session) -> None:  # type: ignore[no-untyped-def]
    gen = create_generation(session=db_session, name="prefix")
    frame = tiny_city()
    frame.loc[3, "code"] = "320281004001002"
    with pytest.raises(CodeConflict, match="code followed by 3 digits"):
        load_grids(session=db_session, generation_id=gen.id, grids=frame, metric_srid=4549)


def test_wrong_srid_is_refused_by_the_column(db_session) -> None:  # type: ignore[no-untyped-def]
    gen = create_generation(session=db_session, name="srid")
    with pytest.raises(Exception, match="SRID"):
        db_session.execute(
            text(
                "INSERT INTO grid (generation_id, level, code, name, geom, area_m2) VALUES "
                "(:g, 1, '320281001', 'x', ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 4326)), 1)"
            ),
            {"g": gen.id},
        )


def test_frame_in_wrong_crs_gets_a_fix(db_session) -> None:  # type: ignore[no-untyped-def]
    gen = create_generation(session=db_session, name="crs")
    with pytest.raises(ValueError, match="to_crs"):
        load_grids(
            session=db_session,
            generation_id=gen.id,
            grids=tiny_city().to_crs(4549),
            metric_srid=4549,
        )


def test_publish_retires_the_previous_and_history_answers_by_date(db_session) -> None:  # type: ignore[no-untyped-def]
    db_session.execute(
        text("UPDATE generation SET status = 'retired', retired_at = now() WHERE status = 'active'")
    )
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    first = create_generation(session=db_session, name="first")
    load_grids(session=db_session, generation_id=first.id, grids=tiny_city(), metric_srid=4549)
    publish_generation(session=db_session, generation_id=first.id, at=t0)
    second = create_generation(session=db_session, name="second")
    load_grids(session=db_session, generation_id=second.id, grids=tiny_city(), metric_srid=4549)
    publish_generation(session=db_session, generation_id=second.id, at=t0 + timedelta(days=30))
    assert active_generation(session=db_session).id == second.id
    assert active_generation(session=db_session, at=t0 + timedelta(days=1)).id == first.id
    assert active_generation(session=db_session, at=t0 + timedelta(days=31)).id == second.id
    assert first.status == "retired" and first.retired_at == t0 + timedelta(days=30)
    with pytest.raises(InvalidState):
        publish_generation(session=db_session, generation_id=first.id)
    with pytest.raises(InvalidState):
        load_grids(session=db_session, generation_id=second.id, grids=tiny_city(), metric_srid=4549)
    with pytest.raises(GenerationNotFound):
        active_generation(session=db_session, at=datetime(1999, 1, 1, tzinfo=UTC))


def test_two_active_generations_are_impossible(db_session) -> None:  # type: ignore[no-untyped-def]
    a = create_generation(session=db_session, name="a")
    b = create_generation(session=db_session, name="b")
    db_session.execute(
        text("UPDATE generation SET status = 'retired', retired_at = now() WHERE status = 'active'")
    )
    with pytest.raises(IntegrityError, match="generation_one_active"):
        db_session.execute(
            text(
                "UPDATE generation SET status = 'active', activated_at = now() WHERE id IN (:a, :b)"
            ),
            {"a": a.id, "b": b.id},
        )
