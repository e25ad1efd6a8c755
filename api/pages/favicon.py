"""``/favicon.ico``: the app's own icon (a small grid), so browsers stop logging a 404."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

router = APIRouter(tags=["pages"])

ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<rect width="16" height="16" rx="3" fill="#0b2e59"/>'
    '<path d="M5.5 2v12M10.5 2v12M2 5.5h12M2 10.5h12" stroke="#f0a030" stroke-width="1.4"/>'
    "</svg>"
)


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    return Response(ICON, media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip
