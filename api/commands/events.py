"""``gridgis events …`` and the demo step: about a year of events, created through the real API.

The demo plans each case (place, subclass, times, outcome) from a seeded random generator and
then files it exactly as the command centre would: ``POST /api/v1/events`` and one
``POST /api/v1/events/{id}/actions`` per step, over in-process ASGI clients (httpx's ASGI transport:
the app with its lifespan, auth, validation and transactions). Steps are
back-dated with the demo admin token (only admins may back-date). The class mix follows a
county-level city's: 市容环境 ~65 %, 街面秩序 ~24 %, the rest 宣传广告, 施工管理, 突发事件, 其他.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections import Counter
from collections.abc import Collection, Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.database import open_engine
from api.settings import Settings

DEMO_ORDER = 30
DEMO_EVENTS = int(os.environ.get("GRIDGIS_DEMO_EVENTS", "2000"))
WORKERS = 4
RECENT_SHARE = 0.08  # cases of the last 7 days (the rest spread over the year)
WAITING_STAGES = ("reported", "accept", "dispatch", "return", "start")  # the last step taken
HANDLED_NOTE = "已按结案标准处置完毕"  # a handling feedback always says what was done (workflow.py)
CLASS_MIX = {"01": 0.65, "04": 0.24, "02": 0.04, "03": 0.03, "05": 0.02, "06": 0.02}
console = Console()
log = logging.getLogger(__name__)


@cache
def demo_photo() -> bytes:
    """A small generated JPEG (160x120, grey) standing for the photo after handling."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (160, 120), (128, 140, 128)).save(out, "JPEG", quality=70)
    return out.getvalue()


def handling_photo_codes(settings: Settings) -> set[str]:
    """The subclasses whose handling needs a photo (layers/events/workflow.py)."""
    from sqlalchemy import select

    from layers.db import make_sessionmaker, transaction
    from layers.events.models import EventSubclass
    from layers.events.workflow import handling_photo_required

    engine = open_engine(settings)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            subclasses = session.scalars(select(EventSubclass)).all()
            return {s.code for s in subclasses if handling_photo_required(s)}
    finally:
        engine.dispose()


def plan_events(
    grids: Any,
    subclasses: dict[str, list[tuple[str, float, str]]],
    *,
    n: int,
    seed: int,
    now: datetime,
) -> Iterator[dict[str, Any]]:
    """Cases to file: dicts with lon, lat, subclass, reported_at and steps [(action, at, note)].

    ``grids`` is the L3 grid frame (EPSG:4490); ``subclasses`` maps a class code to its
    (code, limit, unit) rows. Outcomes: most cases close on time; some are rejected, returned,
    parked, reworked, extended or late; some recent ones stall in handling (overdue); the last
    week's (``RECENT_SHARE``) wait at every stage (reported, accepted, dispatched, returned, in
    handling). Every step's time is before ``now``.
    """
    from shapely.geometry import Point

    from layers.workcal import WorkCalendar

    rng = random.Random(seed)
    cal = WorkCalendar()
    geoms = list(grids.geometry.values)
    # busier grids: a skewed weight per grid (markets and old towns report more)
    weights = [rng.paretovariate(1.6) for _ in geoms]
    classes, class_p = list(CLASS_MIX), list(CLASS_MIX.values())
    start = now - timedelta(days=365)
    waiting = 0  # recent cases left waiting so far
    for i in range(n):
        g = geoms[rng.choices(range(len(geoms)), weights)[0]]
        west, south, east, north = g.bounds
        while True:
            p = Point(rng.uniform(west, east), rng.uniform(south, north))
            if g.contains(p):
                break
        cls = rng.choices(classes, class_p)[0]
        code, limit, unit = rng.choice(subclasses[cls])
        # patrols run in the day: 07:00-19:00 local, every day; a share of the cases is of the
        # last week, so that today's and this week's panels have cases on their way
        recent = rng.random() < RECENT_SHARE
        day = (
            now - timedelta(days=rng.uniform(0, 7))
            if recent
            else start + timedelta(days=rng.uniform(0, 365))
        )
        reported = day.replace(
            hour=rng.randint(23, 34) % 24,
            minute=rng.randint(0, 59),
            second=0,
            microsecond=0,
            tzinfo=UTC,
        )
        if reported >= now - timedelta(minutes=5):
            reported = now - timedelta(hours=rng.uniform(1, 48))
        t = reported
        steps: list[tuple[str, datetime, str | None]] = []

        def step(
            action: str, minutes: float, note: str | None = None, _out: list[Any] = steps
        ) -> None:
            nonlocal t
            t = t + timedelta(minutes=max(1.0, minutes))
            _out.append((action, t, note))

        r = rng.random()
        step(
            "accept" if r > 0.04 else "reject",
            rng.uniform(5, 60),
            None if r > 0.04 else "不属于受理范围",
        )
        if r > 0.04:
            step("dispatch", rng.uniform(2, 30))
            deadline = cal.deadline(t, limit, unit)
            if r < 0.06:
                step("park", rng.uniform(30, 600), "需列入长效治理计划")
            else:
                if r < 0.09:
                    step("return", rng.uniform(10, 120), "非本部门职责")
                    step("dispatch", rng.uniform(10, 60))
                    deadline = cal.deadline(t, limit, unit)
                step("start", rng.uniform(5, 90))
                if rng.random() < 0.05:
                    step("request_extension", rng.uniform(30, 300), "需协调多部门")
                    step("grant_extension", rng.uniform(10, 120))
                    deadline = cal.deadline(deadline, limit, unit)
                total_h = (deadline - t).total_seconds() / 3600
                late = rng.random() < 0.08
                frac = rng.uniform(1.05, 1.8) if late else rng.uniform(0.1, 0.6)
                step("handle", total_h * 60 * frac, HANDLED_NOTE)
                if rng.random() < 0.07:
                    step("verify_fail", rng.uniform(20, 240), "现场仍有残留")
                    step("start", rng.uniform(5, 60))
                    step("handle", rng.uniform(30, 240), HANDLED_NOTE)
                step("verify", rng.uniform(10, 60))
                step("close", rng.uniform(5, 30))
        # some recent cases stall in handling (the overdue list is never empty in real life)
        if reported > now - timedelta(days=30) and rng.random() < 0.15:
            cut = next((k for k, s in enumerate(steps) if s[0] == "start"), len(steps) - 1)
            steps = steps[: cut + 1]
        # a recent case may wait at any stage: not yet accepted (reported), accepted and not
        # dispatched, dispatched and not started, returned to the centre, or in handling
        if recent and reported > now - timedelta(days=3) and rng.random() < 0.8:
            stage = WAITING_STAGES[waiting % len(WAITING_STAGES)]  # each stage in turn
            waiting += 1
            if stage == "reported":
                steps = []
            elif stage == "return" and any(s[0] == "dispatch" for s in steps):
                k = next(k for k, s in enumerate(steps) if s[0] == "dispatch")
                steps = [*steps[: k + 1], ("return", steps[k][1] + timedelta(minutes=20),
                                           "非本部门职责")]  # fmt: skip
            else:
                cut = next((k for k, s in enumerate(steps) if s[0] == stage), 0)
                steps = steps[: cut + 1]
        # a case reported recently is still on its way: keep only the steps already taken
        steps = [s for s in steps if s[1] < now]
        yield {
            "lon": p.x,
            "lat": p.y,
            "subclass": code,
            "reported_at": reported,
            "steps": steps,
            "ref": f"demo:{seed}:{i}",
        }


def load_demo(settings: Settings, out: Console, n: int | None = None) -> None:
    """File ``n`` demo events through the API (idempotent: skipped if the demo's are there)."""
    from sqlalchemy import text

    from layers.auth import create_token, revoke_token
    from layers.db import make_sessionmaker, transaction
    from layers.grids import active_generation, read_grid_frame

    n = DEMO_EVENTS if n is None else n
    engine = open_engine(settings)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        done = session.execute(
            text("SELECT count(*) FROM event WHERE external_ref LIKE 'demo:%'")
        ).scalar()
        if done:
            out.print(f"事件 events: demo already loaded ({done:,} events)")
            return
        generation = active_generation(session=session)
        frame = read_grid_frame(session=session, generation_id=generation.id)
        rows = session.execute(
            text(
                "SELECT class_code, code, limit_value, limit_unit::text FROM event_subclass "
                "WHERE active"
            )
        ).all()

        loader, token = create_token(session=session, name="demo events loader", role="admin")
        loader_id = loader.id
    try:
        _file_demo_cases(settings, rows=rows, frame=frame, token=token, n=n, out=out)
    finally:  # the loader's admin token lives only while it files the cases (issue 11)
        with transaction(factory) as session:
            revoke_token(session=session, token_id=loader_id)
        engine.dispose()


def _file_demo_cases(
    settings: Settings,
    *,
    rows: Any,
    frame: Any,
    token: str,
    n: int,
    out: Console,
    photo_codes: set[str] | None = None,
) -> None:
    """File ``n`` planned cases over the grids ``frame`` through the in-process API as
    ``token``; ``rows`` are the active subclasses (class, code, limit, unit); a case of a
    subclass in ``photo_codes`` (default: those whose closing rule asks for a photo after
    handling, read from the database) is handled with a generated photo, as the workflow asks."""
    from api.main import create_app

    if photo_codes is None:
        photo_codes = handling_photo_codes(settings)

    subclasses: dict[str, list[tuple[str, float, str]]] = {}
    for cls, code, limit, unit in rows:
        subclasses.setdefault(cls, []).append((code, float(limit), unit))
    l3 = frame[frame.level == 3].reset_index(drop=True)
    plans = plan_events(l3, subclasses, n=n, seed=settings.geo.demo_seed, now=datetime.now(UTC))
    headers = {"Authorization": f"Bearer {token}"}
    reasons: Counter[str] = Counter()
    failures = asyncio.run(
        _file_all(create_app(settings), headers, plans, n, out, reasons, photo_codes)
    )
    out.print(
        f"事件 events: {n - failures:,} demo cases filed"
        + (f", {failures} refused (each one logged)" if failures else "")
    )
    for reason, count in reasons.most_common(3):  # why, most frequent first
        out.print(f"  {count:,} × {reason}", markup=False)


def _refused(ref: str, step: str, answer: Any) -> str:
    """Log why the API refused a demo case's step (its problem's title, field and detail);
    returns the reason without the case ("accept: 422 [note] note must be string, not None")."""
    try:
        problem = answer.json()
    except ValueError:
        problem = {"detail": answer.text[:200]}
    log.warning(
        "demo case %s: %s refused (%s): %s [%s] %s", ref, step, answer.status_code,
        problem.get("title"), problem.get("field"), problem.get("detail"),
    )  # fmt: skip
    return f"{step}: {answer.status_code} [{problem.get('field')}] {problem.get('detail')}"


async def _file_all(
    app: Any,
    headers: dict[str, str],
    plans: Iterator[dict[str, Any]],
    n: int,
    out: Console,
    reasons: Counter[str],
    photo_codes: Collection[str] = (),
) -> int:
    """File the cases with a few concurrent in-process clients (the app's thread pool serves
    them as it would serve several field devices)."""
    import httpx

    photo = demo_photo()

    failures = 0
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=64)

    async def worker(client: httpx.AsyncClient, progress: Progress, task: Any) -> None:
        nonlocal failures
        while (plan := await queue.get()) is not None:
            r = await client.post("/api/v1/events", json={
                "lon": plan["lon"], "lat": plan["lat"], "subclass": plan["subclass"],
                "description": "巡查发现", "source": "patrol", "ignore_duplicates": True,
                "reported_at": plan["reported_at"].isoformat(), "external_ref": plan["ref"],
            })  # fmt: skip
            if r.status_code != 201:
                failures += 1
                reasons[_refused(plan["ref"], "file", r)] += 1
            else:
                url = f"/api/v1/events/{r.json()['id']}/actions"
                for action, at, note in plan["steps"]:
                    # the strict actions body takes no null: a step without a note omits it
                    body = {"action": action, "at": at.isoformat()}
                    if note is not None:
                        body["note"] = note
                    if action == "handle" and plan["subclass"] in photo_codes:
                        files = [("photos", ("handled.jpg", photo, "image/jpeg"))]
                        done = await client.post(url, data=body, files=files)
                    else:
                        done = await client.post(url, json=body)
                    if done.status_code != 200:
                        failures += 1
                        reasons[_refused(plan["ref"], action, done)] += 1
                        break
            progress.advance(task)

    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://demo", headers=headers) as client,
    ):
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=out) as progress:  # fmt: skip
            task = progress.add_task("事件 demo events (through the API)", total=n)
            workers = [asyncio.create_task(worker(client, progress, task)) for _ in range(WORKERS)]
            for plan in plans:
                await queue.put(plan)
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
    return failures


def register(app: typer.Typer) -> None:
    events = typer.Typer(help="Events (事件) and the case workflow.", no_args_is_help=True)
    app.add_typer(events, name="events")

    @events.command("load-demo")
    def events_demo(
        n: Annotated[
            int,
            typer.Option(
                "--events",
                help="how many (200000 for the bench size; through the API that takes hours)",
            ),
        ] = DEMO_EVENTS,
    ) -> None:
        """File about a year of demo events through the API."""
        load_demo(Settings(), console, n)

    @events.command("escalate")
    def events_escalate() -> None:
        """Log an escalation on every overdue case not yet escalated (for a cron job)."""
        from layers.auth import create_token  # noqa: F401
        from layers.db import make_sessionmaker, transaction
        from layers.events.workflow import Actor, escalate_overdue
        from layers.models import Role

        engine = open_engine(Settings())
        with transaction(make_sessionmaker(engine)) as session:
            count = escalate_overdue(session=session, actor=Actor(None, None, Role.ADMIN, "cron"))
        console.print(f"escalated {count} overdue case(s)")
