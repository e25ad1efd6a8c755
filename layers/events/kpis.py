"""Assessment indicators per grid, village, town, department or person, computed in SQL.

Definitions (docs/kpis.md is the reference; the SQL below is the implementation):

The *cohort* of a unit and period is the events of that unit reported in ``[start, end)``.
Figures are taken on the cases' current state, and "overdue" is judged at ``now``.

- reported: the cohort; patrol: cohort events whose source is ``patrol`` (事件巡查数).
- accepted: cohort events that were accepted (立案); 立案率 = accepted / reported.
- handled: accepted events, not parked, with handling feedback given and not sent back
  (status handled, verified or closed).
- overdue_unhandled: accepted events, not parked, open for handling (dispatched, in handling,
  extension requested, rework) whose deadline is at or before ``now``.
- due = handled + overdue_unhandled (both "due for handling" and "due for closure").
- 处置率 = handled / due; 结案率 = closed / due; 按期结案率 = closed_on_time / due, where
  closed_on_time is a closed event with ``closed_at <= deadline_at`` (extended deadline counts).
- 返工率 = rework / due, rework = due events sent back at least once (``rework_count > 0``).
- 任务妥处率 = closed on time without rework / due.
- 事件闭环时间: median and 90th percentile of the work-hours from report to closure, over the
  closed events of the cohort (stored at closure, on the working calendar).

A rate whose denominator is 0 is ``None`` (not 0, not 100 %).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.accounts import prefix_sql
from layers.events.dictionary import InvalidEventInput

DIMENSIONS = {
    "grid": "e.grid_code",
    "village": "e.village_code",
    "town": "e.town_code",
    "department": "e.department",
    "person": "e.worker_person_id::text",  # the grid worker responsible for the case
    "reporter": "e.reporter_person_id::text",  # who found it (事件巡查数 per patroller)
}
BUCKETS = ("day", "week", "month")
OPEN = "('dispatched','in_handling','extension_requested','rework')"

# One pass over the cohort: every count is a FILTER on the same scan (the reported_at index
# selects the period; 200k rows aggregate in well under a second). Grouped by the filed town
# first: on Citus the event tables are distributed by ``filed_town_code`` (layers/citus.py), so
# the whole query runs on the workers, one task per shard, and the coordinator only gathers
# one row per (filed town, unit, bucket). :func:`merge` adds up a unit's rows of several towns
# (a case rerouted to another town, a person reporting in two towns, a department, a scope's
# total) and takes the closure-time percentiles over the closure times of all of them.
_SQL_BY_TOWN = """
WITH e AS (
  SELECT {key} AS key, {bucket} AS bucket, e.*,
         (e.accepted_at IS NOT NULL AND e.status <> 'parked'
          AND e.status IN ('handled','verified','closed')) AS is_handled,
         (e.accepted_at IS NOT NULL AND e.status IN {open}
          AND e.deadline_at <= :now) AS is_overdue
  FROM event e
  WHERE e.reported_at >= :start AND e.reported_at < :end AND {scope}
)
SELECT filed_town_code AS town, key, bucket,
  count(*) AS reported,
  count(*) FILTER (WHERE source = 'patrol') AS patrol,
  count(*) FILTER (WHERE accepted_at IS NOT NULL) AS accepted,
  count(*) FILTER (WHERE is_handled) AS handled,
  count(*) FILTER (WHERE is_overdue) AS overdue_unhandled,
  count(*) FILTER (WHERE status = 'closed') AS closed,
  count(*) FILTER (WHERE status = 'closed' AND closed_at <= deadline_at) AS closed_on_time,
  count(*) FILTER (WHERE (is_handled OR is_overdue) AND rework_count > 0) AS rework,
  count(*) FILTER (WHERE status = 'closed' AND closed_at <= deadline_at
                   AND rework_count = 0) AS proper,
  array_agg(closure_work_h) FILTER (WHERE status = 'closed' AND closure_work_h IS NOT NULL)
      AS closure_hours
FROM e
GROUP BY filed_town_code, key, bucket
"""
"""The KPI query, one row per (filed town, ``{key}``, ``{bucket}``) of the events matching
``{scope}``; ``closure_hours`` the closure times (work-hours) of its closed events. Rows are
finished by :func:`merge`."""
COUNTS = ("reported", "patrol", "accepted", "handled", "overdue_unhandled", "closed",
          "closed_on_time", "rework", "proper")  # fmt: skip


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY v)`` of ``values``
    (sorted ascending): linear interpolation between the two nearest ranks; None if empty."""
    if not values:
        return None
    position = fraction * (len(values) - 1)
    low = math.floor(position)
    high = math.ceil(position)
    first, second = values[low], values[high]
    return first + (position - low) * (second - first)


def merge(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """The rows (mappings) of :data:`_SQL_BY_TOWN` of one unit and bucket added up over their
    filed towns: one row per (key, bucket) in ``ORDER BY key, bucket`` order, with the counts of
    :data:`COUNTS` and ``closure_h_median`` / ``closure_h_p90`` (work-hours, over every closed
    event of the unit: the same as grouping by the unit alone)."""
    merged: dict[tuple[Any, Any], dict[str, Any]] = {}
    for r in rows:
        row = merged.setdefault(
            (r["key"], r["bucket"]),
            {"key": r["key"], "bucket": r["bucket"], "hours": [], **dict.fromkeys(COUNTS, 0)},
        )
        for name in COUNTS:
            row[name] += r[name]
        row["hours"].extend(r["closure_hours"] or ())
    out = []
    for row in merged.values():
        hours = sorted(row.pop("hours"))
        row["closure_h_median"] = percentile_cont(hours, 0.5)
        row["closure_h_p90"] = percentile_cont(hours, 0.9)
        out.append(row)
    out.sort(key=_order)
    return out


def sql(*, key: str, bucket: str = "NULL::timestamptz", scope: str = "true") -> str:
    """The KPI query (:data:`_SQL_BY_TOWN`) for the unit expression ``key``, the bucket
    expression ``bucket`` and the condition ``scope`` on ``e`` (SQL fragments of the caller's,
    never user input). Parameters: ``:start``, ``:end`` (the period), ``:now`` (overdue)."""
    return _SQL_BY_TOWN.format(key=key, bucket=bucket, open=OPEN, scope=scope)


RATES = {
    "acceptance_rate": ("accepted", "reported"),  # 立案率
    "handling_rate": ("handled", "due"),  # 处置率
    "closure_rate": ("closed", "due"),  # 结案率
    "on_time_closure_rate": ("closed_on_time", "due"),  # 按期结案率
    "rework_rate": ("rework", "due"),  # 返工率
    "proper_handling_rate": ("proper", "due"),  # 任务妥处率
}


@dataclass(frozen=True)
class KpiQuery:
    dimension: str
    start: datetime
    end: datetime
    bucket: str | None = None
    now: datetime | None = None
    codes: tuple[str, ...] | None = None
    """Grid-code prefixes of the caller's scope (layers.accounts.scope_codes); None: city."""


def _order(row: dict[str, Any]) -> tuple[Any, ...]:
    """``ORDER BY key, bucket`` (NULLs last; keys by code point, as the database's C.UTF-8
    collation orders them: the digit strings of grid codes and person ids alike anywhere)."""
    key, bucket = row["key"], row["bucket"]
    return (key is None, key or "", bucket is None, bucket or datetime.min.replace(tzinfo=UTC))


def _rate(num: int, den: int) -> float | None:
    return None if den == 0 else round(num / den, 6)


def compute(*, session: Session, query: KpiQuery) -> list[dict[str, Any]]:
    """One row per unit (and bucket): counts, rates (0..1) and closure times (work-hours)."""
    if query.dimension not in DIMENSIONS:
        raise InvalidEventInput(
            f"dimension {query.dimension!r} is not known; use one of {', '.join(DIMENSIONS)}",
            field="by",
        )
    if query.bucket is not None and query.bucket not in BUCKETS:
        raise InvalidEventInput(f"bucket must be one of {', '.join(BUCKETS)}", field="bucket")
    if query.end <= query.start:
        raise InvalidEventInput("the period is empty: 'to' must be after 'from'", field="to")
    bucket = (
        "NULL::timestamptz"
        if query.bucket is None
        # Buckets are local (Asia/Shanghai) days/weeks/months.
        else f"date_trunc('{query.bucket}', e.reported_at, 'Asia/Shanghai')"
    )
    scope, params = prefix_sql("e.grid_code", query.codes)  # events of the caller's area only
    if query.codes:  # a town's (village's, grid's) user: on Citus only its towns' shards
        from layers.events.town_guests import filed_town_sql

        towns, town_params = filed_town_sql(session, query.codes)
        scope, params = f"{scope} AND {towns}", params | town_params
    params |= {"start": query.start, "end": query.end, "now": query.now or datetime.now(UTC)}
    key = DIMENSIONS[query.dimension]

    # Pushed down on Citus for every dimension: see _SQL_BY_TOWN and merge.
    rows = session.execute(text(sql(key=key, bucket=bucket, scope=scope)), params).mappings()
    return [finish(row) for row in merge(rows)]


def finish(row: dict[str, Any]) -> dict[str, Any]:
    """A row of :func:`merge` with ``due``, the rates of :data:`RATES` (0..1, None when the
    denominator is 0) and the closure times rounded (work-hours); no ``bucket`` if None."""
    row["due"] = row["handled"] + row["overdue_unhandled"]
    for name, (num, den) in RATES.items():
        row[name] = _rate(row[num], row[den])
    for k in ("closure_h_median", "closure_h_p90"):
        row[k] = None if row[k] is None else round(float(row[k]), 3)
    if row["bucket"] is None:
        del row["bucket"]
    return row


def unit_names(
    *, session: Session, dimension: str, keys: list[str], at: datetime | None = None
) -> dict[str, str]:
    """Display names for the keys: people, or grid/village/town names by the one naming rule
    (layers.unit_names.names_in_force: the generation in force at ``at``, now if None; never a
    draft's)."""
    if not keys:
        return {}
    if dimension in ("person", "reporter"):
        rows = session.execute(
            text("SELECT id::text, name FROM person WHERE id::text = ANY(:k)"), {"k": keys}
        )
    elif dimension in ("grid", "village", "town"):
        from layers.unit_names import names_in_force

        return names_in_force(session=session, codes=keys, at=at)
    else:
        return {k: k for k in keys}
    return {str(a): str(b) for a, b in rows}


def rank(rows: list[dict[str, Any]], by: str = "proper_handling_rate") -> list[dict[str, Any]]:
    """Rank units by ``by`` (higher is better; 返工率 lower is better), ties share a rank;
    units with no due cases come last, unranked."""
    reverse = by != "rework_rate"
    scored = [r for r in rows if r.get(by) is not None]
    scored.sort(key=lambda r: (r[by], -r["due"]) if not reverse else (-r[by], -r["due"]))
    out, previous, current = [], None, 0
    for i, r in enumerate(scored, start=1):
        if r[by] != previous:
            current, previous = i, r[by]
        out.append({**r, "rank": current})
    out += [{**r, "rank": None} for r in rows if r.get(by) is None]
    return out
