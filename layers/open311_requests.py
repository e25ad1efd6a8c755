"""What an Open311 request carried besides the case itself (table ``open311_request``, one row
per event filed through GeoReport v2): ``media_url``, the ``attribute[...]`` answers, the
``address_id``, how the point was placed (gazetteer answer with its precision), the
jurisdiction and the contact fields (kept, never returned by the API)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from layers.events.models import fill_filed_town
from layers.models import Base

MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_CHARS = 1000


class Open311Request(Base):
    __tablename__ = "open311_request"

    event_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("event.id", ondelete="CASCADE"), primary_key=True
    )
    jurisdiction_id: Mapped[str | None] = mapped_column(String(100))
    media_url: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    address_id: Mapped[str | None] = mapped_column(String(100))
    placement: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    device_id: Mapped[str | None] = mapped_column(String(100))
    account_id: Mapped[str | None] = mapped_column(String(100))
    filed_town_code: Mapped[str] = mapped_column(String(9))  # the event's (migration 0026)


fill_filed_town(Open311Request)
