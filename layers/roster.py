"""The staff roster (一长五员): import with a validation report, coverage, who is responsible.

Rows name a person (ID number identifies them), a role and a grid code. The level a role is
held at is checked (a grid worker owns a unit grid; a supervisor a town or village). A grid
holds a role if the assignment is on the grid itself or on one of its ancestors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.codes import ancestors_of
from gis.masking import id_number_problem, mobile_problem, normalize_mobile
from gis.role_names import ROLE_NAMES
from layers.errors import DomainError
from layers.people import (
    GridAssignment,
    Person,
    StaffRole,
    Team,
    TeamKind,
    TeamMember,
    assignment_in_force,
    assignment_in_force_sql,
)
from layers.tables import read_table


class RosterInvalid(DomainError):
    """An import with bad rows when the caller asked to refuse the whole file."""


class RosterFormatError(DomainError):
    """A file that cannot be read as a roster at all (format, header)."""


# The grid levels each role is held at (DOMAIN.md section 2).
ROLE_LEVELS: dict[StaffRole, frozenset[int]] = {
    StaffRole.GRID_CHIEF: frozenset({2, 3}),
    StaffRole.GRID_WORKER: frozenset({3}),
    StaffRole.INFORMANT: frozenset({3}),
    StaffRole.PATROLLER: frozenset({1, 2, 3}),
    StaffRole.SUPERVISOR: frozenset({1, 2}),
    StaffRole.LIAISON: frozenset({1, 2}),
}
ROLE_ZH: dict[StaffRole, str] = {r: ROLE_NAMES["zh"][r.value] for r in StaffRole}
"""The Chinese word of each staff role (gis/role_names.py, the table the pages use too)."""
_ROLE_BY_TEXT = {**{r.value: r for r in StaffRole}, **{v: k for k, v in ROLE_ZH.items()}}
# Header words accepted (English or Chinese) for each column.
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "姓名"),
    "id_number": ("id_number", "身份证号", "身份证号码"),
    "phone": ("phone", "手机", "手机号", "联系电话"),
    "role": ("role", "角色", "岗位"),
    "grid_code": ("grid_code", "网格编码", "网格代码"),
    "team": ("team", "队伍", "所属队伍"),
}
REQUIRED = ("name", "id_number", "role", "grid_code")
MAX_ROWS = 50_000


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based row number in the file, the header being row 1
    column: str
    value: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "message": self.message,
        }


@dataclass
class ImportReport:
    """``imported_rows``: rows stored (0 in a dry run); ``would_import``: the good rows, those a
    run without ``dry_run`` stores (the figure a dry run is for)."""

    rows: int = 0
    imported_rows: int = 0
    would_import: int = 0
    dry_run: bool = False
    people_created: int = 0
    assignments_created: int = 0
    unchanged: int = 0
    refused: bool = False
    errors: list[RowError] = field(default_factory=list)
    grids_without: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "imported_rows": self.imported_rows,
            "would_import": self.would_import,
            "dry_run": self.dry_run,
            "rejected_rows": len({e.row for e in self.errors}),
            "people_created": self.people_created,
            "assignments_created": self.assignments_created,
            "unchanged": self.unchanged,
            "refused": self.refused,
            "errors": [e.as_dict() for e in self.errors],
            "grids_without": {
                k: {"count": len(v), "codes": v[:50]} for k, v in self.grids_without.items()
            },
        }


# -- reading -----------------------------------------------------------------------------------
def read_roster(
    data: bytes, *, kind: Literal["csv", "xlsx"], charset: str | None = None
) -> list[dict[str, str]]:
    """Rows of a CSV (its declared or detected encoding: UTF-8, GB18030, …) or XLSX (first
    sheet), read by the one table reader (layers.tables) with at most :data:`MAX_ROWS` rows."""
    table = read_table(data, kind=kind, charset=charset, max_rows=MAX_ROWS, field="file")
    if not table:
        raise RosterFormatError("the file is empty; the first row must be the header", field="file")
    header = [h.strip().lower() for h in table[0]]
    mapping: dict[int, str] = {}
    for i, h in enumerate(header):
        for key, words in COLUMNS.items():
            if h in words:
                mapping[i] = key
    missing = [k for k in REQUIRED if k not in mapping.values()]
    if missing:
        raise RosterFormatError(
            f"the header lacks column(s) {', '.join(missing)}; the first row must name the "
            f"columns, e.g. name,id_number,phone,role,grid_code,team (or 姓名,身份证号,手机号,"
            "角色,网格编码,队伍)",
            field="header",
        )
    return [
        {key: (r[i].strip() if i < len(r) else "") for i, key in mapping.items()} for r in table[1:]
    ]


# -- validation --------------------------------------------------------------------------------
@dataclass(frozen=True)
class GoodRow:
    row: int
    name: str
    id_number: str
    phone: str | None
    role: StaffRole
    grid_code: str
    team: str | None


def validate_rows(
    rows: list[dict[str, str]], *, grid_levels: dict[str, int], team_names: set[str]
) -> tuple[list[GoodRow], list[RowError]]:
    """Check every cell; returns the good rows and every error by row and column."""
    good: list[GoodRow] = []
    errors: list[RowError] = []
    seen_person: dict[str, tuple[str, int]] = {}
    seen_assignment: dict[tuple[str, str, str], int] = {}
    for n, raw in enumerate(rows, start=2):
        row_errors: list[RowError] = []

        def bad(
            column: str,
            message: str,
            _n: int = n,
            _raw: dict[str, str] = raw,
            _out: list[RowError] = row_errors,
        ) -> None:
            _out.append(RowError(_n, column, _raw.get(column, ""), message))

        name = raw.get("name", "")
        if not name:
            bad("name", "the name is empty; fill it in")
        elif len(name) > 100:
            bad("name", "the name is longer than 100 characters")
        id_number = raw.get("id_number", "").upper()
        problem = id_number_problem(id_number) if id_number else "the ID number is empty"
        if problem:
            bad("id_number", problem)
        phone = raw.get("phone") or None
        if phone and (p := mobile_problem(phone)):
            bad("phone", p)
        role = _ROLE_BY_TEXT.get(raw.get("role", "").strip().lower())
        if role is None:
            bad(
                "role",
                "unknown role; use one of "
                + ", ".join(f"{r.value}/{ROLE_ZH[r]}" for r in StaffRole),
            )
        code = raw.get("grid_code", "")
        level = grid_levels.get(code)
        if level is None:
            bad(
                "grid_code",
                "no such grid in the active generation; check the code "
                "(9, 12 or 15 digits) at /api/v1/grids",
            )
        elif role is not None and level not in ROLE_LEVELS[role]:
            levels = "/".join(f"L{x}" for x in sorted(ROLE_LEVELS[role]))
            bad(
                "grid_code",
                f"a {role.value} ({ROLE_ZH[role]}) is assigned to {levels} grids, "
                f"this is an L{level} grid",
            )
        team = raw.get("team") or None
        if team and team not in team_names:
            bad("team", "no such team; create it first or leave the cell empty")
        if not problem:
            if id_number in seen_person and seen_person[id_number][0] != name:
                first_name, first_row = seen_person[id_number]
                bad(
                    "id_number",
                    f"duplicate person: row {first_row} has this ID number with "
                    f"the name {first_name}; one ID number is one person",
                )
            seen_person.setdefault(id_number, (name, n))
            if role is not None:
                key = (id_number, code, role.value)
                if key in seen_assignment:
                    bad(
                        "role",
                        f"duplicate row: row {seen_assignment[key]} already assigns "
                        "this person this role in this grid",
                    )
                seen_assignment.setdefault(key, n)
        if row_errors:
            errors.extend(row_errors)
        else:
            assert role is not None
            good.append(
                GoodRow(
                    n, name, id_number, normalize_mobile(phone) if phone else None, role, code, team
                )
            )
    return good, errors


def _grid_levels(*, session: Session, generation_id: int) -> dict[str, int]:
    rows = session.execute(
        text("SELECT code, level FROM grid WHERE generation_id = :g"), {"g": generation_id}
    )
    return {code: level for code, level in rows}


def import_roster(
    *,
    session: Session,
    generation_id: int,
    rows: list[dict[str, str]],
    on_error: Literal["keep", "refuse"] = "keep",
    dry_run: bool = False,
    valid_from: date | None = None,
) -> ImportReport:
    """Validate ``rows`` and store the good ones (all or nothing with ``on_error="refuse"``).

    People are matched by ID number (created if new); an assignment already held is left as
    is (re-importing a file changes nothing). The report lists the unit grids left without a
    grid chief or grid worker after the import.
    """
    teams = {t.name: t for t in session.scalars(select(Team))}
    good, errors = validate_rows(
        rows,
        grid_levels=_grid_levels(session=session, generation_id=generation_id),
        team_names=set(teams),
    )
    report = ImportReport(rows=len(rows), errors=errors)
    if errors and on_error == "refuse":
        report.refused = True
        raise RosterInvalid(
            f"{len({e.row for e in errors})} of {len(rows)} rows have errors and on_error=refuse: "
            "nothing was imported; fix the rows listed in 'errors' or import with on_error=keep",
            field="file",
            extra={"report": report.as_dict()},
        )
    report.would_import, report.dry_run = len(good), dry_run
    if dry_run:  # nothing stored: imported_rows stays 0 (issue 11: it said 49000)
        return report
    ids = {g.id_number for g in good}
    people = {
        p.id_number: p for p in session.scalars(select(Person).where(Person.id_number.in_(ids)))
    }
    for g in good:
        if g.id_number not in people:
            person = Person(
                name=g.name, id_number=g.id_number, phone=g.phone, town_code=g.grid_code[:9]
            )
            session.add(person)
            people[g.id_number] = person
            report.people_created += 1
    session.flush()
    start = valid_from or date.today()
    for g in good:
        person = people[g.id_number]
        held = session.scalar(
            select(GridAssignment.id).where(
                GridAssignment.person_id == person.id,
                GridAssignment.grid_code == g.grid_code,
                GridAssignment.role == g.role,
                GridAssignment.valid_to.is_(None),
            )
        )
        if held is not None:
            report.unchanged += 1
        else:
            session.add(
                GridAssignment(
                    person_id=person.id, grid_code=g.grid_code, role=g.role, valid_from=start
                )
            )
            report.assignments_created += 1
        if g.team is not None:
            team = teams[g.team]
            if session.get(TeamMember, (team.id, person.id)) is None:
                session.add(TeamMember(team_id=team.id, person_id=person.id))
        report.imported_rows += 1
    session.flush()
    report.grids_without = grids_without(session=session, generation_id=generation_id)
    return report


# -- queries -----------------------------------------------------------------------------------
def _active(on: date) -> Any:
    return assignment_in_force(on)


def grids_without(
    *,
    session: Session,
    generation_id: int,
    roles: tuple[StaffRole, ...] = (StaffRole.GRID_CHIEF, StaffRole.GRID_WORKER),
    on: date | None = None,
) -> dict[str, list[str]]:
    """For each role, the unit grids holding it neither themselves nor through an ancestor."""
    on = on or date.today()
    out = {}
    for role in roles:
        # A unit grid's ancestors are its 9- and 12-digit prefixes.
        rows = session.execute(
            text(
                "SELECT g.code FROM grid g WHERE g.generation_id = :g AND g.level = 3 "
                "AND NOT EXISTS (SELECT 1 FROM grid_assignment a WHERE a.role = :role "
                "AND a.grid_code IN (g.code, left(g.code, 12), left(g.code, 9)) "
                f"AND {assignment_in_force_sql('a', ':on')}) "
                "ORDER BY g.code"
            ),
            {"g": generation_id, "role": role.value, "on": on},
        ).scalars()
        out[role.value] = list(rows)
    return out


def responsible_for(
    *, session: Session, grid_code: str, on: date | None = None
) -> list[dict[str, Any]]:
    """Everyone holding a role on ``grid_code`` or an ancestor on day ``on`` (today)."""
    on = on or date.today()
    codes = [grid_code, *ancestors_of(grid_code)]
    rows = session.execute(
        select(GridAssignment, Person)
        .join(Person, Person.id == GridAssignment.person_id)
        .where(GridAssignment.grid_code.in_(codes), _active(on), Person.active.is_(True))
        .order_by(GridAssignment.role, GridAssignment.grid_code.desc(), Person.id)
    ).all()
    order = list(StaffRole)
    out: list[dict[str, Any]] = [
        {
            "person_id": person.id,
            "name": person.name,
            "phone": person.phone,
            "role": a.role.value,
            "role_zh": ROLE_ZH[a.role],
            "grid_code": a.grid_code,
            "inherited": a.grid_code != grid_code,
        }
        for a, person in rows
    ]
    out.sort(
        key=lambda r: (
            order.index(StaffRole(r["role"])),
            r["inherited"],
            r["person_id"],
        )
    )
    return out


def person_grid_codes(
    *, session: Session, person_id: int, roles: tuple[StaffRole, ...], on: date | None = None
) -> list[str]:
    on = on or date.today()
    return list(
        session.scalars(
            select(GridAssignment.grid_code).where(
                GridAssignment.person_id == person_id, GridAssignment.role.in_(roles), _active(on)
            )
        )
    )


def list_teams(*, session: Session, kind: TeamKind | None = None) -> list[dict[str, Any]]:
    stmt = text(
        "SELECT t.id, t.name, t.kind::text AS kind, t.town_code, count(m.person_id) AS members "
        "FROM team t LEFT JOIN team_member m ON m.team_id = t.id "
        + ("WHERE t.kind = CAST(:kind AS team_kind) " if kind else "")
        + "GROUP BY t.id ORDER BY t.kind, t.town_code NULLS FIRST, t.name"
    )
    return [dict(r._mapping) for r in session.execute(stmt, {"kind": kind.value if kind else None})]


def team_members(*, session: Session, team_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Person, TeamMember.leader)
        .join(TeamMember, TeamMember.person_id == Person.id)
        .where(TeamMember.team_id == team_id)
        .order_by(TeamMember.leader.desc(), Person.id)
    ).all()
    return [
        {"person_id": p.id, "name": p.name, "phone": p.phone, "leader": leader}
        for p, leader in rows
    ]
