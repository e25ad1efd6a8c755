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
from layers.planning.drafts import kinds_text
from layers.workcal import SHANGHAI

DEMO_COUNTS = {1: 17, 2: 271, 3: 1558}
# The demo city has been "in force" since this date, so historical lookups have an answer.
DEMO_ACTIVATED_AT = datetime(2024, 1, 1, tzinfo=SHANGHAI)


def demo_generation_name(seed: int) -> str:
    return f"演示城市 demo city (seed {seed})"


def find_demo_generation(*, session: Session, seed: int) -> Generation | None:
    """The generation the demo should use when any generation exists, else None.

    Once a city is stored (the demo, an import, a planner's draft or publication, whatever its
    status) the demo never loads the city again and never changes which generation is active:
    this answers the active generation, else the demo generation of ``seed`` (any status), else
    the newest generation.
    """
    active = session.scalar(select(Generation).where(Generation.status == GenerationStatus.ACTIVE))
    if active is not None:
        return active
    by_name = session.scalar(
        select(Generation)
        .where(Generation.name == demo_generation_name(seed))
        .order_by(Generation.id.desc())
        .limit(1)
    )
    if by_name is not None:
        return by_name
    return session.scalar(select(Generation).order_by(Generation.id.desc()).limit(1))


def load_demo_city(
    *,
    session: Session,
    seed: int,
    metric_srid: int,
    cache_dir: Path,
    progress: Callable[[str], None] = lambda step: None,
) -> tuple[Generation, bool]:
    """Generate (or reuse from cache), validate, load and publish the demo city.

    Loads only into an empty database: when any generation exists (whatever its status, e.g.
    after planners published their own city) nothing is loaded or activated and the generation
    of :func:`find_demo_generation` is returned. The second value says whether anything was
    loaded now.
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
            f"the demo city failed validation ({kinds_text(report.by_kind())}); this is a bug "
            "in the generator — report it with the seed"
        )
    progress("load")
    generation = create_generation(
        session=session, name=demo_generation_name(seed), note="synthetic grids on the real outline"
    )
    load_grids(session=session, generation_id=generation.id, grids=grids, metric_srid=metric_srid)
    progress("publish")
    publish_generation(session=session, generation_id=generation.id, at=DEMO_ACTIVATED_AT)
    return generation, True
