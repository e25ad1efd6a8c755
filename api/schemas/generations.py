"""Request and response schemas of generations, and the planners' settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.deps import RequestBody
from api.schemas.common import Answer
from layers.planning.lineage import ShapeTolerance


class PlanningSettings(BaseSettings):
    """``GRIDGIS_PLANNING_MAX_DROP_SHARE``: the share of the city's area (0-1) an imported
    draft may drop before it is refused unless forced; default 0.01 (1 %).
    ``GRIDGIS_PLANNING_SAME_HAUSDORFF_M`` (default 0.05 m) and
    ``GRIDGIS_PLANNING_SAME_AREA_M2_PER_KM`` (default 5 m² per km of boundary): a grid whose
    Hausdorff distance from its old shape and whose symmetric difference with it (EPSG:4549)
    are both within these is unchanged in comparisons, diffs, lineage, impact and
    re-anchoring (``layers.planning.lineage.ShapeTolerance``)."""

    model_config = SettingsConfigDict(env_prefix="GRIDGIS_PLANNING_", extra="ignore")

    max_drop_share: float = Field(default=0.01, ge=0.0, le=1.0)
    same_hausdorff_m: float = Field(default=0.05, ge=0.0, le=1e3)
    same_area_m2_per_km: float = Field(default=5.0, ge=0.0, le=1e6)

    @property
    def tolerance(self) -> ShapeTolerance:
        return ShapeTolerance(
            hausdorff_m=self.same_hausdorff_m, area_m2_per_km=self.same_area_m2_per_km
        )


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
    owner_scope: str | None = Field(
        default=None,
        description="the scope of the planner who made the draft (city, town:CODE, "
        "village:CODE, user:ID); none: the city's. Only planners whose scope holds it (or "
        "city-wide planners, admins) change it",
    )
    version: int = 1
    owner: str | None = Field(
        default=None, description="the user name of the planner who made it (from created_by)"
    )
    may_change: bool | None = Field(
        default=None,
        description="whether the caller may edit, submit, approve or publish it "
        "(layers.planning.scope.owned_by on owner_scope; false for readers without a "
        "planner's role); /plan greys out the actions it may not take",
    )


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
    emergency: StrictBool = Field(
        default=False,
        description="admin only, now only: publish a draft that was not approved; the review "
        "log marks it unreviewed",
    )
    revert_newer: StrictBool = Field(
        default=False,
        description="publish although generations published since the draft's base changed "
        "grids it would revert (newer_publications in the dry run); logged with the reason",
    )


class ReviewAnswer(GenerationPublic):
    """A review step's answer: the generation and, for a draft copied from a generation that is
    no longer in force, ``newer_publications`` (the generations published since its base and
    the grids its publication would revert or override; null otherwise)."""

    newer_publications: dict[str, Any] | None = None


class NewerAnswer(Answer):
    """Whether a draft is behind the generation in force (``GET …/{id}/newer``): ``behind``,
    and ``newer_publications`` as the publish dry run names them (with ``changed_since``, the
    grids the newer publications changed), null when it is on the generation in force."""

    behind: bool
    newer_publications: dict[str, Any] | None = None


class RebaseRequest(RequestBody):
    """How to settle the conflicts of an imported draft's three-way rebase, and why (optional
    body)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(
        default=None, max_length=10_000, description="why (logged in the new draft's review log)"
    )

    prefer: Literal["draft", "active"] | None = Field(
        default=None, description="the version kept for every conflict not in choices"
    )
    choices: dict[Annotated[str, Field(pattern=r"^[0-9]{9,15}$")], Literal["draft", "active"]] = (
        Field(default_factory=dict, max_length=10_000, description='{"CODE": "draft"|"active"}')
    )


class RebaseAnswer(Answer):
    """A rebased draft: the new ``generation`` (a copy of the one in force, ``base``) holding
    the ``edits`` replayed from draft ``rebased_from``. An imported draft (``mode``
    ``three-way``, ``edits`` 0) also names its ``imported_base``, the grids taken
    ``from_active``, those ``kept_draft``, the ``conflicts`` with the side ``chosen`` and
    the ``validation``."""

    generation: GenerationPublic
    rebased_from: int
    base: int
    edits: int
    mode: str = "replay"
    imported_base: int | None = None
    from_active: list[str] | None = None
    kept_draft: list[str] | None = None
    conflicts: list[dict[str, Any]] | None = None
    validation: dict[str, Any] | None = None


class DraftCreated(Answer):
    """A new draft (``POST /api/v1/generations``): the generation, the comparison with the
    active generation (``comparison.tolerance``: what counts as unchanged), the validation,
    whether it can be published, and for a file the read's report (``file``, left out for a
    copy; a copy has ``counts`` per level instead)."""

    generation: GenerationPublic
    comparison: dict[str, Any]
    validation: dict[str, Any]
    publishable: bool
    file: dict[str, Any] | None = None


class PublishAnswer(Answer):
    """A publication or its dry run. Always: ``dry_run``, ``generation`` (the one asked for;
    after a committed rollback the new copy), ``rollback``, ``effective_at``, ``scheduled``,
    ``replaces`` ({id, name} of the generation in force, null if none), ``validation``,
    ``comparison`` (null if nothing is in force), ``impact``, ``message``. Only when they mean
    something: ``rollback_of`` (a rollback's retired generation), ``published`` (committed:
    the id that is or will be active), ``reanchor`` (committed and in force now)."""

    dry_run: bool
    generation: int
    rollback: bool
    effective_at: str
    scheduled: bool
    replaces: dict[str, Any] | None
    validation: dict[str, Any]
    comparison: dict[str, Any] | None
    impact: Any
    message: str
