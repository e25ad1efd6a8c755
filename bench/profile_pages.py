"""Profile: where the frame time of a pan and zoom goes on ``/map`` and ``/`` (headless
Chromium, the DevTools protocol's CPU profiler through Playwright's CDP session).

One server (this checkout, one uvicorn worker) on a scratch database with the demo city, as
bench/bench_pages.py; each page is loaded, every layer switched on (``/``: every overlay of
its layer control; ``/map``: the three levels), then bench/pages/motion.js pans and zooms
``--steps`` steps (300 ms apart) while ``Profiler`` samples the page's main thread (100 µs
interval). Printed:
the motion's fps, and the functions with the most self time (ms and share of the sampled
time), each with its script (file name) and line, plus the share per script.

    .venv/bin/python -m bench.profile_pages [--pages /,/map] [--steps 21]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench.bench_pages import ARGS, CHROMIUM, MOTION, ROOT, USABLE, VIEWPORT, _login, _start, _until
from bench.scratch import scratch_database


def _self_times(profile: dict) -> tuple[Counter, Counter, float]:
    """Self time (ms) per function and per script of a CDP ``Profiler.Profile``."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    deltas = profile.get("timeDeltas", [])
    per_node: Counter = Counter()
    for node_id, dt in zip(profile.get("samples", []), deltas, strict=False):
        per_node[node_id] += dt / 1000.0
    per_fn: Counter = Counter()
    per_script: Counter = Counter()
    for node_id, ms in per_node.items():
        f = nodes[node_id]["callFrame"]
        script = f["url"].rsplit("/", 1)[-1] or "(" + (f["functionName"] or "native") + ")"
        name = f"{f['functionName'] or '(anonymous)'} {script}:{f['lineNumber'] + 1}"
        per_fn[name] += ms
        per_script[script] += ms
    return per_fn, per_script, sum(per_node.values())


def _profile(page: Any, steps: int) -> tuple[dict, dict]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 100})
    cdp.send("Profiler.start")
    motion = page.evaluate(MOTION, steps)
    profile = cdp.send("Profiler.stop")["profile"]
    return motion, profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", default="/,/map", help="comma-separated: / and/or /map")
    parser.add_argument("--steps", type=int, default=21)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--map-levels", default="1,2,3", help="/map: the levels left on")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from layers.auth import create_token
    from layers.db import make_sessionmaker, transaction
    from layers.demo import load_demo_city

    print("load average", os.getloadavg(), flush=True)
    with scratch_database() as engine, tempfile.TemporaryDirectory() as tmp:
        with transaction(make_sessionmaker(engine)) as session:
            load_demo_city(session=session, seed=320281, metric_srid=4549,
                           cache_dir=ROOT / ".gridgis" / "cache")  # fmt: skip
            _, token = create_token(session=session, name="bench", role="admin")
        url = make_url(engine.url).render_as_string(hide_password=False)
        url = url.replace("postgresql+psycopg://", "postgresql://")
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        server, base = _start(url, data_dir, ROOT)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                for path in args.pages.split(","):
                    context = browser.new_context(viewport=VIEWPORT)
                    _login(context, base, token)
                    page = context.new_page()
                    page.goto(base + path, wait_until="commit")
                    _until(page, USABLE[path])
                    page.wait_for_load_state("networkidle")
                    if path == "/":
                        for box in page.locator(".leaflet-control-layers-overlays input").all():
                            if not box.is_checked():
                                box.check()
                        page.wait_for_load_state("networkidle")
                    if path == "/map" and args.map_levels != "1,2,3":
                        boxes = page.locator(".leaflet-control-layers-overlays input").all()
                        for n, box in enumerate(boxes[:3], start=1):
                            if str(n) not in args.map_levels.split(","):
                                box.uncheck()
                        page.wait_for_load_state("networkidle")
                    motion, profile = _profile(page, args.steps)
                    per_fn, per_script, total = _self_times(profile)
                    print(f"\n{path} (levels {args.map_levels}): {motion}", flush=True)
                    print(f"  sampled {total:.0f} ms")
                    print("  per script:")
                    for name, ms in per_script.most_common(12):
                        print(f"    {ms:8.0f} ms {100 * ms / total:5.1f} %  {name}")
                    print("  per function (self time):")
                    for name, ms in per_fn.most_common(args.top):
                        print(f"    {ms:8.0f} ms {100 * ms / total:5.1f} %  {name}")
                    context.close()
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
