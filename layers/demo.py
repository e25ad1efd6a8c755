"""Loading the demo city into PostGIS as the active generation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.democity import demo_city_cached
from gis.hierarchy import validate_hierarchy
from layers.errors import InvalidState
from layers.grids import create_generation, load_grids, publish_generation
from layers.models import Generation, GenerationStatus
from layers.workcal import SHANGHAI

DEMO_COUNTS = {1: 17, 2: 271, 3: 1558}
# The demo city has been "in force" since this date, so historical lookups have an answer.
DEMO_ACTIVATED_AT = datetime(2024, 1, 1, tzinfo=SHANGHAI)


def demo_generation_name(seed: int) -> str:
    return f"演示城市 demo city (seed {seed})"


def find_demo_generation(*, session: Session, seed: int) -> Generation | None:
    return session.scalar(
        select(Generation).where(
            Generation.name == demo_generation_name(seed),
            Generation.status != GenerationStatus.RETIRED,
        )
    )


def load_demo_city(
    *,
    session: Session,
    seed: int,
    metric_srid: int,
    cache_dir: Path,
    progress: Callable[[str], None] = lambda step: None,
) -> tuple[Generation, bool]:
    """Generate (or reuse from cache), validate, load and publish the demo city.

    Idempotent: returns the existing demo generation if it is already loaded. The second value
    says whether anything was loaded now.
    """
    existing = find_demo_generation(session=session, seed=seed)
    if existing is not None:
        return existing, False
    progress("generate")
    grids = demo_city_cached(seed, cache_dir)
    progress("validate")
    report = validate_hierarchy(grids, metric_srid=metric_srid, expected_counts=DEMO_COUNTS)
    if not report.ok:
        raise InvalidState(
            f"the demo city failed validation ({report.by_kind()}); this is a bug in the "
            "generator — report it with the seed"
        )
    progress("load")
    generation = create_generation(
        session=session, name=demo_generation_name(seed), note="synthetic grids on the real outline"
    )
    load_grids(session=session, generation_id=generation.id, grids=grids, metric_srid=metric_srid)
    progress("publish")
    publish_generation(session=session, generation_id=generation.id, at=DEMO_ACTIVATED_AT)
    return generation, True
