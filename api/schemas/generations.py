"""Request and response schemas of generations, and the planners' settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.deps import RequestBody


class PlanningSettings(BaseSettings):
    """``GRIDGIS_PLANNING_MAX_DROP_SHARE``: the share of the city's area (0-1) an imported
    draft may drop before it is refused unless forced; default 0.01 (1 %)."""

    model_config = SettingsConfigDict(env_prefix="GRIDGIS_PLANNING_", extra="ignore")

    max_drop_share: float = Field(default=0.01, ge=0.0, le=1.0)


class GenerationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    status: str
    note: str | None
    created_at: datetime
    activated_at: datetime | None
    retired_at: datetime | None
    effective_at: datetime | None = None
    created_from: int | None = None
    created_by: str | None = None
    version: int = 1


class GenerationsPublic(BaseModel):
    data: list[GenerationPublic]
    count: int


class DraftFromGeneration(RequestBody):
    """A draft copied from the active generation or from any generation by id."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    from_: (
        Annotated[StrictInt, Field(ge=1, le=2**31 - 1)] | Annotated[str, Field(max_length=20)]
    ) = Field(default="active", alias="from", description='"active" or an id')
    name: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=10_000)


class DraftPatch(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=10_000)
    version: StrictInt | None = Field(
        default=None, ge=0, le=2**31 - 1, description="the version read (or If-Match)"
    )


class ReviewStep(RequestBody):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=10_000)
    version: StrictInt | None = Field(
        default=None, ge=0, le=2**31 - 1, description="the version read (or If-Match)"
    )


class PublishRequest(RequestBody):
    model_config = ConfigDict(extra="forbid")

    commit: StrictBool = Field(default=False, description="false: dry run, nothing changes")
    reason: str = Field(min_length=1, max_length=10_000)
    at: str | None = Field(
        default=None, max_length=40, description="effective time (ISO 8601); default now"
    )
    version: StrictInt | None = Field(
        default=None, ge=0, le=2**31 - 1, description="the version read (or If-Match)"
    )
