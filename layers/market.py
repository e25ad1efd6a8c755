"""Market entities and 双随机 inspection draws, recorded immutably.

A draw records its seed, its filter, the exact candidate lists and conflict pairs it used and
its result, plus a SHA-256 of all of it; the table refuses UPDATE and DELETE (trigger in the
migration), so anyone can re-run ``gis.sampling.draw`` on the record and check the answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from geoalchemy2 import Geometry
from sqlalchemy import Boolean, DateTime, Integer, String, Text, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from gis.crs import SRID_CGCS2000
from gis.sampling import DrawImpossible, draw
from layers.db import Base
from layers.errors import DomainError
from layers.people import GridAssignment, StaffRole

CATEGORIES = (
    "food",
    "retail",
    "catering",
    "manufacturing",
    "pharmacy",
    "construction",
    "hazardous_chemicals",
    "other",
)


class DrawInvalid(DomainError):
    """A draw that cannot be made as asked (too few candidates, unknown filter)."""


class DrawNotFound(DomainError):
    """No draw with that id."""


class MarketEntity(Base):
    __tablename__ = "market_entity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=SRID_CGCS2000, spatial_index=False))
    grid_code: Mapped[str] = mapped_column(String(15), index=True)
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")


class InspectionDraw(Base):
    __tablename__ = "inspection_draw"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    seed: Mapped[str] = mapped_column(Text)
    inputs: Mapped[Any] = mapped_column(JSONB)  # filter, counts, candidates, inspectors, conflicts
    result: Mapped[Any] = mapped_column(JSONB)
    digest: Mapped[str] = mapped_column(String(64))


def _digest(seed: str, inputs: dict[str, Any], result: dict[str, Any]) -> str:
    blob = orjson.dumps(
        {"seed": seed, "inputs": inputs, "result": result}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(blob).hexdigest()


def run_draw(
    *,
    session: Session,
    title: str,
    seed: str,
    n_targets: int,
    inspectors_per_target: int,
    area_code: str | None,
    category: str | None,
    created_by: str,
) -> InspectionDraw:
    """Filter the register (area = grid code prefix, category), take the patrollers and
    supervisors of the roster as inspectors, exclude inspectors assigned to a target's own
    grid (or an ancestor of it), draw and record."""
    if category is not None and category not in CATEGORIES:
        raise DrawInvalid(
            f"unknown category {category!r}; use one of {', '.join(CATEGORIES)}", field="category"
        )
    stmt = select(MarketEntity.id, MarketEntity.grid_code).where(MarketEntity.active.is_(True))
    if area_code:
        stmt = stmt.where(MarketEntity.grid_code.startswith(area_code, autoescape=True))
    if category:
        stmt = stmt.where(MarketEntity.category == category)
    targets = {i: g for i, g in session.execute(stmt)}
    roles = (StaffRole.PATROLLER, StaffRole.SUPERVISOR)
    rows = session.execute(
        select(GridAssignment.person_id, GridAssignment.grid_code).where(
            GridAssignment.role.in_(roles), GridAssignment.valid_to.is_(None)
        )
    ).all()
    inspector_grids: dict[int, set[str]] = {}
    for pid, code in rows:
        inspector_grids.setdefault(pid, set()).add(code)
    if area_code:  # inspectors of the area's town (town enforcement bureau)
        town = area_code[:9]
        inspector_grids = {
            p: c for p, c in inspector_grids.items() if any(x.startswith(town) for x in c)
        }
    conflicts = {
        t: {p for p, codes in inspector_grids.items() if any(g.startswith(c) for c in codes)}
        for t, g in targets.items()
    }
    try:
        result = draw(
            seed=seed,
            target_ids=list(targets),
            inspector_ids=list(inspector_grids),
            n_targets=n_targets,
            inspectors_per_target=inspectors_per_target,
            conflicts=conflicts,
        )
    except DrawImpossible as exc:
        raise DrawInvalid(str(exc), field="n_targets") from None
    inputs = {
        "filter": {"area_code": area_code, "category": category},
        "n_targets": n_targets,
        "inspectors_per_target": inspectors_per_target,
        "target_ids": sorted(targets),
        "inspector_ids": sorted(inspector_grids),
        "conflicts": {str(t): sorted(c) for t, c in sorted(conflicts.items()) if c},
    }
    out = {
        "targets": result.targets,
        "assignments": {str(k): v for k, v in result.assignments.items()},
    }
    record = InspectionDraw(
        title=title,
        seed=seed,
        inputs=inputs,
        result=out,
        digest=_digest(seed, inputs, out),
        created_by=created_by,
    )
    session.add(record)
    session.flush()
    return record


def rerun_draw(seed: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The result the recorded ``seed`` and ``inputs`` give (``gis.sampling.draw`` again);
    needs no database, so a downloaded record can be checked anywhere."""
    again = draw(
        seed=seed,
        target_ids=inputs["target_ids"],
        inspector_ids=inputs["inspector_ids"],
        n_targets=inputs["n_targets"],
        inspectors_per_target=inputs["inspectors_per_target"],
        conflicts={int(k): set(v) for k, v in inputs["conflicts"].items()},
    )
    return {
        "targets": again.targets,
        "assignments": {str(k): v for k, v in again.assignments.items()},
    }


def check_record(record: Mapping[str, Any]) -> bool:
    """True when a draw record (dict: seed, inputs, result, digest) re-runs to its own result
    and its digest matches."""
    out = rerun_draw(record["seed"], record["inputs"])
    return (
        out == record["result"]
        and _digest(record["seed"], record["inputs"], out) == record["digest"]
    )


def draw_record(record: InspectionDraw) -> dict[str, Any]:
    """Everything needed to re-run a draw elsewhere (``gridgis draws rerun FILE``)."""
    return {
        "id": record.id,
        "title": record.title,
        "created_at": record.created_at.isoformat(),
        "seed": record.seed,
        "inputs": record.inputs,
        "result": record.result,
        "digest": record.digest,
    }


def verify_draw(record: InspectionDraw) -> bool:
    """Re-run the recorded draw: True when it gives the recorded result and digest."""
    return check_record(draw_record(record))


def get_draw(*, session: Session, draw_id: int) -> InspectionDraw:
    found = session.get(InspectionDraw, draw_id)
    if found is None:
        raise DrawNotFound(f"no draw {draw_id}; list draws at /api/v1/draws", field="draw_id")
    return found


def draw_details(*, session: Session, record: InspectionDraw) -> dict[str, Any]:
    ids = record.result["targets"]
    entities = {
        e.id: e for e in session.scalars(select(MarketEntity).where(MarketEntity.id.in_(ids)))
    }
    people: dict[int, str] = dict(
        session.execute(
            text("SELECT id, name FROM person WHERE id = ANY(:ids)"),
            {"ids": sorted({p for v in record.result["assignments"].values() for p in v})},
        ).all()
    )
    return {
        "id": record.id,
        "title": record.title,
        "created_at": record.created_at.isoformat(),
        "created_by": record.created_by,
        "seed": record.seed,
        "digest": record.digest,
        "filter": record.inputs["filter"],
        "candidates": len(record.inputs["target_ids"]),
        "inspector_pool": len(record.inputs["inspector_ids"]),
        "verified": verify_draw(record),
        "targets": [
            {
                "id": t,
                "name": entities[t].name,
                "credit_code": entities[t].credit_code,
                "category": entities[t].category,
                "grid_code": entities[t].grid_code,
                "inspectors": [
                    {"person_id": p, "name": people.get(p)}
                    for p in record.result["assignments"][str(t)]
                ],
            }
            for t in ids
        ],
    }
