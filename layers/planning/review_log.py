"""The log of a generation's life (``generation_review``): one row per step, who, when, why.
Its own light module so that making a draft (``layers.planning.copying``) records its step
without importing the review and publication code; ``layers.planning.review`` re-exports it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from layers.db import Base
from layers.models import Generation
from layers.planning.copying import Actor


class GenerationReview(Base):
    """One step of a generation's life: who, when, why (migration 0009_planning_review)."""

    __tablename__ = "generation_review"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation_id: Mapped[int] = mapped_column(
        ForeignKey("generation.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    actor_token_id: Mapped[int | None] = mapped_column(Integer)
    actor_user_id: Mapped[int | None] = mapped_column(Integer)  # migration 0016
    actor_role: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    effective_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            **({"from_status": self.from_status} if self.from_status else {}),
            "to_status": self.to_status,
            "actor": self.actor,
            "actor_role": self.actor_role,
            "reason": self.reason,
            "at": self.at.isoformat() if self.at else None,
            **({"effective_at": self.effective_at.isoformat()} if self.effective_at else {}),
            **({"details": self.details} if self.details else {}),
        }


def record_step(
    *,
    session: Session,
    generation: Generation,
    action: str,
    actor: Actor,
    reason: str,
    from_status: str | None = None,
    to_status: str | None = None,
    effective_at: datetime | None = None,
    details: dict[str, Any] | None = None,
) -> GenerationReview:
    step = GenerationReview(
        generation_id=generation.id,
        action=action,
        from_status=from_status,
        to_status=to_status or str(generation.status),
        actor=actor.name,
        actor_token_id=actor.token_id,
        actor_user_id=actor.user_id,
        actor_role=actor.role,
        reason=reason,
        at=datetime.now(UTC),
        effective_at=effective_at,
        details=details,
    )
    session.add(step)
    session.flush()
    return step
