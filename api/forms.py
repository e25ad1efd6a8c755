"""The one form reader of the API: multipart/form-data and application/x-www-form-urlencoded
bodies parsed by Starlette's parsers, every parsing failure a domain error naming the part.

Starlette answers a part over ``max_part_size`` (1 MiB), too many parts or a malformed form
with a bare ``400 "Part exceeded maximum size of 1024KB."`` that names nothing. Here:

- a field part over 1 MiB, more than 1,000 fields or files: :class:`FormPartTooLarge`
  (413, ``field`` = the part's name, e.g. ``description``);
- a part without a name, a missing boundary, bytes that are no multipart form:
  :class:`InvalidForm` (422, ``field`` = ``body`` or ``Content-Type``).

Open311 routes turn these into the GeoReport error array like their other domain errors
(api/routes/open311.py ``Open311Route``). The parsed form is kept on the request, so a later
``await request.form()`` (or :func:`read_form`) returns the same form, closed with the request.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.requests import Request

from api.errors import STATUS, InvalidParameter, PayloadTooLarge

MAX_PART_BYTES = 1024 * 1024  # a field part (not a file) of a form; files: api/limits.py
MAX_FORM_PARTS = 1000


class FormPartTooLarge(PayloadTooLarge):
    """A form part over :data:`MAX_PART_BYTES`, or a form of too many parts (413)."""


class InvalidForm(InvalidParameter):
    """A body declared as a form that cannot be parsed as one (422)."""


STATUS.setdefault(FormPartTooLarge, (413, "Form part too large"))
STATUS.setdefault(InvalidForm, (422, "Malformed form"))


def _decode(name: bytes | bytearray | str | None) -> str:
    if isinstance(name, bytes | bytearray):
        return bytes(name).decode("utf-8", "replace")
    return name or ""


class _NamingMultiPartParser(MultiPartParser):
    """Starlette's multipart parser; its limits raise :class:`FormPartTooLarge` naming the part."""

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        try:
            super().on_part_data(data, start, end)
        except MultiPartException:
            part = self._current_part.field_name or "body"
            raise FormPartTooLarge(
                f"the form part {part!r} is over {MAX_PART_BYTES // 1024} KiB; shorten it "
                "(or send long content as a file part)",
                field=part,
            ) from None

    def on_headers_finished(self) -> None:
        try:
            super().on_headers_finished()
        except MultiPartException as exc:
            part = self._current_part.field_name
            if not part:
                raise InvalidForm(
                    "a form part has no name; give every part "
                    'Content-Disposition: form-data; name="…"',
                    field="body",
                ) from None
            raise FormPartTooLarge(
                f"the form has too many parts at {part!r} ({exc.message}); send at most "
                f"{MAX_FORM_PARTS} fields and {MAX_FORM_PARTS} files",
                field=part,
            ) from None


class _NamingFormParser(FormParser):
    """Starlette's urlencoded parser; its limits raise :class:`FormPartTooLarge` naming the
    field."""

    def _too_large(self) -> FormPartTooLarge:
        part = _decode(self._field_name) or "body"
        return FormPartTooLarge(
            f"the form field {part!r} is over {MAX_PART_BYTES // 1024} KiB, or the form has over "
            f"{MAX_FORM_PARTS} fields; shorten it",
            field=part,
        )

    def on_field_name(self, data: bytes, start: int, end: int) -> None:
        try:
            super().on_field_name(data, start, end)
        except MultiPartException:
            raise self._too_large() from None

    def on_field_data(self, data: bytes, start: int, end: int) -> None:
        try:
            super().on_field_data(data, start, end)
        except MultiPartException:
            raise self._too_large() from None

    def on_field_end(self) -> None:
        try:
            super().on_field_end()
        except MultiPartException:
            raise self._too_large() from None


async def read_form(request: Request) -> FormData:
    """The form of ``request`` (multipart or urlencoded; empty for any other content type).

    Raises :class:`FormPartTooLarge` (413) naming the part over 1 MiB or past 1,000 parts, and
    :class:`InvalidForm` (422, ``body`` / ``Content-Type``) for a form that is not one. The
    body's own size limit is api/limits.py's, enforced while it streams.
    """
    if request._form is not None:  # parsed before: Starlette keeps it on the request
        return request._form
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    parser: MultiPartParser | FormParser
    if kind == "multipart/form-data":
        parser = _NamingMultiPartParser(
            request.headers,
            request.stream(),
            max_files=MAX_FORM_PARTS,
            max_fields=MAX_FORM_PARTS,
            max_part_size=MAX_PART_BYTES,
        )
    elif kind == "application/x-www-form-urlencoded":
        parser = _NamingFormParser(
            request.headers,
            request.stream(),
            max_fields=MAX_FORM_PARTS,
            max_part_size=MAX_PART_BYTES,
        )
    else:
        request._form = FormData()
        return request._form
    try:
        form = await parser.parse()
    except MultiPartException as exc:  # no boundary, bytes that are no multipart form
        boundary = "boundary" in exc.message
        raise InvalidForm(
            f"the body is not a readable form ({exc.message}); send multipart/form-data with "
            "its boundary in Content-Type, as curl -F or a browser form does",
            field="Content-Type" if boundary else "body",
        ) from None
    request._form = form
    return form
