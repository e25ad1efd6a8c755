"""Lineage labels on hand-made edits against PostGIS (issue 10): a recode is
``recoded_from`` (stored: the migration allows the kind), a moved edge's strip of under 5 %
of both grids is no link. Each test on its own draft, rolled back."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gis.lineage import MIN_SHARE
from layers.planning.edits import apply_edit
from layers.planning.lineage import compute_lineage
from tests.layers.test_impact import WHO, copy_draft, move_edge, neighbours


def test_recode_is_recoded_from_and_strips_are_no_links(
    db_session: Session, people_demo: dict[str, Any]
) -> None:
    city = people_demo["generation"]
    draft = copy_draft(db_session, city)
    a, b = neighbours(db_session, draft, same_village=True)
    fresh = a[:12] + "997"
    apply_edit(session=db_session, draft_id=draft, op="recode",
               params={"code": a, "new_code": fresh}, reason="recode", actor=WHO)  # fmt: skip
    rows = compute_lineage(session=db_session, old_generation_id=city, new_generation_id=draft)
    (link,) = [r for r in rows if r["level"] == 3 and r["old_code"] == a]
    assert (link["new_code"], link["kind"]) == (fresh, "recoded_from")

    # an edge moved by 5 m, then both grids recoded: each continues itself, the strip that
    # passed from one to the other (well under 5 % of both) is no link
    other = copy_draft(db_session, city)
    move_edge(db_session, other, a, b, dx=5.0)
    codes = {a: a[:12] + "995", b: b[:12] + "994"}
    for old, new in codes.items():
        apply_edit(session=db_session, draft_id=other, op="recode",
                   params={"code": old, "new_code": new}, reason="recode", actor=WHO)  # fmt: skip
    rows = compute_lineage(session=db_session, old_generation_id=city, new_generation_id=other)
    links = [r for r in rows if r["level"] == 3 and r["old_code"] in codes and r["new_code"]]
    assert {(r["old_code"], r["new_code"]) for r in links} == set(codes.items())
    assert {r["kind"] for r in links} == {"moved_from"}
    assert all(max(r["share_of_old"], r["share_of_new"]) >= MIN_SHARE for r in rows
               if r["old_code"] and r["new_code"] and r["kind"] != "reshaped")  # fmt: skip
