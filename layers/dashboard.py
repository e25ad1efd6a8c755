"""Figures of the command centre's front page (``/``), one function per panel, in SQL.

Every function takes ``scope``, a grid code prefix: ``""`` (the city), a town (9 digits), a
village (12) or a unit grid (15); the caller checks its form (:data:`SCOPE_LENGTHS`). Rows are
aggregated by PostgreSQL (``count(*) FILTER``), never looped over in Python; the definitions
are imported, never re-derived:

- overdue: :data:`layers.events.workflow.OPEN_FOR_DEADLINE` with ``deadline_at < now``, the
  rule of ``list_overdue`` / ``GET /api/v1/events/overdue`` (docs/events.md);
- KPIs: the one SQL of :mod:`layers.events.kpis` (``sql``, ``merge``, ``finish``, ``rank``;
  docs/kpis.md), run on the scope's events;
- coverage: :func:`layers.coverage.rollup` (area-weighted H3 share, buffer share) on the stored
  runs of today and yesterday (``gridgis coverage``; the server recomputes today every 5 min);
- online: a device whose last usable fix (``gis.tracks.UNUSABLE`` flags excluded) is at most
  ``online_s`` old, as ``GET /api/v1/positions/latest``.

Times are UTC ``datetime``s; "today" and "this week" (from Monday) are days in Asia/Shanghai.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Float, and_, cast, func, literal, select, text, union_all
from sqlalchemy.orm import Session

from gis.codes import LEVEL_CODE_LENGTH
from gis.tracks import UNUSABLE
from layers.coverage import CoverageGrid, CoverageRun, CoverageVisit, rollup
from layers.events import kpis
from layers.events.dictionary import display_name, subclass_name_en
from layers.events.models import Event, EventSubclass
from layers.events.town_guests import filed_town_sql
from layers.events.workflow import OPEN_FOR_DEADLINE, TERMINAL
from layers.models import Grid
from layers.patrol_visits import whole_day_runs
from layers.workcal import SHANGHAI

SCOPE_LENGTHS = (0, *LEVEL_CODE_LENGTH.values())  # city, town, village, unit grid
CHILD_LEVEL = {0: 1, 9: 2, 12: 3}  # scope length -> the level of its children
KPI_KEY = {1: "e.town_code", 2: "e.village_code", 3: "e.grid_code"}  # kpis.DIMENSIONS columns
KPI_PERIODS = ("day", "week", "month", "year")


def period_starts(now: datetime) -> dict[str, datetime]:
    """Start (UTC) of today, this week (Monday), this month and this year in Asia/Shanghai."""
    local = now.astimezone(SHANGHAI)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = {
        "day": day,
        "week": day - timedelta(days=local.weekday()),
        "month": day.replace(day=1),
        "year": day.replace(month=1, day=1),
    }
    return {k: v.astimezone(UTC) for k, v in starts.items()}


def _in_scope(column: Any, scope: str) -> Any:
    # A prefix filter with % and _ taken literally (docs/HELPERS.md); '' is every row.
    return column.startswith(scope, autoescape=True) if scope else literal(True)


def _no_jit(session: Session) -> None:
    # These queries are index probes and small aggregates; PostgreSQL's cost estimate for the
    # LATERAL probe per device (~1 M) triggers JIT compilation, which costs 130+ ms of the
    # ~10 ms query. Off for this transaction only.
    session.execute(text("SET LOCAL jit = off"))


def _overdue(now: datetime) -> Any:
    # The rule of layers.events.workflow.list_overdue, as a clause.
    return Event.status.in_(list(OPEN_FOR_DEADLINE)) & (Event.deadline_at < now)


# --- events ----------------------------------------------------------------------------------


def event_panel(
    *,
    session: Session,
    scope: str,
    now: datetime | None = None,
    list_limit: int = 30,
    lang: str = "zh",
) -> dict[str, Any]:
    """Counts of today and this week, the overdue list (oldest deadline first) and today's
    events, newest first (the live feed: ``last_id`` grows as events arrive). Two queries.
    Each list holds at most ``list_limit`` rows; ``overdue_total`` and ``latest_total`` say
    how many there are in all (the rules of ``GET /events/map?overdue=true&town=<scope>`` and
    ``?town=<scope>&from=<today>``, layers/events/listing.py, so a page can link to all of
    them); ``today`` is the day in Asia/Shanghai (YYYY-MM-DD). A listed
    event's ``subclass_name`` is in ``lang`` ("zh" or "en") by the dictionary's rule
    (:func:`layers.events.dictionary.display_name`).

    Per period P: ``reported`` (reported in P), ``accepted`` (立案 in P), ``in_handling``
    (dispatched in P and still open for handling), ``overdue`` (overdue now, deadline fell in
    P); ``open_for_handling`` and ``overdue`` also for the whole scope now.
    """
    now = now or datetime.now(UTC)
    _no_jit(session)
    starts = period_starts(now)
    handling = Event.status.in_(list(OPEN_FOR_DEADLINE))
    overdue = _overdue(now)
    columns = [func.count().label("total"), func.max(Event.id).label("last_id")]
    for p in ("day", "week"):
        t0 = starts[p]
        columns += [
            func.count().filter(Event.reported_at >= t0).label(f"reported_{p}"),
            func.count().filter(Event.accepted_at >= t0).label(f"accepted_{p}"),
            func.count().filter(handling & (Event.dispatched_at >= t0)).label(f"in_handling_{p}"),
            func.count().filter(overdue & (Event.deadline_at >= t0)).label(f"overdue_{p}"),
        ]
    columns += [
        func.count().filter(handling).label("open_for_handling"),
        func.count().filter(overdue).label("overdue_now"),
    ]
    counts = dict(
        session.execute(select(*columns).where(_in_scope(Event.grid_code, scope))).one()._mapping
    )

    def listing(kind: str, where: Any, order: Any) -> Any:
        return (
            select(
                literal(kind).label("list"),
                Event.id,
                Event.status,
                Event.subclass_code,
                EventSubclass.name.label("subclass_name"),
                subclass_name_en().label("subclass_name_en"),
                Event.grid_code,
                Event.address,
                Event.reported_at,
                Event.deadline_at,
                func.ST_X(Event.geom).label("lon"),
                func.ST_Y(Event.geom).label("lat"),
            )
            .join(EventSubclass, EventSubclass.code == Event.subclass_code)
            .where(_in_scope(Event.grid_code, scope), where)
            .order_by(order)
            .limit(list_limit)
        )

    both = union_all(
        listing("overdue", overdue, Event.deadline_at).subquery().select(),
        listing("latest", Event.reported_at >= starts["day"], Event.reported_at.desc())
        .subquery()
        .select(),
    )
    lists: dict[str, list[dict[str, Any]]] = {"overdue": [], "latest": []}
    for row in session.execute(both).mappings():
        item = {k: v for k, v in row.items() if k not in ("list", "subclass_name_en")}
        item["subclass_name"] = display_name(row["subclass_name"], row["subclass_name_en"], lang)
        item["status"] = str(
            item["status"].value if hasattr(item["status"], "value") else item["status"]
        )
        for k in ("reported_at", "deadline_at"):
            item[k] = item[k].isoformat() if item[k] else None
        if item["deadline_at"] and row["list"] == "overdue":
            item["overdue_h"] = round((now - row["deadline_at"]).total_seconds() / 3600, 1)
        lists[row["list"]].append(item)
    lists["overdue"].sort(key=lambda r: r["deadline_at"] or "")
    lists["latest"].sort(key=lambda r: (r["reported_at"] or "", r["id"]), reverse=True)
    return {
        "scope": scope,
        "now": now.isoformat(),
        "today": now.astimezone(SHANGHAI).date().isoformat(),
        "today_start": starts["day"].isoformat(),
        "week_start": starts["week"].isoformat(),
        "counts": counts,
        "overdue": lists["overdue"],
        "overdue_total": counts["overdue_now"],
        "latest": lists["latest"],
        "latest_total": counts["reported_day"],
    }


def event_points(
    *, session: Session, scope: str, now: datetime | None = None, limit: int = 5000
) -> dict[str, Any]:
    """The events of the scope not yet closed or rejected (newest first, at most ``limit``) as
    compact rows ``[id, status, lon, lat, overdue]`` (EPSG:4490) for the map. One query."""
    now = now or datetime.now(UTC)
    _no_jit(session)
    rows = session.execute(
        select(Event.id, Event.status, func.ST_X(Event.geom), func.ST_Y(Event.geom),
               _overdue(now))
        .where(_in_scope(Event.grid_code, scope), Event.status.not_in(list(TERMINAL)))
        .order_by(Event.id.desc())
        .limit(limit)
    ).all()  # fmt: skip
    data = [[i, str(getattr(st, "value", st)), round(x, 7), round(y, 7), bool(o)]
            for i, st, x, y, o in rows]  # fmt: skip
    return {"scope": scope, "columns": ["id", "status", "lon", "lat", "overdue"], "data": data}


# --- patrols ---------------------------------------------------------------------------------

# The last usable fix of every active device from device_latest (kept by the database at
# every insert, as latest_fixes reads it; runs on PostgreSQL and Citus alike), aggregated in
# SQL; a device belongs to the scope by the grid of its last usable fix. One rule for each
# figure, one count query: a device whose last fix lies in no grid belongs to no town and is
# counted apart (``outside``, city only), so that the city's figures are the sums of its
# towns' (``towns``: the same counts per town, the first 9 digits of the grid code).
_OFFICERS_SQL = """
WITH last AS (
  SELECT d.id, d.external_id, coalesce(p.name, d.label, d.external_id) AS name,
         f.fix_time, f.grid_code, extract(epoch FROM (:now - f.fix_time)) AS age_s
  FROM device d LEFT JOIN person p ON p.id = d.person_id
  JOIN device_latest f ON f.device_id = d.id AND f.flags & :bad = 0
  WHERE d.active AND (:scope = '' OR starts_with(coalesce(f.grid_code, ''), :scope))
), placed AS (
  SELECT * FROM last WHERE grid_code IS NOT NULL
), towns AS (
  SELECT left(grid_code, 9) AS code, count(*) AS devices,
         count(*) FILTER (WHERE age_s <= :online_s) AS online,
         count(*) FILTER (WHERE age_s > :offline_s) AS offline_long
  FROM placed GROUP BY 1
), silent AS (
  SELECT id, external_id, name, fix_time, grid_code, age_s FROM placed
  WHERE age_s > :offline_s ORDER BY age_s LIMIT :limit
)
SELECT (SELECT count(*) FROM last WHERE grid_code IS NULL) AS outside,
       (SELECT coalesce(json_agg(towns ORDER BY code), '[]') FROM towns) AS towns,
       (SELECT coalesce(json_agg(silent ORDER BY age_s), '[]') FROM silent) AS silent
"""


def _coverage_days(
    session: Session, scope: str, days: list[date], worst: int = 10
) -> dict[str, Any]:
    """Coverage of the scope on each day (latest whole-day run): rollup figures, when it was
    computed, and the ``worst`` unit grids (lowest H3 share)."""
    runs = whole_day_runs(session=session, days=days)
    out: dict[str, Any] = {}
    if not runs:
        return {d.isoformat(): None for d in days}
    ids = [r.id for r in runs.values()]
    grids = session.execute(
        select(CoverageGrid.run_id, CoverageGrid.cells, CoverageGrid.covered_cells,
               CoverageGrid.area_m2, CoverageGrid.covered_area_m2)
        .where(CoverageGrid.run_id.in_(ids), _in_scope(CoverageGrid.grid_code, scope))
    ).all()  # fmt: skip
    # Visits summed per device in SQL: rollup only sums minutes/metres and counts devices.
    visits = session.execute(
        select(CoverageVisit.run_id, CoverageVisit.device_id, func.sum(CoverageVisit.minutes),
               func.sum(CoverageVisit.metres))
        .where(CoverageVisit.run_id.in_(ids), _in_scope(CoverageVisit.grid_code, scope))
        .group_by(CoverageVisit.run_id, CoverageVisit.device_id)
    ).all()  # fmt: skip
    figures = rollup(grids, visits, keys=ids)
    share = cast(CoverageGrid.covered_cells, Float) / func.nullif(CoverageGrid.cells, 0)
    ranked = (
        select(
            CoverageGrid.run_id,
            CoverageGrid.grid_code,
            share.label("h3_share"),
            func.row_number()
            .over(
                partition_by=CoverageGrid.run_id,
                order_by=(share.asc().nulls_last(), CoverageGrid.grid_code),
            )
            .label("n"),
        )
        .where(CoverageGrid.run_id.in_(ids), _in_scope(CoverageGrid.grid_code, scope))
        .subquery()
    )
    lowest: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for run_id, code, h3_share, name in [] if not worst else session.execute(
        select(ranked.c.run_id, ranked.c.grid_code, ranked.c.h3_share, Grid.name)
        .join(CoverageRun, CoverageRun.id == ranked.c.run_id)
        .join(Grid, and_(Grid.generation_id == CoverageRun.generation_id,
                         Grid.code == ranked.c.grid_code), isouter=True)
        .where(ranked.c.n <= worst)
        .order_by(ranked.c.run_id, ranked.c.n)
    ):  # fmt: skip
        share_v = None if h3_share is None else round(float(h3_share), 4)
        lowest[run_id].append({"code": code, "name": name, "h3_share": share_v})
    for d in days:
        run = runs.get(d)
        if run is None:
            out[d.isoformat()] = None
            continue
        out[d.isoformat()] = {
            **figures[run.id],
            "run_id": run.id,
            "computed_at": run.computed_at.isoformat(),
            "worst": lowest[run.id],
        }
    return out


def patrol_panel(
    *,
    session: Session,
    scope: str,
    now: datetime | None = None,
    online_s: int = 300,
    offline_min: int = 30,
    list_limit: int = 30,
) -> dict[str, Any]:
    """Officers online now (last usable fix ≤ ``online_s`` old) and offline for more than
    ``offline_min`` minutes (``offline_long``; ``silent``: at most ``list_limit`` of them, the
    most recently lost first), counted over the devices whose last usable fix lies in a grid of
    the scope: ``devices``, ``online`` and ``offline_long`` are the sums of ``towns`` (the same
    counts per town code), and at the city level ``outside`` counts the devices whose last fix
    lies in no grid (0 below the city). And today's and yesterday's coverage
    of the scope: H3 and buffer share, officers, in-grid patrol minutes and metres (mileage and
    patrol time of the day so far, from the stored coverage run), worst grids."""
    now = now or datetime.now(UTC)
    _no_jit(session)
    row = (
        session.execute(
            text(_OFFICERS_SQL),
            {
                "now": now,
                "bad": UNUSABLE,
                "scope": scope,
                "online_s": online_s,
                "offline_s": offline_min * 60,
                "limit": list_limit,
            },
        )
        .mappings()
        .one()
    )
    today = now.astimezone(SHANGHAI).date()
    days = [today, today - timedelta(days=1)]
    towns = row["towns"]
    return {
        "scope": scope,
        "now": now.isoformat(),
        "online_threshold_s": online_s,
        "offline_threshold_min": offline_min,
        "devices": sum(t["devices"] for t in towns),
        "online": sum(t["online"] for t in towns),
        "offline_long": sum(t["offline_long"] for t in towns),
        "outside": row["outside"] if not scope else 0,
        "towns": towns,
        "silent": [{**s, "age_s": round(float(s["age_s"]))} for s in row["silent"]],
        "coverage": _coverage_days(session, scope, days),
    }


# --- KPIs ------------------------------------------------------------------------------------


def previous_period_start(start: datetime, period: str) -> datetime:
    """The start (UTC) of the ``period`` (day, week, month, year in Asia/Shanghai) before the
    one starting at ``start`` (a start of :func:`period_starts`)."""
    local = start.astimezone(SHANGHAI)
    if period == "day":
        before = local - timedelta(days=1)
    elif period == "week":
        before = local - timedelta(days=7)
    elif period == "month":
        before = (local - timedelta(days=1)).replace(day=1)
    else:
        before = local.replace(year=local.year - 1)
    return before.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def shown_period(now: datetime, period: str) -> dict[str, Any]:
    """The one rule of the KPI period shown, at every level (city, town, village, grid): the
    ``period`` (day, week, month, year in Asia/Shanghai) holding ``now`` up to ``now``
    (``shown: current``), except on its first day (the 1st of a month, a Monday, 1 January),
    when the whole period before it is shown (``shown: previous``): a month one day old says
    nothing yet. ``now`` exactly at midnight counts as the end of the day before (the KPI
    route's "as at the end of that day"). A "day" is always itself.

    Returns ``{"shown", "start", "end", "current_from"}`` (UTC datetimes but ``shown``).
    """
    within = now - timedelta(microseconds=1)  # the instant just before: the day now ends
    current = period_starts(within)[period]
    first_day = within.astimezone(SHANGHAI).date() == current.astimezone(SHANGHAI).date()
    if period != "day" and first_day:
        start = previous_period_start(current, period)
        return {"shown": "previous", "start": start, "end": current, "current_from": current}
    return {"shown": "current", "start": current, "end": now, "current_from": current}


def kpi_panel(
    *,
    session: Session,
    scope: str,
    period: str = "month",
    now: datetime | None = None,
    start: datetime | None = None,
) -> dict[str, Any]:
    """The KPIs (docs/kpis.md) of the events of the scope reported this ``period`` (day, week,
    month, year in Asia/Shanghai, up to now; or from ``start`` up to ``now``): the scope's own
    row and its children ranked by 任务妥处率 (:func:`layers.events.kpis.rank`) with their
    names. Two queries (and for a town or below the lookup of its filed towns,
    layers/events/town_guests.py)."""
    now = now or datetime.now(UTC)
    _no_jit(session)
    start = start or period_starts(now)[period]
    params: dict[str, Any] = {"start": start, "end": now, "now": now, "scope": scope}
    # a town (village, grid): only the shards of its filed towns on Citus (layers/events/
    # town_guests.py); one shard, a router query, for a town no case was rerouted into
    towns, town_params = filed_town_sql(session, scope)
    params |= town_params

    def run(key: str) -> list[dict[str, Any]]:
        # grouped by filed town, then merged: on Citus pushed down to the workers (kpis.merge)
        sql = kpis.sql(key=key, scope=f"starts_with(e.grid_code, :scope) AND {towns}")
        return kpis.merge(session.execute(text(sql), params).mappings())

    total = run("'scope'")
    children: list[dict[str, Any]] = []
    level = CHILD_LEVEL.get(len(scope))
    if level is not None:
        children = [kpis.finish(r) for r in run(KPI_KEY[level])]
        names = kpis.unit_names(
            session=session,
            dimension=("town", "village", "grid")[level - 1],
            keys=[r["key"] for r in children],
            at=min(now, datetime.now(UTC)),  # the names in force at the period's end
        )
        for r in children:
            r["name"] = names.get(r["key"], r["key"])
        children = kpis.rank(children)
    empty = {"key": "scope", "bucket": None, "closure_h_median": None, "closure_h_p90": None}
    scope_row = kpis.finish(total[0] if total else empty | dict.fromkeys(kpis.COUNTS, 0))
    scope_row["key"] = scope
    return {
        "scope": scope,
        "period": period,
        "from": start.isoformat(),
        "to": now.isoformat(),
        "kpis": scope_row,
        "ranking": children,
        "ranking_level": level,
    }


# --- one grid (or town, village) ------------------------------------------------------------


def grid_panel(
    *, session: Session, code: str, generation_id: int, now: datetime | None = None
) -> dict[str, Any]:
    """One grid code (any level; figures over its unit grids) in generation ``generation_id``:
    its bounding box ``[west, south, east, north]`` (EPSG:4490 degrees) and children (code,
    name), households (counts only), events by status with the total and the overdue count,
    today's / yesterday's coverage. Five queries (grids, households, events, two of coverage
    runs) besides finding the runs."""
    now = now or datetime.now(UTC)
    _no_jit(session)
    bbox: list[float] | None = None
    children = []
    for row in session.execute(
        select(Grid.code, Grid.name, func.ST_XMin(Grid.geom), func.ST_YMin(Grid.geom),
               func.ST_XMax(Grid.geom), func.ST_YMax(Grid.geom))
        .where(Grid.generation_id == generation_id,
               (Grid.code == code) | (Grid.parent_code == code))
        .order_by(Grid.code)
    ):  # fmt: skip
        if row[0] == code:
            bbox = [round(float(v), 7) for v in row[2:]]
        else:
            children.append({"code": row[0], "name": row[1]})
    households = session.execute(
        text(
            # The unit grids of the code from the (small) grid table, then the grid_code index
            # of household: a prefix LIKE/starts_with would scan 600k rows.
            "SELECT count(*) AS households, coalesce(sum(members_count), 0) AS people "
            "FROM household WHERE grid_code = ANY(ARRAY(SELECT code FROM grid "
            "WHERE generation_id = :g AND level = 3 AND starts_with(code, :code)))"
        ),
        {"code": code, "g": generation_id},
    ).one()
    by_status: dict[str, int] = {}
    overdue = 0
    for status, n, late in session.execute(
        select(Event.status, func.count(), func.count().filter(_overdue(now)))
        .where(_in_scope(Event.grid_code, code))
        .group_by(Event.status)
    ):
        by_status[str(getattr(status, "value", status))] = n
        overdue += late
    today = now.astimezone(SHANGHAI).date()
    return {
        "code": code,
        "now": now.isoformat(),
        "bbox": bbox,
        "children": children,
        "households": households.households,
        "household_people": int(households.people),
        "events": {
            "by_status": by_status,
            "total": sum(by_status.values()),
            "overdue_now": overdue,
        },
        "coverage": _coverage_days(session, code, [today, today - timedelta(days=1)], worst=0),
    }


__all__ = [
    "KPI_PERIODS",
    "SCOPE_LENGTHS",
    "event_panel",
    "event_points",
    "grid_panel",
    "kpi_panel",
    "patrol_panel",
    "period_starts",
    "previous_period_start",
    "shown_period",
]
