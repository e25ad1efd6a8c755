"""Schemas of the event dictionary (``/api/v1/event-dictionary``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class SubclassPublic(BaseModel):
    code: str = Field(description="4 digits: class + subclass")
    class_code: str
    name: str = Field(description="in the request's language (lang=en or Accept-Language)")
    name_zh: str
    name_en: str | None = Field(description="the English name; none: name (lang=en) is name_zh")
    accept_rule: str | None
    limit_value: int | float = Field(description="the handling time limit, in limit_unit")
    limit_unit: Literal["work_hours", "work_days"]
    close_rule: str | None
    department: str | None
    active: bool


class EventClassPublic(BaseModel):
    code: str
    name: str = Field(description="in the request's language (lang=en or Accept-Language)")
    name_zh: str
    name_en: str | None
    kind: str


class EventClassWithSubclasses(EventClassPublic):
    subclasses: list[SubclassPublic]


class DictionaryPublic(BaseModel):
    data: list[EventClassWithSubclasses]
    count: int


class DictionaryImported(BaseModel):
    imported: int = Field(description="subclasses created or replaced")


class ClassPut(BaseModel):
    """A class's name (and kind), as JSON or form fields."""

    name: str = Field(min_length=1, max_length=100)
    name_en: str | None = Field(default=None, max_length=100, description="English name")
    kind: str = Field(default="event", max_length=20)


class SubclassPut(BaseModel):
    """A subclass, as JSON or form fields (the code is the path's)."""

    class_code: str = Field(pattern=r"^\d{2}$")
    name: str = Field(min_length=1, max_length=100)
    name_en: str | None = Field(default=None, max_length=100, description="English name")
    accept_rule: str = Field(min_length=1, max_length=2000)
    limit_value: int | float = Field(gt=0, le=10_000)
    limit_unit: Literal["work_hours", "work_days"]
    close_rule: str = Field(min_length=1, max_length=2000)
    department: str = Field(min_length=1, max_length=200)
