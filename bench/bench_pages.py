"""Benchmark: the command centre's pages in headless Chromium, side by side with a named
baseline in the same run.

*Candidate*: this checkout. *Baseline*: the same pages at ``--baseline`` (default ``531145e``,
the commit before /map, /live and /playback moved to the vector tiles: they carried the city's
1,846 polygons in their page script), extracted with ``git archive`` into a temporary folder and
served the same way. Both servers (``uvicorn api.main:create_app``, one worker each) run on one
scratch database holding the demo city, a token, and one officer's device with a 65-minute
track (for /live and /playback).

Figures, for each page and server (``--runs`` loads each, a fresh browser context per load, the
session cookie already set; the first load of each page is a warm-up and not counted):

- *first HTML*: bytes of the page's HTML, and of HTML plus its page scripts (``/page-scripts``);
- *usable*: from navigation start to the moment the page is usable, polled every 20 ms through
  the DevTools protocol (``performance.now()`` in the page): ``/`` map tiles drawn and the four
  panels filled; ``/map`` grids drawn (``gridgisReady``); ``/live`` grids drawn and the first
  positions shown; ``/playback`` grids drawn and the track ready to play;
- *fps*: frames (``requestAnimationFrame`` callbacks) per second during a fixed motion of
  21 pan and zoom steps, 300 ms apart, then 1.5 s to settle (bench/pages/motion.js), with every
  layer of the page on (``/``: all eight overlays of its layer control; ``/map``: the three
  levels), and the longest frame; the same steps in every run, so a loaded machine stretches
  the motion instead of making it shorter;
- *browser CPU a step*: CPU seconds of all Chromium processes (psutil) during that motion over
  its number of pan and zoom steps.

Chromium is Debian's (``/usr/bin/chromium``) driven by Playwright, window 1920×1080.

    .venv/bin/python -m bench.bench_pages [--runs 5] [--baseline 531145e]

Writes docs/benchmarks-pages.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from bench.bench_tiles import _start_server
from bench.scratch import scratch_database

ROOT = Path(__file__).resolve().parent.parent
OUT_FILE = ROOT / "docs" / "benchmarks-pages.md"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
VIEWPORT = {"width": 1920, "height": 1080}
DAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LON, LAT = 120.285, 31.92
HOME_PANELS = ("panel-events", "panel-patrols", "panel-kpis", "panel-selection")
USABLE = {
    "/": "GridGIS.home && GridGIS.home.state.tiles > 0 && "
    + " && ".join(f"GridGIS.home.state.loaded['{p}']" for p in HOME_PANELS),
    "/map": "window.gridgisReady !== undefined",
    "/live": "window.gridgisReady !== undefined && typeof window.gridgisLive === 'object'",
    "/playback": "window.gridgisReady !== undefined && window.gridgisPlayback"
    " && window.gridgisPlayback.ready",
}
MOTION = (Path(__file__).parent / "pages" / "motion.js").read_text(encoding="utf-8")


def _device_with_track(engine: Any) -> tuple[int, str]:
    """One grid worker's device and its secret (the track is sent through the batch API)."""
    from layers.db import make_sessionmaker, transaction
    from layers.devices import create_device
    from layers.people import Person

    with transaction(make_sessionmaker(engine)) as session:
        person = Person(name="李四")
        session.add(person)
        session.flush()
        device, secret = create_device(
            session=session, external_id=f"bench-{secrets.token_hex(4)}", person_id=person.id,
            with_secret=True,
        )  # fmt: skip
        return device.id, f"{device.external_id}\n{secret}"


def _send_track(base: str, device: str) -> None:
    """65 minutes of fixes every 5 s walking east, and one fix now (so /live shows him)."""
    external_id, secret = device.split("\n")
    fixes, t, lon = [], DAY, LON
    for _ in range(780):
        fixes.append({"time": t.isoformat(), "lon": lon, "lat": LAT, "accuracy_m": 5.0})
        t += timedelta(seconds=5)
        lon += 1.5 * 5 / 94_500.0
    fixes.append({"time": datetime.now(UTC).isoformat(), "lon": LON, "lat": LAT,
                  "accuracy_m": 5.0})  # fmt: skip
    r = httpx.post(f"{base}/api/v1/ingest/batch", json={"device": external_id, "fixes": fixes},
                   headers={"Authorization": f"Bearer {secret}"}, timeout=120)  # fmt: skip
    r.raise_for_status()


def _baseline_tree(commit: str, into: Path) -> Path:
    """The repository at ``commit`` (git archive), sharing this checkout's installed assets."""
    data = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True,
                          capture_output=True).stdout  # fmt: skip
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    (into / "maps" / "assets" / "node_modules").symlink_to(
        ROOT / "maps" / "assets" / "node_modules"
    )
    # One database for both servers, migrated by this checkout: the baseline's start-up
    # upgrade must find the same (newer) revisions and have nothing to do.
    versions = into / "layers" / "migrations" / "versions"
    shutil.rmtree(versions)
    shutil.copytree(ROOT / "layers" / "migrations" / "versions", versions)
    return into


def _start(url: str, data_dir: Path, tree: Path) -> tuple[subprocess.Popen, str]:
    import bench.bench_tiles as tiles

    saved = tiles.ROOT
    tiles.ROOT = tree  # the server's working directory: which code it runs
    try:
        return _start_server(url, data_dir)
    finally:
        tiles.ROOT = saved


def _login(context: Any, base: str, token: str) -> None:
    page = context.new_page()
    page.goto(f"{base}/login?next=/map")
    details = page.locator("details.token-login > summary")
    if details.count():
        details.click()
    page.fill("#token", token)
    page.click("#token ~ button[type=submit]")
    page.wait_for_url(f"{base}/map*", timeout=120_000)
    page.close()


def _until(page: Any, expression: str, timeout_s: float = 120.0) -> float:
    """Poll until ``expression`` holds; the page's ``performance.now()`` then (ms)."""
    probe = (
        f"() => {{ try {{ return ({expression}) ? performance.now() : 0; }} "
        "catch (e) { return 0; } }"
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = page.evaluate(probe)
        if value:
            return float(value)
        time.sleep(0.02)
    raise TimeoutError(f"{expression} did not hold in {timeout_s} s")


def _browser_cpu_s() -> float:
    """CPU seconds (user + system) used so far by this process's children: Playwright's driver
    and the Chromium it launched (browser, renderer, GPU/compositor processes)."""
    import psutil

    total = 0.0
    for child in psutil.Process(os.getpid()).children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:  # exited meanwhile
            continue
        total += times.user + times.system
    return total


STEPS = 21
"""Pan and zoom steps of the fixed motion (bench/pages/motion.js: three rounds of seven)."""


def _motion(page: Any, steps: int = STEPS) -> dict[str, float]:
    """bench/pages/motion.js, plus the browser's CPU time per pan or zoom step (ms): the work
    a step costs, which unlike fps hardly depends on what else the machine runs."""
    before = _browser_cpu_s()
    motion = page.evaluate(MOTION, steps)
    cpu_ms = 1000 * (_browser_cpu_s() - before)
    return {**motion, "cpu_ms_per_step": cpu_ms / max(motion["steps"], 1)}


def _measure(browser: Any, base: str, token: str, paths: dict[str, str], runs: int) -> dict:
    out: dict[str, dict[str, Any]] = {}
    auth = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    for name, path in paths.items():
        html = auth.get(path)
        scripts = [s for s in html.text.split('"') if s.startswith("/page-scripts/")]
        bodies = [auth.get(s).text for s in scripts]
        script_bytes = sum(len(b.encode("utf-8")) for b in bodies)
        # what the page carries and fetches, for the report's baseline sentence
        polygons = sum(t.count('"Polygon"') + t.count('"MultiPolygon"')
                       for t in [html.text, *bodies])  # fmt: skip
        tile_urls: list[str] = []
        usable: list[float] = []
        motion: dict[str, float] = {}
        for run in range(runs + 1):
            context = browser.new_context(viewport=VIEWPORT)
            _login(context, base, token)
            page = context.new_page()
            page.on("request", lambda r, seen=tile_urls: "/tiles/" in r.url and seen.append(r.url))
            page.goto(base + path, wait_until="commit")
            ms = _until(page, USABLE[name])
            if run:
                usable.append(ms)
            if run == runs and name in ("/", "/map"):
                page.wait_for_load_state("networkidle")
                if name == "/":  # every overlay of the layer control on
                    for box in page.locator(".leaflet-control-layers-overlays input").all():
                        if not box.is_checked():
                            box.check()
                    page.wait_for_load_state("networkidle")
                motion = _motion(page)
                if name == "/map":  # the floor: the same map with every overlay off
                    for box in page.locator(".leaflet-control-layers-overlays input").all():
                        box.uncheck()
                    page.wait_for_load_state("networkidle")
                    empty = page.evaluate(MOTION, STEPS)
                    motion = {**motion, "empty_fps": empty["fps"],
                              "empty_longest_ms": empty["longest_ms"]}  # fmt: skip
            context.close()
        out[name] = {"html_bytes": len(html.content), "script_bytes": script_bytes,
                     "usable_ms": usable, "polygons": polygons, "tiles": len(tile_urls),
                     **motion}  # fmt: skip
        print(base, name, round(statistics.median(usable)), motion, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline", default="531145e")
    parser.add_argument("--pages", default="/,/map,/live,/playback", help="comma-separated")
    parser.add_argument("--candidate-only", action="store_true", help="no report written")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from layers.auth import create_token
    from layers.db import make_sessionmaker, transaction
    from layers.demo import load_demo_city

    load_before = os.getloadavg()
    with scratch_database() as engine, tempfile.TemporaryDirectory() as tmp:
        with transaction(make_sessionmaker(engine)) as session:
            load_demo_city(session=session, seed=320281, metric_srid=4549,
                           cache_dir=ROOT / ".gridgis" / "cache")  # fmt: skip
            _, token = create_token(session=session, name="bench", role="admin")
        device_id, device = _device_with_track(engine)
        url = make_url(engine.url).render_as_string(hide_password=False)
        url = url.replace("postgresql+psycopg://", "postgresql://")
        baseline_dir = _baseline_tree(args.baseline, Path(tmp) / "baseline")
        day = DAY.date().isoformat()
        paths = {
            "/": "/",
            "/map": "/map",
            "/live": "/live",
            "/playback": f"/playback?device={device_id}&from={day}&to="
            f"{(DAY.date() + timedelta(days=1)).isoformat()}",
        }
        paths = {k: v for k, v in paths.items() if k in args.pages.split(",")}
        results: dict[str, dict] = {}
        servers = [("baseline", baseline_dir), ("candidate", ROOT)]
        if args.candidate_only:
            servers = servers[1:]
        for label, tree in servers:
            data_dir = Path(tmp) / f"data-{label}"
            data_dir.mkdir()
            server, base = _start(url, data_dir, tree)
            try:
                if label == servers[0][0]:
                    _send_track(base, device)
                with sync_playwright() as pw:
                    browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                    results[label] = _measure(browser, base, token, paths, args.runs)
                    browser.close()
            finally:
                server.terminate()
                server.wait(timeout=30)
    if not args.candidate_only:
        write_report(results, args, load_before, os.getloadavg())


def _p50(values: list[float]) -> str:
    return f"{statistics.median(values) / 1000:.2f} s" if values else "—"


def _range(values: list[float]) -> str:
    return f"{min(values) / 1000:.2f}–{max(values) / 1000:.2f} s" if values else "—"


def _kb(n: int) -> str:
    return f"{n / 1024:,.0f} KB"


def _how_drawn(pages: dict[str, dict]) -> str:
    """E.g. "/map carries polygons in its HTML and page scripts (up to 1,846 …); / carries
    none…", from each page's ``polygons`` and ``tiles`` figures."""
    carry = [n for n, r in pages.items() if r.get("polygons")]
    tiles = [n for n, r in pages.items() if not r.get("polygons") and r.get("tiles")]
    other = [n for n in pages if n not in carry and n not in tiles]

    def names(found: list[str], one: str, many: str) -> str:
        return f"{', '.join(f'`{n}`' for n in found)} {one if len(found) == 1 else many}"

    parts = []
    if carry:
        most = max(pages[n]["polygons"] for n in carry)
        parts.append(f"{names(carry, 'carries', 'carry')} the grids' polygons in the HTML and "
                     f"page scripts (up to {most:,} GeoJSON polygons)")  # fmt: skip
    if tiles:
        parts.append(f"{names(tiles, 'carries', 'carry')} no polygon and "
                     f"{'draws' if len(tiles) == 1 else 'draw'} the grids from the vector "
                     "tiles (`/tiles/…` requested)")  # fmt: skip
    if other:
        parts.append(f"{names(other, 'neither carries', 'neither carry')} polygons nor "
                     f"{'requests' if len(other) == 1 else 'request'} tiles")  # fmt: skip
    return "; ".join(parts) or "no page measured"


def baseline_sentence(results: dict, baseline: str) -> str:
    """The report's sentence on what the baseline and the candidate send, from the run's own
    figures (GeoJSON polygons counted in each page's HTML and scripts, tile requests seen by
    the browser), never fixed text."""
    lines = []
    if "baseline" in results:
        lines.append(f"Baseline **{baseline}**: {_how_drawn(results['baseline'])}.")
    lines.append(f"Candidate: {_how_drawn(results['candidate'])}.")
    return " ".join(lines)


def write_report(results: dict, args: Any, load_before: Any, load_after: Any) -> None:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()  # fmt: skip
    lines = [
        "# Pages in the browser: time to usable and frames per second",
        "",
        f"`.venv/bin/python -m bench.bench_pages --runs {args.runs} --baseline {args.baseline}`"
        f" ({date.today().isoformat()}, candidate {head} plus the working tree; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after). Headless Debian Chromium "
        "through Playwright, window 1920×1080, demo city (17 / 271 / 1,558 grids), one officer "
        "with a 65-minute track. See the module docstring for what each figure means.",
        "",
        baseline_sentence(results, args.baseline),
        "",
        "## Time to usable (median and range of the measured loads)",
        "",
        "| page | HTML | + page scripts | usable p50 | range | baseline HTML + scripts "
        "| baseline p50 | baseline range |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in results["candidate"]:
        c, b = results["candidate"][name], results["baseline"][name]
        lines.append(
            f"| `{name}` | {_kb(c['html_bytes'])} | {_kb(c['html_bytes'] + c['script_bytes'])} "
            f"| **{_p50(c['usable_ms'])}** | {_range(c['usable_ms'])} "
            f"| {_kb(b['html_bytes'] + b['script_bytes'])} | {_p50(b['usable_ms'])} "
            f"| {_range(b['usable_ms'])} |"
        )
    lines += [
        "",
        "## Panning and zooming with every layer on",
        "",
        "| page | fps | longest frame | browser CPU a step | baseline fps "
        "| baseline longest frame | baseline CPU a step |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ("/", "/map"):
        c, b = results["candidate"][name], results["baseline"][name]
        lines.append(
            f"| `{name}` | **{c.get('fps', 0):.0f}** | {c.get('longest_ms', 0):.0f} ms "
            f"| {c.get('cpu_ms_per_step', 0):.0f} ms "
            f"| {b.get('fps', 0):.0f} | {b.get('longest_ms', 0):.0f} ms "
            f"| {b.get('cpu_ms_per_step', 0):.0f} ms |"
        )
    c, b = results["candidate"]["/map"], results["baseline"]["/map"]
    lines += [
        f"| `/map`, every overlay off (the floor of this machine) | {c.get('empty_fps', 0):.0f} "
        f"| {c.get('empty_longest_ms', 0):.0f} ms | — | {b.get('empty_fps', 0):.0f} "
        f"| {b.get('empty_longest_ms', 0):.0f} ms | — |",
        "",
        "Targets (issue 15): front page usable in ≤ 2 s, ≥ 30 fps.",
        "",
        "How to read it: the machine is shared (2 cores; see the load average above), so the",
        "same page varies by 2-3x from one run to the next; compare the columns of one run,",
        "not runs. The last row is the floor: the same page and browser with every overlay",
        "switched off; what lies between it and the first rows is the cost of drawing the",
        "layers. *Browser CPU a step*: CPU time of every Chromium process during the motion,",
        "divided by its pan and zoom steps: the work a step costs, which depends far less on",
        "the machine's load than fps does.",
        "",
    ]
    OUT_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(OUT_FILE.read_text(encoding="utf-8"))


if __name__ == "__main__":
    sys.exit(main())
