"""``gridgis tracks import``, ``gridgis simulate-patrols`` and the demo step for devices.

The demo step (after the roster) gives every grid worker and patroller a phone (a device with
a secret derived from the demo key in the data folder); ``gridgis demo`` then drives a short
patrol window through the running server (:func:`on_serve`).
"""

from __future__ import annotations

import threading
from datetime import date
from datetime import time as dtime
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.database import open_engine
from api.settings import Settings

DEMO_ORDER = 20
DEMO_KEY_FILE = "demo-devices.key"
IMPORT_CHUNK = 5_000
console = Console()
tracks_app = typer.Typer(help="Patrol tracks: import GPX files.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(tracks_app, name="tracks")
    app.command("simulate-patrols")(simulate_patrols)


def demo_key(settings: Settings) -> str:
    """The key demo device secrets are derived from (made once, kept in the data folder)."""
    import secrets

    path = settings.database.data_dir / DEMO_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value)
    path.chmod(0o600)
    return value


def load_demo(settings: Settings, out: Console) -> None:
    """A device for every demo grid worker and patroller (and a placeholder staff of one grid
    worker per unit grid if there is no roster yet); idempotent."""
    from layers.db import make_sessionmaker, transaction
    from layers.grids import active_generation
    from layers.patrol_demo import ensure_demo_devices, ensure_placeholder_staff

    engine = open_engine(settings)
    with transaction(make_sessionmaker(engine)) as session:
        placeholders = ensure_placeholder_staff(
            session=session, generation_id=active_generation(session=session).id
        )
        created, total = ensure_demo_devices(session=session, key=demo_key(settings))
    if placeholders:
        out.print(f"临时网格员 placeholder staff: {placeholders} grid workers (no roster yet)")
    out.print(f"巡查终端 patrol devices: {total} ({created} new)")
    engine.dispose()


# -- gridgis tracks import ------------------------------------------------------------------------
def _slice(fixes, a: int, b: int):  # type: ignore[no-untyped-def]
    from api.ingest.pipeline import FixColumns

    part = FixColumns()
    for name in (
        "index", "fix_time", "lon", "lat", "datum", "accuracy_m", "speed_mps", "course_deg",
        "altitude_m", "battery_pct", "valid", "seq", "attributes",
    ):  # fmt: skip
        setattr(part, name, getattr(fixes, name)[a:b])
    return part


@tracks_app.command("import")
def import_gpx(
    path: Annotated[Path, typer.Argument(help="a GPX 1.0/1.1 file with trk/trkseg/trkpt times")],
    device: Annotated[str, typer.Option("--device", help="the device's external id")],
) -> None:
    """Import a GPX track of a device through the ingest pipeline (converted, located, flagged;
    points already stored are counted as duplicates)."""
    from api.ingest import formats
    from api.ingest.pipeline import ingest
    from api.locators import LocatorCache
    from layers.db import make_sessionmaker
    from layers.devices import device_by_external_id
    from layers.errors import DomainError

    if not path.is_file():
        console.print(f"[red]{path} is not a file; give the path of a .gpx file[/]")
        raise typer.Exit(2)
    settings = Settings()
    try:
        fixes, received, _name = formats.gpx(path.read_bytes())
    except DomainError as exc:
        console.print(f"[red]{path.name}: {exc.detail}[/]")
        raise typer.Exit(1) from None
    engine = open_engine(settings)
    sessions = make_sessionmaker(engine)
    state = SimpleNamespace(engine=engine, locators=LocatorCache())
    stored = duplicates = 0
    flagged: dict[str, int] = {}
    errors = list(fixes.errors)
    try:
        with sessions() as session:
            dev = device_by_external_id(session=session, external_id=device, field="device")
            dev_id = dev.id
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console,
        ) as progress:  # fmt: skip
            task = progress.add_task(f"导入 importing {path.name}", total=len(fixes))
            for a in range(0, len(fixes), IMPORT_CHUNK):
                part = _slice(fixes, a, a + IMPORT_CHUNK)
                with sessions() as session, session.begin():
                    dev = device_by_external_id(session=session, external_id=device)
                    result = ingest(
                        state=state, session=session, device=dev, fixes=part, source="gpx",
                        metric_srid=settings.geo.metric_srid,
                    )  # fmt: skip
                stored += result.stored
                duplicates += result.duplicates
                errors.extend(result.rejected)
                for k, v in result.flagged.items():
                    flagged[k] = flagged.get(k, 0) + v
                progress.advance(task, len(part))
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/]")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    console.print(
        f"device {device} (id {dev_id}): {received} points, {stored} stored, "
        f"{duplicates} duplicates, {len(errors)} rejected"
        + (f", flagged {flagged}" if flagged else "")
    )
    for err in errors[:20]:
        console.print(f"  [yellow]point {err.get('index', '?')}[/]: {err['detail']}")


# -- gridgis simulate-patrols ---------------------------------------------------------------------
def _parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"--date {value!r} is not YYYY-MM-DD") from None


def _parse_start(value: str | None) -> dtime | None:
    if not value:
        return None
    try:
        return dtime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"--start {value!r} is not HH:MM") from None


def run_simulation(
    settings: Settings,
    *,
    base_url: str,
    key: str | None = None,
    day: date | None = None,
    start: dtime | None = None,
    hours: float = 0.5,
    devices: int = 30,
    speedup: float = 0.0,
    out: Console | None = None,
    show_progress: bool = True,
) -> dict[str, object]:
    """Plan a patrol window for the demo officers and send it to ``base_url``."""
    from api.ingest.simulator import SimOptions, fixes_total, plan_patrols, run_plans, sends_total
    from layers.db import make_sessionmaker

    out = out or console
    engine = open_engine(settings)
    opts = SimOptions(day=day, start=start, hours=hours, devices=devices, speedup=speedup,
                      seed=settings.geo.demo_seed)  # fmt: skip
    with make_sessionmaker(engine)() as session:
        plans = plan_patrols(
            session=session, opts=opts, key=key or demo_key(settings),
            metric_srid=settings.geo.metric_srid,
        )  # fmt: skip
    engine.dispose()
    if not plans:
        out.print("[yellow]no demo officers with devices: run `gridgis load-demo` first[/]")
        return {"devices": 0}
    total = sends_total(plans)
    if show_progress:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=out,
        ) as progress:  # fmt: skip
            task = progress.add_task(f"巡查模拟 simulating {len(plans)} officers", total=total)
            report = run_plans(
                plans, base_url=base_url, speedup=speedup,
                progress=lambda n: progress.advance(task, n),
            )  # fmt: skip
    else:
        report = run_plans(plans, base_url=base_url, speedup=speedup)
    summary = report.as_dict()
    out.print(
        f"巡查模拟 patrol simulation: {len(plans)} officers, {fixes_total(plans)} fixes "
        f"({report.osmand_requests} OsmAnd requests, {report.batch_requests} backlog batches, "
        f"{report.duplicates} duplicates on resend, flagged {dict(report.flagged)}), "
        f"{report.failed_requests} failed, {report.elapsed_s:.1f} s"
    )
    for err in report.errors[:5]:
        out.print(f"  [red]{err}[/]")
    return summary


def simulate_patrols(
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="server (default: the configured one)")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", help="demo device key (default: the one in the data folder)"),
    ] = None,
    day: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD (default today, window ends now)")
    ] = None,
    start: Annotated[str | None, typer.Option(help="local start time HH:MM (08:30)")] = None,
    hours: Annotated[
        float, typer.Option(min=0.05, max=12, help="patrol hours (8 = full day)")
    ] = 0.5,
    devices: Annotated[int, typer.Option("--devices", min=0, help="officers (0 = all)")] = 30,
    speedup: Annotated[
        float, typer.Option(min=0, help="0 = as fast as possible, 1 = real time, 60 = 1 min/s")
    ] = 0.0,
) -> None:
    """Drive a patrol day for the demo staff through the real ingest endpoints (OsmAnd for
    online phones, the batch API for backlogs of phones that were offline)."""
    from api.ingest.simulator import wait_for_server

    settings = Settings()
    base = (base_url or f"http://{settings.server.host}:{settings.server.port}").rstrip("/")
    if not wait_for_server(base, timeout_s=10):
        console.print(f"[red]no server answers at {base}/health; start it (gridgis serve)[/]")
        raise typer.Exit(1)
    summary = run_simulation(
        settings, base_url=base, key=token, day=_parse_date(day), start=_parse_start(start),
        hours=hours, devices=devices, speedup=speedup,
    )  # fmt: skip
    if summary.get("failed_requests"):
        raise typer.Exit(1)


def on_serve(settings: Settings, base_url: str, out: Console) -> threading.Thread:
    """``gridgis demo``: once the server answers, simulate the last half hour of 30 officers."""

    def run() -> None:
        from api.ingest.simulator import wait_for_server

        if wait_for_server(base_url):
            try:
                run_simulation(settings, base_url=base_url, out=out, show_progress=False)
            except Exception as exc:  # the demo server must keep running
                out.print(f"[red]patrol simulation stopped: {exc!r}[/]")

    thread = threading.Thread(target=run, name="simulate-patrols", daemon=True)
    thread.start()
    return thread


__all__ = ["DEMO_ORDER", "load_demo", "on_serve", "register"]
