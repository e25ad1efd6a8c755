"""Domain errors raised by the layers; ``api/errors.py`` maps each to an HTTP problem."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of the errors a user can fix; ``field`` names the offending input if there is one."""

    def __init__(
        self, detail: str, *, field: str | None = None, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra or {}


def with_zh(exc: DomainError, text: str) -> DomainError:
    """``exc`` with its Chinese detail: api/errors.py answers it to a request that asks for
    Chinese (``?lang=zh`` or ``Accept-Language``: the pages), ``detail`` otherwise."""
    exc.detail_zh = text  # type: ignore[attr-defined]
    return exc


class NotFound(DomainError):
    """Nothing with that id or code: 404, titled by the subclass (what was not found)."""


class GridNotFound(NotFound):
    """No grid with that code (in that generation)."""


class ZoneNotFound(NotFound):
    """No patrol zone with that code."""


class GenerationNotFound(DomainError):
    """No generation with that id, or none active at that date."""


class CodeConflict(DomainError):
    """A code already exists in the generation, or a parent is missing."""


class InvalidGeometry(DomainError):
    """A geometry that cannot be stored (invalid, wrong type, outside the city)."""


class InvalidState(DomainError):
    """An operation the object's current state forbids (e.g. editing a published generation)."""


class AuthError(DomainError):
    """Missing or unknown credentials."""


class Forbidden(DomainError):
    """Known credentials without the role the operation needs."""
