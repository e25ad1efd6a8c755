"""Serve rendered map pages and our asset folders on 127.0.0.1, open them in headless Chromium.

The server maps URL paths exactly as the app does (:func:`maps.assets.static_mounts`), so a
page that works here finds its files in the app too.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from maps.assets import static_mounts

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOST = "127.0.0.1"


@dataclass
class PageServer:
    """A static HTTP server: ``pages`` by path (``/grid_map.html``) plus the asset mounts."""

    pages: dict[str, bytes] = field(default_factory=dict)
    mounts: dict[str, Path] = field(default_factory=static_mounts)
    not_found: list[str] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://{LOCAL_HOST}:{self.port}{path}"

    def resolve(self, path: str) -> Path | None:
        for prefix, folder in self.mounts.items():
            if path.startswith(prefix + "/"):
                target = (folder / path[len(prefix) + 1 :]).resolve()
                if target.is_relative_to(folder.resolve()) and target.is_file():
                    return target
        return None


def _handler(server: PageServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path)
            if path in server.pages:
                self._send(server.pages[path], "text/html; charset=utf-8")
                return
            if path == "/favicon.ico":  # the browser asks on its own; the app has none yet
                self.send_response(204)
                self.end_headers()
                return
            target = server.resolve(path)
            if target is None:
                server.not_found.append(path)
                self.send_error(404)
                return
            self._send(target.read_bytes(), self.guess_type(str(target)))

        def _send(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep pytest output clean

    return Handler


@contextmanager
def serve(server: PageServer) -> Iterator[PageServer]:
    """Run ``server`` on a free port of 127.0.0.1 in a thread for the duration of the block."""
    httpd = http.server.ThreadingHTTPServer((LOCAL_HOST, 0), _handler(server))
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
