"""Response schemas of staff, households, devices and the market register (双随机)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.schemas.common import Answer, Listing


class DevicePublic(Answer):
    id: int
    external_id: str
    label: str | None
    active: bool
    has_secret: bool
    speed_unit: str
    person: dict[str, Any] | None


class DeviceCreated(DevicePublic):
    secret: str | None = Field(description="shown only now")


class DevicesPublic(Answer):
    data: list[DevicePublic]
    count: int


class DeviceSecret(Answer):
    id: int
    secret: str


class HouseholdCounts(Listing):
    by: str = Field(description="grid or h3")


class HouseholdCreated(Answer):
    id: int
    code: str | None
    grid_code: str | None


class HouseholdPublic(Answer):
    """One household, names and numbers masked unless the caller is entitled."""

    id: int


class StaffImportReport(Answer):
    """The roster import's validation report by row and column."""

    rows: int
    imported_rows: int = Field(description="rows stored; 0 in a dry run")
    would_import: int = Field(
        description="the good rows: what the import stores (or stored) without dry_run"
    )
    dry_run: bool = Field(description="true: nothing was stored")


class Responsible(Answer):
    grid: dict[str, Any] | None
    staff: list[dict[str, Any]]
    by_role: dict[str, Any]
    zone: dict[str, Any] | None
    squad: dict[str, Any] | None


class EntityCreated(Answer):
    id: int
    credit_code: str
    grid_code: str | None


class DrawPublic(Answer):
    """A 双随机 draw with its targets and inspectors, re-verified."""

    id: int
    title: str
    created_at: str
    seed: Any
    digest: str


class DrawVerified(Answer):
    id: int
    reproduced: bool
    digest: str


class DrawRecord(Answer):
    """Everything needed to re-run a draw elsewhere (``gridgis draws rerun FILE``)."""

    id: int
    title: str
    created_at: str
    seed: Any
    inputs: dict[str, Any]
    result: dict[str, Any]
    digest: str
