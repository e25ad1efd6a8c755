"""Inline scripts out of the pages: ``/page-scripts/<sha256>.js``.

folium writes a map's set-up (layers, data, our page calls) as inline ``<script>`` blocks. The
Content-Security-Policy (:mod:`api.csp`) forbids inline script, so :func:`externalize` cuts
each block out of the rendered HTML, stores it under the hash of its text and puts
``<script src="/page-scripts/<hash>.js">`` in its place (same position, so the order of
execution is unchanged). The files live in ``<data_dir>/page-scripts`` so that every worker
process of the server finds them; their URL is their content's hash, so they are sent with
``Cache-Control: immutable``. Pages cached per generation and language (``app.state.page_cache``)
keep the same hashes until the generation changes.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.deps import SessionDep, current_principal
from api.errors import STATUS
from api.pages.templating import with_nav
from layers.errors import DomainError


class PageScriptNotFound(DomainError):
    """No extracted page script of that name (evicted, or the page came from another server)."""


STATUS.setdefault(PageScriptNotFound, (404, "Page script not found"))

router = APIRouter(tags=["pages"])

URL_PREFIX = "/page-scripts"
# Pages built per request (events, zones, coverage) add a file of up to a few MB each time; the
# least recently used files go once the folder is over this size, but never one used within
# the last minutes (a page being loaded right now still finds its scripts).
KEEP_BYTES = 256 * 1024 * 1024
KEEP_RECENT_S = 600
IMMUTABLE = "public, max-age=31536000, immutable"

# A <script> element without src whose type is JavaScript (none, text/javascript, module).
_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.DOTALL | re.IGNORECASE)
_SRC = re.compile(r"\bsrc\s*=", re.IGNORECASE)
_TYPE = re.compile(r"""\btype\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
_JS_TYPES = {"text/javascript", "application/javascript", "module"}
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ExternalPage:
    """A page's HTML without inline script, and the scripts it references: hash -> code."""

    html: str
    scripts: dict[str, str]


def externalize(html: str) -> ExternalPage:
    """Replace every inline JavaScript block of ``html`` by a ``<script src>`` of its hash."""
    scripts: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        attrs, body = match.group("attrs"), match.group("body")
        kind = _TYPE.search(attrs)
        if _SRC.search(attrs) or (kind and kind.group(1).lower() not in _JS_TYPES):
            return match.group(0)
        if not body.strip():
            return ""
        digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
        scripts[digest] = body
        module = ' type="module"' if kind and kind.group(1).lower() == "module" else ""
        return f'<script src="{URL_PREFIX}/{digest}.js"{module}></script>'

    return ExternalPage(_SCRIPT.sub(replace, html), scripts)


def _folder(request: Request) -> Path:
    folder = Path(request.app.state.settings.database.data_dir) / "page-scripts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _store(folder: Path, scripts: dict[str, str]) -> None:
    wrote = False
    for digest, code in scripts.items():
        path = folder / f"{digest}.js"
        if path.exists():
            os.utime(path)  # in use again: not the oldest any more
            continue
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(code, encoding="utf-8")
        partial.replace(path)  # atomic: another worker never reads half a file
        wrote = True
    if wrote:
        _prune(folder)


def _prune(folder: Path) -> None:
    """Delete the least recently used scripts beyond :data:`KEEP_BYTES`."""
    stats = []
    for path in folder.glob("*.js"):
        try:
            stats.append((path, path.stat()))
        except FileNotFoundError:  # another worker pruned it
            continue
    stats.sort(key=lambda ps: ps[1].st_mtime, reverse=True)
    kept, recent = 0, time.time() - KEEP_RECENT_S
    for path, stat in stats:
        kept += stat.st_size
        if kept > KEEP_BYTES and stat.st_mtime < recent:
            path.unlink(missing_ok=True)


def page_response(request: Request, page: ExternalPage | str) -> HTMLResponse:
    """The HTML answer for a rendered folium page (``str``) or an already externalized one
    (from the page cache), with the navigation bar; its scripts stored for ``/page-scripts``."""
    if isinstance(page, str):
        page = externalize(page)
    _store(_folder(request), page.scripts)
    return HTMLResponse(with_nav(request, page.html))


def cached_page(request: Request, key: tuple[object, ...], render: object) -> ExternalPage:
    """The externalized page cached under ``key`` in ``app.state.page_cache``; ``render()``
    builds its HTML the first time."""
    cache = request.app.state.page_cache
    if key not in cache:
        cache[key] = externalize(render())  # type: ignore[operator]
    page: ExternalPage = cache[key]
    return page


@router.get(URL_PREFIX + "/{name}", include_in_schema=False)
def page_script(request: Request, session: SessionDep, name: str) -> Response:
    """One extracted page script, for a logged-in user (it holds the page's data)."""
    current_principal(request, session)
    digest = name.removesuffix(".js")
    path = _folder(request) / f"{digest}.js"
    if not name.endswith(".js") or not _DIGEST.match(digest) or not path.is_file():
        raise PageScriptNotFound(f"no page script {name!r}: reload the page that asked for it")
    return FileResponse(
        path, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": IMMUTABLE}
    )
