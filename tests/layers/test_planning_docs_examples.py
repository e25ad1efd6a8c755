"""The edit bodies docs/planning.md shows ("More bodies") work on the demo city: each, on its
own copy of the demo city (rolled back), is applied and leaves a valid draft."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.errors import CodeConflict
from layers.planning.edits import apply_edit
from tests.layers.test_impact import copy_draft

DOC = Path(__file__).resolve().parents[2] / "docs" / "planning.md"


def doc_bodies() -> list[dict[str, Any]]:
    block = DOC.read_text(encoding="utf-8").split("More bodies:\n\n```json\n", 1)[1]
    return [json.loads(line) for line in block.split("```", 1)[0].splitlines() if line.strip()]


def test_the_docs_show_every_kind_of_edit() -> None:
    ops = [b["op"] for b in doc_bodies()]
    assert {"move_edge", "split", "merge", "reparent", "rename", "recode"} <= set(ops)


@pytest.mark.parametrize("body", doc_bodies(), ids=lambda b: str(b["op"]))
def test_a_docs_body_works_on_the_demo_city(
    db_session: Session, people_demo: dict[str, Any], body: dict[str, Any]
) -> None:
    draft = copy_draft(db_session, people_demo["generation"])
    params = {k: v for k, v in body.items() if k not in ("op", "reason")}
    try:
        answer = apply_edit(
            session=db_session, draft_id=draft, op=body["op"], params=params,
            reason=body["reason"], actor="docs example",
        )  # fmt: skip
    except CodeConflict as exc:
        # a split takes the next sequence numbers never used in the village by any generation:
        # other tests' generations (kept, as published ones are) may have used them all
        village = str(params.get("code", ""))[:12]
        used = db_session.scalar(
            text("SELECT max(right(code, 3)::int) FROM grid WHERE level = 3 AND parent_code = :p "
                 "AND generation_id <> :demo"),
            {"p": village, "demo": people_demo["generation"]},
        )  # fmt: skip
        assert body["op"] == "split" and used is not None and used >= 998, exc
        pytest.skip(f"other tests' generations used every sequence number of {village}")
    assert answer["validation"]["ok"], answer["validation"]["problems"][:3]
    assert answer["changed"]["features"]
