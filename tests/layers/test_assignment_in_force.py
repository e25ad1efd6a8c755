"""One rule of "an assignment in force on day D" (layers.people.assignment_in_force and its SQL
form): begun on or before D, not ended before D (valid_to inclusive, NULL open-ended). The ORM
and the SQL forms pick the same rows; a future assignment is not in force yet."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from layers.people import (
    GridAssignment,
    Person,
    StaffRole,
    assignment_in_force,
    assignment_in_force_sql,
)

DAY = date(2026, 6, 15)
SPANS = {  # valid_from, valid_to -> in force on DAY
    "ended before": (date(2026, 1, 1), date(2026, 6, 14), False),
    "ends that day": (date(2026, 1, 1), DAY, True),
    "begins that day": (DAY, None, True),
    "open-ended": (date(2025, 1, 1), None, True),
    "begins tomorrow": (date(2026, 6, 16), None, False),
}


def test_orm_and_sql_forms_agree_on_every_edge(engine: Engine) -> None:
    with engine.connect() as conn, Session(bind=conn) as session:
        trans = conn.begin()
        try:
            person = Person(name="in-force test")
            session.add(person)
            session.flush()
            ids = {}
            for i, (name, (start, end, _)) in enumerate(SPANS.items()):
                row = GridAssignment(
                    person_id=person.id, grid_code=f"320281001001{i:03d}",
                    role=StaffRole.GRID_WORKER, valid_from=start, valid_to=end,
                )  # fmt: skip
                session.add(row)
                session.flush()
                ids[row.id] = name
            orm = set(session.scalars(
                select(GridAssignment.id).where(GridAssignment.person_id == person.id,
                                                assignment_in_force(DAY))
            ))  # fmt: skip
            sql = set(session.scalars(text(
                "SELECT a.id FROM grid_assignment a WHERE a.person_id = :p AND "
                + assignment_in_force_sql("a", ":on")
            ), {"p": person.id, "on": DAY}))  # fmt: skip
            expected = {i for i, name in ids.items() if SPANS[name][2]}
            assert orm == sql == expected, {ids[i] for i in orm ^ expected}
        finally:
            trans.rollback()
