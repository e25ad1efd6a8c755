"""Grid generations: list and read (publishing is a planner's CLI/API operation)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Reader, SessionDep
from api.schemas.generations import GenerationPublic, GenerationsPublic
from layers.grids import get_generation, list_generations

router = APIRouter(prefix="/api/v1/generations", tags=["generations"])


@router.get("", response_model=GenerationsPublic)
def read_generations(session: SessionDep, _: Reader) -> GenerationsPublic:
    rows = list_generations(session=session)
    return GenerationsPublic(
        data=[GenerationPublic.model_validate(g) for g in rows], count=len(rows)
    )


@router.get("/{generation_id}", response_model=GenerationPublic)
def read_generation(generation_id: int, session: SessionDep, _: Reader) -> GenerationPublic:
    return GenerationPublic.model_validate(
        get_generation(session=session, generation_id=generation_id)
    )
