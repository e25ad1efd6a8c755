"""Restarting the demo after a publication must not undo the planners' work (issue 10)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.settings import PROJECT_DIR
from layers.demo import load_demo_city
from layers.grids import create_generation
from layers.models import Generation, GenerationStatus


def _reload(session: Session) -> tuple[Generation, bool]:
    return load_demo_city(
        session=session, seed=320281, metric_srid=4549,
        cache_dir=PROJECT_DIR / ".gridgis" / "cache",
    )  # fmt: skip


def test_demo_never_reloads_after_a_publication(db_session: Session, demo_generation: int) -> None:
    published = create_generation(session=db_session, name="planners' city", note="published")
    now = datetime.now(UTC)
    db_session.execute(
        update(Generation)
        .where(Generation.status == GenerationStatus.ACTIVE)
        .values(status=GenerationStatus.RETIRED, retired_at=now)
    )
    published.status = GenerationStatus.ACTIVE
    published.activated_at = now
    db_session.flush()
    count = db_session.scalar(select(func.count()).select_from(Generation))

    generation, loaded = _reload(db_session)

    assert loaded is False
    assert generation.id == published.id
    assert db_session.scalar(select(func.count()).select_from(Generation)) == count
    active = db_session.scalars(
        select(Generation.id).where(Generation.status == GenerationStatus.ACTIVE)
    ).all()
    assert active == [published.id]
    demo = db_session.get(Generation, demo_generation)
    assert demo is not None and demo.status is GenerationStatus.RETIRED


def test_demo_keeps_the_active_generation_when_it_exists(
    db_session: Session, demo_generation: int
) -> None:
    generation, loaded = _reload(db_session)
    assert loaded is False
    assert generation.status is GenerationStatus.ACTIVE
