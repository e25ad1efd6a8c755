"""Enforcement zones (执法片区): each a set of whole grids of one town, served by one squad.

A zone stores its member grid *codes* (unit grids or whole villages); its geometry is never
stored but derived from the member grids of the generation asked for (``ST_Union`` in
PostGIS), so it stays consistent when grids change.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import ForeignKey, Integer, String, delete, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from gis.zoning import TilingReport, check_zone_tiling
from layers.db import Base
from layers.errors import DomainError, GridNotFound
from layers.people import Team
from layers.unit_names import names_in_force


class ZoneInvalid(DomainError):
    """A zoning that leaves a gap, overlaps, or lists grids outside its town."""


class EnforcementZone(Base):
    __tablename__ = "enforcement_zone"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # e.g. 320281104-Z2
    name: Mapped[str] = mapped_column(String(100))
    town_code: Mapped[str] = mapped_column(String(9), index=True)
    squad_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))


class ZoneMember(Base):
    """A grid (any level under the town: a village stands for all its unit grids)."""

    __tablename__ = "zone_member"

    zone_id: Mapped[int] = mapped_column(
        ForeignKey("enforcement_zone.id", ondelete="CASCADE"), primary_key=True
    )
    grid_code: Mapped[str] = mapped_column(String(15), primary_key=True)


def town_unit_grids(*, session: Session, generation_id: int, town_code: str) -> list[str]:
    rows = session.execute(
        text(
            "SELECT code FROM grid WHERE generation_id = :g AND level = 3 "
            "AND left(parent_code, length(:town)) = :town ORDER BY code"  # a prefix, no LIKE
        ),
        {"g": generation_id, "town": town_code},
    ).scalars()
    return list(rows)


def check_town_zoning(
    *, session: Session, generation_id: int, town_code: str, zones: dict[str, list[str]]
) -> TilingReport:
    """Check a proposed zoning (zone code -> member codes) of ``town_code`` against the grids."""
    if town_code not in _town_codes(session=session, generation_id=generation_id):
        raise GridNotFound(
            f"no town {town_code} in generation {generation_id}; towns are level-1 grid codes",
            field="town_code",
        )
    unit_grids = town_unit_grids(session=session, generation_id=generation_id, town_code=town_code)
    return check_zone_tiling(town_code, unit_grids, zones)


def _town_codes(*, session: Session, generation_id: int) -> set[str]:
    return set(
        session.execute(
            text("SELECT code FROM grid WHERE generation_id = :g AND level = 1"),
            {"g": generation_id},
        ).scalars()
    )


def stored_zoning(*, session: Session, town_code: str) -> dict[str, list[str]]:
    rows = session.execute(
        select(EnforcementZone.code, ZoneMember.grid_code)
        .join(ZoneMember, ZoneMember.zone_id == EnforcementZone.id)
        .where(EnforcementZone.town_code == town_code)
        .order_by(EnforcementZone.code, ZoneMember.grid_code)
    ).all()
    out: dict[str, list[str]] = {}
    for code, grid in rows:
        out.setdefault(code, []).append(grid)
    for zone in session.scalars(
        select(EnforcementZone.code).where(EnforcementZone.town_code == town_code)
    ):
        out.setdefault(zone, [])
    return out


def replace_town_zoning(
    *,
    session: Session,
    generation_id: int,
    town_code: str,
    zones: list[dict[str, Any]],
) -> TilingReport:
    """Replace the zones of a town with ``zones`` (dicts: code, name, members, squad_id?).

    Refused with ``ZoneInvalid`` (nothing written) unless they tile the town exactly.
    """
    by_code = {z["code"]: list(z["members"]) for z in zones}
    if len(by_code) != len(zones):
        raise ZoneInvalid("two zones share a code; give each zone its own code", field="zones")
    report = check_town_zoning(
        session=session, generation_id=generation_id, town_code=town_code, zones=by_code
    )
    if not report.ok:
        raise ZoneInvalid(
            f"the zones do not tile town {town_code}: {report.summary()}",
            field="zones",
            extra={"problems": [p.as_dict() for p in report.problems]},
        )
    session.execute(delete(EnforcementZone).where(EnforcementZone.town_code == town_code))
    for z in zones:
        squad_id = z.get("squad_id")
        if squad_id is not None and session.get(Team, squad_id) is None:
            raise ZoneInvalid(f"no team {squad_id}; list teams at /api/v1/teams", field="squad_id")
        zone = EnforcementZone(
            code=z["code"], name=z["name"], town_code=town_code, squad_id=squad_id
        )
        session.add(zone)
        session.flush()
        for member in sorted(set(z["members"])):
            session.add(ZoneMember(zone_id=zone.id, grid_code=member))
    session.flush()
    return report


# Zone geometry from the member grids of one generation: a member code stands for the unit
# grids whose code starts with it. The unit grids share identical vertices (one noding), so
# ST_Union dissolves them exactly; the union is small (3-4 zones a town) and cheap.
# ``member_count`` is the number of member codes as stored (villages or unit grids);
# ``grid_count`` the unit grids they stand for; ``squad_members`` the squad's size.
_ZONE_SQL = """
SELECT z.id, z.code, z.name, z.town_code, z.squad_id, t.name AS squad_name,
       count(DISTINCT m.grid_code) AS member_count,
       (SELECT count(*) FROM team_member tm WHERE tm.team_id = z.squad_id) AS squad_members,
       count(g.code) AS grid_count, sum(g.area_m2) AS area_m2,
       ST_AsGeoJSON({geom}, 7, 0) AS gj
FROM enforcement_zone z
JOIN zone_member m ON m.zone_id = z.id
JOIN grid g ON g.generation_id = :g AND g.level = 3 AND left(g.code, length(m.grid_code)) =
     m.grid_code
LEFT JOIN team t ON t.id = z.squad_id
WHERE {where}
GROUP BY z.id, t.name
{having}
ORDER BY z.code
"""


def zone_features(
    *,
    session: Session,
    generation_id: int,
    town_code: str | None = None,
    code: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    simplify_m: float | None = None,
) -> list[dict[str, Any]]:
    """GeoJSON features of the zones, geometry = union of the member unit grids (EPSG:4490).

    ``bbox`` (west, south, east, north; degrees) keeps the zones whose union intersects it;
    ``simplify_m`` simplifies the union (topology kept) by about that many metres.
    """
    clauses = ["true"]
    params: dict[str, Any] = {"g": generation_id}
    if town_code:
        clauses.append("z.town_code = :town")
        params["town"] = town_code
    if code:
        clauses.append("z.code = :code")
        params["code"] = code
    having = ""
    if bbox is not None:
        # Zones are few (3-4 a town): filtering the unions after grouping is cheap enough.
        having = "HAVING ST_Intersects(ST_Union(g.geom), ST_MakeEnvelope(:w, :s, :e, :n, 4490))"
        params.update(dict(zip("wsen", bbox, strict=True)))
    geom = "ST_Union(g.geom)"
    if simplify_m:
        geom = "ST_SimplifyPreserveTopology(ST_Union(g.geom), :tol)"
        params["tol"] = simplify_m / 111_000.0  # metres to degrees at the city's latitude
    sql = _ZONE_SQL.format(geom=geom, where=" AND ".join(clauses), having=having)
    rows = session.execute(text(sql), params).all()
    # town names by the one naming rule (layers/unit_names.py), not a fixed table
    towns = names_in_force(session=session, codes=[r.town_code for r in rows])
    return [
        {
            "type": "Feature",
            "id": r.code,
            "geometry": orjson.loads(r.gj),
            "properties": {
                "code": r.code,
                "name": r.name,
                "town_code": r.town_code,
                "town_name": towns.get(r.town_code, r.town_code),
                "squad_id": r.squad_id,
                "squad_name": r.squad_name,
                "squad_members": int(r.squad_members),
                "member_count": int(r.member_count),
                "grid_count": int(r.grid_count),
                "area_m2": round(float(r.area_m2), 1),
            },
        }
        for r in rows
    ]


def zone_of_grid(*, session: Session, grid_code: str) -> EnforcementZone | None:
    """The zone containing a unit grid (by its code or an ancestor's), if any."""
    return session.scalar(
        select(EnforcementZone)
        .join(ZoneMember, ZoneMember.zone_id == EnforcementZone.id)
        .where(text("left(:c, length(zone_member.grid_code)) = zone_member.grid_code"))
        .params(c=grid_code)
        .limit(1)
    )


def validate_all_towns(*, session: Session, generation_id: int) -> dict[str, TilingReport]:
    """The tiling check of every town's stored zones."""
    return {
        town: check_town_zoning(
            session=session,
            generation_id=generation_id,
            town_code=town,
            zones=stored_zoning(session=session, town_code=town),
        )
        for town in sorted(_town_codes(session=session, generation_id=generation_id))
    }
