"""A scheduled publication whose base was replaced by another publication is refused at its
time (never silently reverting the newer one), and the newer publication names it. Inside a
rolled-back transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.models import Generation, GenerationStatus
from layers.planning.drafts import Actor
from layers.planning.review import apply_due_publications, publish, review_log
from tests.layers.test_impact import copy_draft

ADMIN = Actor(name="admin one", role="admin")


def _approved(session: Session, source: int) -> int:
    gen = copy_draft(session, source)
    session.execute(text("UPDATE generation SET status = 'approved' WHERE id = :g"), {"g": gen})
    session.expire_all()
    return gen


def test_stale_schedule_is_refused_and_named(
    db_session: Session, people_demo: dict[str, Any]
) -> None:
    base = db_session.execute(
        text("SELECT id FROM generation WHERE status = 'active'")
    ).scalar_one()
    later, sooner = _approved(db_session, base), _approved(db_session, base)
    when = datetime.now(UTC) + timedelta(hours=1)
    scheduled = publish(
        session=db_session, generation_id=later, actor=ADMIN, reason="tomorrow", at=when,
        commit=True, metric_srid=4549,
    )  # fmt: skip
    assert scheduled["scheduled"] is True and "supersedes" not in scheduled

    dry = publish(
        session=db_session, generation_id=sooner, actor=ADMIN, reason="today", commit=False,
        metric_srid=4549,
    )  # fmt: skip
    assert [g["id"] for g in dry["supersedes"]] == [later]
    done = publish(
        session=db_session, generation_id=sooner, actor=ADMIN, reason="today", commit=True,
        metric_srid=4549,
    )  # fmt: skip
    assert [g["id"] for g in done["supersedes"]] == [later]
    assert "superseded_by" not in done

    assert apply_due_publications(db_session, now=when + timedelta(minutes=5)) == []
    db_session.expire_all()
    stale = db_session.get(Generation, later)
    assert stale is not None and stale.status is GenerationStatus.DRAFT
    assert stale.activated_at is None and stale.effective_at is None
    active = db_session.execute(text("SELECT id FROM generation WHERE status = 'active'")).all()
    assert active == [(sooner,)]
    step = review_log(session=db_session, generation_id=later)[-1]
    assert step["action"] == "reject" and step["actor"] == "scheduler"
    assert f"prepared over generation {base}" in step["reason"]
    assert step["details"]["refused"] == "base_changed"


def test_schedule_on_the_active_base_still_applies(
    db_session: Session, people_demo: dict[str, Any]
) -> None:
    base = db_session.execute(
        text("SELECT id FROM generation WHERE status = 'active'")
    ).scalar_one()
    gen = _approved(db_session, base)
    when = datetime.now(UTC) + timedelta(hours=1)
    publish(
        session=db_session, generation_id=gen, actor=ADMIN, reason="tomorrow", at=when,
        commit=True, metric_srid=4549,
    )  # fmt: skip
    assert apply_due_publications(db_session, now=when + timedelta(minutes=5)) == [gen]
