"""Chinese refusals name a generation by its word (第 N 代网格), not 版本 (which the planners'
page uses for a draft's edit version)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from gis.crs import SRID_METRIC_DEFAULT
from layers.planning.drafts import Actor
from layers.planning.review import ReviewRefused, approve, submit
from tests.layers.test_impact import copy_draft


def test_four_eyes_refusal_names_the_generation(
    db_session: Session, people_demo: dict[str, Any]
) -> None:
    draft = copy_draft(db_session, people_demo["generation"])
    li = Actor(name="plan-li", role="planner")
    submit(session=db_session, generation_id=draft, actor=li, reason="请审核", version=None,
           metric_srid=SRID_METRIC_DEFAULT)  # fmt: skip
    with pytest.raises(ReviewRefused) as refused:
        approve(session=db_session, generation_id=draft, actor=li, reason="ok", version=None)
    zh = str(getattr(refused.value, "detail_zh", ""))
    assert f"第 {draft} 代网格" in zh and "版本" not in zh, zh
