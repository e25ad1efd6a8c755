"""Response schemas of the working calendar (``/api/v1/calendar``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CalendarYearSummary(BaseModel):
    year: int
    source: str | None
    loaded_at: str = Field(description="ISO 8601 with offset")
    holidays: int
    workdays: int


class CalendarYearsPublic(BaseModel):
    data: list[CalendarYearSummary]
    count: int
    unconfirmed_years: list[int] = Field(
        description="years in which open deadlines were computed Monday-Friday (no table)"
    )


class CalendarDayPublic(BaseModel):
    date: str = Field(description="YYYY-MM-DD")
    kind: str = Field(description="holiday or workday (a worked weekend day)")
    name: str | None
    weekday: int = Field(ge=1, le=7, description="ISO weekday, 1 = Monday")


class CalendarYearPublic(BaseModel):
    year: int
    source: str | None
    loaded_at: str = Field(description="ISO 8601, Beijing time")
    loaded_by: str | None
    days: list[CalendarDayPublic]


class CalendarYearLoaded(BaseModel):
    year: int
    days: int
    holidays: int
    workdays: int
    recomputed: int = Field(description="open cases whose deadline was recomputed")


CALENDAR_DAYS_BODY = {
    "type": "object",
    "required": ["days"],
    "properties": {
        "days": {
            "type": "array",
            "maxItems": 400,
            "items": {
                "type": "object",
                "required": ["date", "kind"],
                "properties": {
                    "date": {"type": "string", "format": "date"},
                    "kind": {"type": "string", "enum": ["holiday", "workday", "休", "班"]},
                    "name": {"type": "string", "maxLength": 100},
                },
                "additionalProperties": False,
            },
        },
        "source": {"type": "string", "maxLength": 200},
    },
    "additionalProperties": False,
}
