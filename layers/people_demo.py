"""Demo people and places for the demo city: the roster (一长五员 in every unit grid, the 7
city teams, each town's squads), 3-4 enforcement zones per town, households and market
entities. Deterministic by seed; every step is idempotent (skipped when its data is there)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from gis import demopeople
from gis.codes import JIANGYIN_TOWNS
from gis.creditcode import ALPHABET, make_code
from gis.demohouseholds import synthesize_households
from gis.locate import GridLocator
from layers.grids import read_grid_frame
from layers.households import Household, copy_households, locate_households
from layers.market import CATEGORIES, MarketEntity
from layers.people import GridAssignment, Person, StaffRole, Team, TeamKind, TeamMember
from layers.zones import replace_town_zoning

CITY_TEAMS = (
    "市场监管综合执法大队",
    "交通运输综合执法大队",
    "农业农村综合执法大队（农林水）",
    "城市管理综合执法大队",
    "生态环境综合执法大队",
    "文化市场综合执法大队",
    "应急管理综合执法大队",
)
CITY_TEAM_SIZE = 20
PATROLLERS_PER_SQUAD = 6
SUPERVISORS_PER_TOWN = 3
GRIDS_PER_INFORMANT = 3
VILLAGES_PER_LIAISON = 2
DEMO_VALID_FROM = date(2024, 1, 1)
CATEGORY_ZH = {
    "food": "食品",
    "retail": "商贸",
    "catering": "餐饮",
    "manufacturing": "制造",
    "pharmacy": "医药",
    "construction": "建设工程",
    "hazardous_chemicals": "化工",
    "other": "服务",
}


def _zone_groups(villages: pd.DataFrame, town_point: tuple[float, float]) -> list[list[str]]:
    """3 or 4 groups of whole villages: sectors by bearing from the town's centre."""
    k = 4 if len(villages) >= 16 else 3
    cx, cy = town_point
    pts = shapely.point_on_surface(villages.geometry.values)
    angle = np.arctan2(shapely.get_y(pts) - cy, shapely.get_x(pts) - cx)
    order = np.argsort(angle)
    codes = villages["code"].to_numpy()[order]
    return [list(part) for part in np.array_split(codes, k)]


def load_demo_people(*, session: Session, generation_id: int, seed: int) -> dict[str, int]:
    """Teams, staff and zones (skipped if any staff exists); returns counts of what was made."""
    if session.scalar(select(func.count()).select_from(Person)):
        return {}
    rng = np.random.default_rng(seed + 3)
    frame = read_grid_frame(session=session, generation_id=generation_id)
    towns = frame[frame.level == 1]
    villages = frame[frame.level == 2]
    units = frame[frame.level == 3]
    people: list[dict[str, Any]] = []
    assignments: list[tuple[int, str, StaffRole]] = []  # (person index, grid code, role)
    members: list[tuple[str, int, bool]] = []  # (team name, person index, leader)
    teams: list[dict[str, Any]] = [
        {"name": n, "kind": TeamKind.CITY_TEAM, "town_code": None} for n in CITY_TEAMS
    ]

    def person(town: str | None) -> int:
        people.append({"town_code": town})
        return len(people) - 1

    for name in CITY_TEAMS:
        for i in range(CITY_TEAM_SIZE):
            members.append((name, person(None), i == 0))
    zones: dict[str, list[dict[str, Any]]] = {}
    for town in towns.itertuples():
        t_villages = villages[villages.parent_code == town.code]
        centre = town.geometry.representative_point()
        groups = _zone_groups(t_villages, (centre.x, centre.y))
        town_name = JIANGYIN_TOWNS.get(town.code, town.code)
        for z, group in enumerate(groups, start=1):
            squad = f"{town_name}综合执法局第{z}中队"
            teams.append({"name": squad, "kind": TeamKind.TOWN_SQUAD, "town_code": town.code})
            zones.setdefault(town.code, []).append(
                {
                    "code": f"{town.code}-Z{z}",
                    "name": f"{town_name}第{z}执法片区",
                    "members": group,
                    "squad": squad,
                }
            )
            for i in range(PATROLLERS_PER_SQUAD):
                p = person(town.code)
                members.append((squad, p, i == 0))
                assignments.extend((p, v, StaffRole.PATROLLER) for v in group)
        for _ in range(SUPERVISORS_PER_TOWN):
            assignments.append((person(town.code), town.code, StaffRole.SUPERVISOR))
        v_codes = list(t_villages["code"])
        for i in range(0, len(v_codes), VILLAGES_PER_LIAISON):
            p = person(town.code)
            assignments.extend(
                (p, v, StaffRole.LIAISON) for v in v_codes[i : i + VILLAGES_PER_LIAISON]
            )
        for v in v_codes:
            assignments.append((person(town.code), v, StaffRole.GRID_CHIEF))
            grids = list(units.loc[units.parent_code == v, "code"])
            for g in grids:
                assignments.append((person(town.code), g, StaffRole.GRID_WORKER))
            for i in range(0, len(grids), GRIDS_PER_INFORMANT):
                p = person(town.code)
                assignments.extend(
                    (p, g, StaffRole.INFORMANT) for g in grids[i : i + GRIDS_PER_INFORMANT]
                )
    n = len(people)
    ids: list[str] = []
    seen: set[str] = set()
    while len(ids) < n:  # ID numbers are unique: draw until there are enough distinct ones
        for value in demopeople.id_numbers(n, rng, born_from=date(1962, 1, 1), span_days=14000):
            if value not in seen and len(ids) < n:
                seen.add(value)
                ids.append(value)
    for row, name, idn, phone in zip(
        people, demopeople.names(n, rng), ids, demopeople.mobiles(n, rng), strict=True
    ):
        row.update(name=name, id_number=idn, phone=phone)
    person_ids = list(
        session.scalars(insert(Person).returning(Person.id, sort_by_parameter_order=True), people)
    )
    team_ids = {
        t["name"]: tid
        for t, tid in zip(
            teams,
            session.scalars(insert(Team).returning(Team.id, sort_by_parameter_order=True), teams),
            strict=True,
        )
    }
    session.execute(
        insert(TeamMember),
        [
            {"team_id": team_ids[t], "person_id": person_ids[p], "leader": lead}
            for t, p, lead in members
        ],
    )
    session.execute(
        insert(GridAssignment),
        [
            {
                "person_id": person_ids[p],
                "grid_code": code,
                "role": role,
                "valid_from": DEMO_VALID_FROM,
            }
            for p, code, role in assignments
        ],
    )
    for town_code, town_zones in zones.items():
        replace_town_zoning(
            session=session,
            generation_id=generation_id,
            town_code=town_code,
            zones=[{**z, "squad_id": team_ids[z["squad"]]} for z in town_zones],
        )
    return {
        "people": n,
        "teams": len(teams),
        "assignments": len(assignments),
        "zones": sum(len(z) for z in zones.values()),
    }


def load_demo_households(
    *,
    session: Session,
    generation_id: int,
    seed: int,
    total: int,
    progress: Callable[[str, int], None] = lambda stage, n: None,
) -> int:
    """``total`` synthetic households (skipped if any exist), located and COPYed."""
    if session.scalar(select(func.count()).select_from(Household)):
        return 0
    frame = read_grid_frame(session=session, generation_id=generation_id)
    units = frame[frame.level == 3]
    households = synthesize_households(units.geometry.values, list(units["name"]), total, seed)
    progress("synthesize", len(households))
    located, _outside = locate_households(households, GridLocator.from_frame(frame))
    progress("locate", 0)
    copy_households(
        session=session,
        frame=located,
        generation_id=generation_id,
        progress=lambda k: progress("copy", k),
    )
    session.connection().exec_driver_sql("ANALYZE household")
    return len(located)


def load_demo_market(*, session: Session, generation_id: int, seed: int, total: int = 5000) -> int:
    """``total`` market entities with valid credit codes, placed in random unit grids."""
    if session.scalar(select(func.count()).select_from(MarketEntity)):
        return 0
    rng = np.random.default_rng(seed + 11)
    frame = read_grid_frame(session=session, generation_id=generation_id)
    units = frame[frame.level == 3]
    from gis.scatter import points_in_polygons

    counts = np.bincount(rng.integers(0, len(units), total), minlength=len(units))
    lon, lat, owner = points_in_polygons(units.geometry.values, counts, rng)
    loc = GridLocator.from_frame(frame).locate(lon, lat).l3
    cats = rng.integers(0, len(CATEGORIES), total).tolist()
    heads = demopeople.names(total, rng)
    body = rng.integers(0, len(ALPHABET), (total, 9))
    rows = []
    seen: set[str] = set()
    for i in range(total):
        code = make_code("91320281" + "".join(ALPHABET[j] for j in body[i]))
        if code in seen or loc[i] is None:
            continue
        seen.add(code)
        cat = CATEGORIES[cats[i]]
        rows.append(
            {
                "credit_code": code,
                "category": cat,
                "name": f"江阴市{heads[i]}{CATEGORY_ZH[cat]}有限公司",
                "address": f"{units['name'].iloc[owner[i]]}",
                "grid_code": loc[i],
                "geom": f"SRID=4490;POINT({lon[i]:.7f} {lat[i]:.7f})",
            }
        )
    session.execute(insert(MarketEntity), rows)
    return len(rows)


__all__ = ["load_demo_households", "load_demo_market", "load_demo_people"]
