"""Loading the demo city into PostGIS as the active generation."""

from __future__ import annotations

import re
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


DEMO_NAMES = {"zh": "演示城市 · 种子 {seed}", "en": "Demo city · seed {seed}"}
"""The demo generation's name per language: stored in Chinese, shown in English on en pages."""
_DEMO_NAME = re.compile(r"^(?:演示城市 · 种子 (\d+)|演示城市 demo city \(seed (\d+)\))$")
"""The demo name now, or as stored before 2026-12 (both languages in one name)."""


def demo_generation_name(seed: int) -> str:
    """The stored name of the demo generation of ``seed`` (Chinese, one language)."""
    return DEMO_NAMES["zh"].format(seed=seed)


def legacy_demo_generation_name(seed: int) -> str:
    """The name the demo generation was stored under before (zh and en in one string)."""
    return f"演示城市 demo city (seed {seed})"


def generation_names(name: str) -> dict[str, str]:
    """A generation's name per page language ``{"zh": ..., "en": ...}``: the demo generation's
    (current or legacy stored name) in each language, any other name as stored in both (a
    planner's own name, one language)."""
    found = _DEMO_NAME.match(name or "")
    if not found:
        return {"zh": name, "en": name}
    seed = int(found.group(1) or found.group(2))
    return {lang: text.format(seed=seed) for lang, text in DEMO_NAMES.items()}


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
        .where(Generation.name.in_([demo_generation_name(seed), legacy_demo_generation_name(seed)]))
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
