"""Households (一户一档): one file per household, anchored to its unit grid; personal data
masked unless the reader is entitled to it in that grid; every unmasked read audited.

Bulk loads go by COPY; the unit grid is assigned on the way in by ``gis.locate`` (the same
exact ST_Covers rule as PostGIS) and the H3 cell (resolution ``H3_RESOLUTION``) is stored so
counts per grid or per hexagon are one indexed GROUP BY.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd
from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    String,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from gis import hexgrid
from gis.codes import LEVEL_CODE_LENGTH
from gis.crs import SRID_CGCS2000
from gis.locate import GridLocator
from gis.masking import mask_id_number, mask_name, mask_phone
from layers.accounts import in_codes, prefix_sql
from layers.db import Base
from layers.errors import DomainError, InvalidGeometry

H3_RESOLUTION = 10  # ~15,000 m² cells; coarser resolutions are derived with parents_of
FLAGS = ("low_income", "extreme_poverty", "disability", "elderly_alone")
PERSONAL_FIELDS = ("head_name", "head_id_number", "phone", "members")


class HouseholdNotFound(DomainError):
    """No household with that id."""


class Household(Base):
    __tablename__ = "household"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # 户号
    address: Mapped[str] = mapped_column(String(300))
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=SRID_CGCS2000, spatial_index=False))
    grid_code: Mapped[str] = mapped_column(String(15), index=True)
    generation_id: Mapped[int] = mapped_column(Integer)  # the generation that located it
    h3_cell: Mapped[int] = mapped_column(BigInteger, index=True)
    head_name: Mapped[str] = mapped_column(String(100))
    head_id_number: Mapped[str | None] = mapped_column(String(18))
    phone: Mapped[str | None] = mapped_column(String(20))
    members_count: Mapped[int] = mapped_column(SmallInteger)
    members: Mapped[Any | None] = mapped_column(JSONB)  # [{"name", "relation", "birth_year"}]
    low_income: Mapped[bool] = mapped_column(Boolean, server_default="false")  # 低保
    extreme_poverty: Mapped[bool] = mapped_column(Boolean, server_default="false")  # 特困
    disability: Mapped[bool] = mapped_column(Boolean, server_default="false")  # 残疾
    elderly_alone: Mapped[bool] = mapped_column(Boolean, server_default="false")  # 独居老人
    last_visit: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (Index("household_geom_gist", "geom", postgresql_using="gist"),)


class HouseholdAccess(Base):
    """One row per household whose personal data was shown unmasked: who, when, which record."""

    __tablename__ = "household_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    token_id: Mapped[int | None] = mapped_column(Integer)
    person_id: Mapped[int | None] = mapped_column(Integer, index=True)
    household_id: Mapped[int] = mapped_column(Integer, index=True)
    grid_code: Mapped[str] = mapped_column(String(15))
    purpose: Mapped[str] = mapped_column(String(100))


# -- bulk load ---------------------------------------------------------------------------------
COPY_COLUMNS = (
    "code",
    "address",
    "geom",
    "grid_code",
    "generation_id",
    "h3_cell",
    "head_name",
    "head_id_number",
    "phone",
    "members_count",
    "members",
    *FLAGS,
    "last_visit",
)


def locate_households(
    frame: pd.DataFrame, locator: GridLocator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``frame`` (columns lon, lat, ...) into (located with grid_code and h3_cell, outside).

    Points are (lon, lat) in EPSG:4490; those covered by no unit grid are returned apart.
    """
    result = locator.locate(frame["lon"].to_numpy(), frame["lat"].to_numpy())
    inside = np.array([c is not None for c in result.l3])
    located = frame.loc[inside].copy()
    located["grid_code"] = result.l3[inside]
    located["h3_cell"] = hexgrid.cells_of(located["lon"], located["lat"], H3_RESOLUTION).astype(
        np.int64
    )
    return located, frame.loc[~inside]


def copy_households(
    *,
    session: Session,
    frame: pd.DataFrame,
    generation_id: int,
    progress: Callable[[int], None] = lambda n: None,
    chunk: int = 50_000,
) -> int:
    """COPY located households (see ``locate_households``) into the table; returns the count.

    ``progress`` is called with the number of rows written after each chunk.
    """
    raw = session.connection().connection.driver_connection
    cols = ", ".join(COPY_COLUMNS)
    written = 0
    members_json = [m if m is None else orjson.dumps(m).decode() for m in frame["members"]]
    geoms = [
        f"SRID=4490;POINT({x:.7f} {y:.7f})" for x, y in zip(frame["lon"], frame["lat"], strict=True)
    ]
    columns = [
        frame[c].tolist() for c in COPY_COLUMNS if c not in ("geom", "members", "generation_id")
    ]
    names = [c for c in COPY_COLUMNS if c not in ("geom", "members", "generation_id")]
    by_name = dict(zip(names, columns, strict=True))
    with raw.cursor() as cursor, cursor.copy(f"COPY household ({cols}) FROM STDIN") as copy:  # type: ignore[union-attr]
        for i in range(len(frame)):
            copy.write_row(
                tuple(
                    geoms[i]
                    if c == "geom"
                    else members_json[i]
                    if c == "members"
                    else generation_id
                    if c == "generation_id"
                    else by_name[c][i]
                    for c in COPY_COLUMNS
                )
            )
            if (i + 1) % chunk == 0:
                progress(i + 1 - written)
                written = i + 1
    progress(len(frame) - written)
    return len(frame)


def insert_household(
    *, session: Session, values: dict[str, Any], locator: GridLocator, generation_id: int
) -> Household:
    """One household; its point must be inside a unit grid of the city."""
    lon, lat = float(values["lon"]), float(values["lat"])
    code = locator.locate([lon], [lat]).l3[0]
    if code is None:
        raise InvalidGeometry(
            f"point ({lon}, {lat}) is outside every grid of the city; check lon/lat (lon "
            "first, CGCS2000 degrees) or the crs parameter",
            field="lon",
        )
    household = Household(
        code=values["code"],
        address=values["address"],
        geom=f"SRID=4490;POINT({lon} {lat})",
        grid_code=code,
        generation_id=generation_id,
        h3_cell=int(hexgrid.cells_of([lon], [lat], H3_RESOLUTION)[0]),
        head_name=values["head_name"],
        head_id_number=values.get("head_id_number"),
        phone=values.get("phone"),
        members_count=len(values.get("members") or []) + 1,
        members=values.get("members") or [],
        last_visit=values.get("last_visit"),
        **{f: bool(values.get(f, False)) for f in FLAGS},
    )
    session.add(household)
    session.flush()
    return household


# -- counts ------------------------------------------------------------------------------------
def counts_by_grid(
    *, session: Session, level: int = 3, codes: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """Households and flagged households per grid of ``level`` (prefix of the unit grid code),
    of the households inside ``codes`` (grid-code prefixes of a caller's scope; None: city); a
    grid only partly inside (a town, for a village's user) is left out rather than summed."""
    width = LEVEL_CODE_LENGTH[level]
    scope, params = prefix_sql("grid_code", codes)
    # One pass over the table; left() of the unit grid code is its ancestor at that level.
    sql = (
        f"SELECT left(grid_code, {width}) AS code, count(*) AS households, "
        "sum(members_count) AS people, "
        + ", ".join(f"count(*) FILTER (WHERE {f}) AS {f}" for f in FLAGS)
        + f" FROM household WHERE {scope} GROUP BY 1 ORDER BY 1"
    )
    rows = [dict(r._mapping) for r in session.execute(text(sql), params)]
    if codes is None:
        return rows
    return [r for r in rows if in_codes(r["code"], codes)]


def counts_by_h3(
    *,
    session: Session,
    resolution: int,
    bbox: tuple[float, float, float, float] | None = None,
    codes: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """Households per H3 cell at ``resolution`` (<= the stored one), with cell ids in hex."""
    hexgrid.check_resolution(resolution)
    if resolution > H3_RESOLUTION:
        raise ValueError(f"resolution {resolution} is finer than the stored {H3_RESOLUTION}")
    scope, params = prefix_sql("grid_code", codes)  # households inside the caller's scope only
    where = f"WHERE {scope}"
    if bbox is not None:
        where += " AND geom && ST_MakeEnvelope(:w, :s, :e, :n, 4490)"
        params |= dict(zip("wsen", bbox, strict=True))
    rows = session.execute(
        text(f"SELECT h3_cell, count(*) AS n FROM household {where} GROUP BY 1"), params
    ).all()
    if not rows:
        return []
    cells = np.array([r[0] for r in rows], dtype=np.uint64)
    n = np.array([r[1] for r in rows], dtype=np.int64)
    parents = hexgrid.parents_of(cells, resolution) if resolution < H3_RESOLUTION else cells
    totals = pd.Series(n).groupby(parents).sum()
    return [{"cell": hexgrid.cell_hex(int(c)), "households": int(v)} for c, v in totals.items()]


# -- reading with masks ------------------------------------------------------------------------
@dataclass(frozen=True)
class Reader:
    """Who reads: ``grid_codes`` are the grids (any level) whose households they may see."""

    token_id: int | None
    person_id: int | None
    grid_codes: tuple[str, ...]

    def entitled(self, grid_code: str) -> bool:
        return any(grid_code.startswith(c) for c in self.grid_codes)


def _public(h: Household, unmasked: bool) -> dict[str, Any]:
    members = h.members or []
    if not unmasked:
        members = [{**m, "name": mask_name(m.get("name"))} for m in members]
    return {
        "id": h.id,
        "code": h.code,
        "address": h.address,
        "grid_code": h.grid_code,
        "head_name": h.head_name if unmasked else mask_name(h.head_name),
        "head_id_number": h.head_id_number if unmasked else mask_id_number(h.head_id_number),
        "phone": h.phone if unmasked else mask_phone(h.phone),
        "members_count": h.members_count,
        "members": members,
        "flags": [f for f in FLAGS if getattr(h, f)],
        "last_visit": h.last_visit.isoformat() if h.last_visit else None,
        "masked": not unmasked,
    }


def read_households(
    *, session: Session, households: Iterable[Household], reader: Reader, purpose: str
) -> list[dict[str, Any]]:
    """Public dicts, unmasked only where ``reader`` is entitled; each unmasked read audited."""
    out = []
    for h in households:
        unmasked = reader.entitled(h.grid_code)
        if unmasked:
            session.add(
                HouseholdAccess(
                    token_id=reader.token_id,
                    person_id=reader.person_id,
                    household_id=h.id,
                    grid_code=h.grid_code,
                    purpose=purpose,
                )
            )
        out.append(_public(h, unmasked))
    session.flush()
    return out


def get_household(*, session: Session, household_id: int) -> Household:
    found = session.get(Household, household_id)
    if found is None:
        raise HouseholdNotFound(
            f"no household {household_id}; list a grid's households with "
            "/api/v1/households?grid=CODE",
            field="household_id",
        )
    return found


def households_in_grid(
    *, session: Session, grid_code: str, flag: str | None, limit: int, offset: int
) -> tuple[int, list[Household]]:
    stmt = select(Household).where(Household.grid_code.startswith(grid_code, autoescape=True))
    if flag:
        stmt = stmt.where(getattr(Household, flag).is_(True))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Household.id).limit(limit).offset(offset)).all()
    return int(total), list(rows)


def access_log(
    *, session: Session, household_id: int | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    stmt = select(HouseholdAccess).order_by(HouseholdAccess.id.desc()).limit(limit)
    if household_id is not None:
        stmt = stmt.where(HouseholdAccess.household_id == household_id)
    return [
        {
            "id": a.id,
            "at": a.at.isoformat(),
            "token_id": a.token_id,
            "person_id": a.person_id,
            "household_id": a.household_id,
            "grid_code": a.grid_code,
            "purpose": a.purpose,
        }
        for a in session.scalars(stmt)
    ]
