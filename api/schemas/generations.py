"""Response schemas of generations."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class GenerationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    status: str
    note: str | None
    created_at: datetime
    activated_at: datetime | None
    retired_at: datetime | None


class GenerationsPublic(BaseModel):
    data: list[GenerationPublic]
    count: int
