"""The working calendar as data: statutory holidays and make-up working days (调休) per year.

Each year the State Council publishes a notice (国务院办公厅关于某年部分节假日安排的通知): which
days are holidays and which weekend days are worked. A year is *loaded* when its table is stored
(``calendar_year`` + ``calendar_day``); inside a loaded year a day is a working day when it is a
listed make-up ``workday``, or a Monday-Friday not listed as a ``holiday``. A year without a
table is computed Monday-Friday and every deadline in it is *unconfirmed* (``calendar_unconfirmed``
in the API, the years listed in ``/health``) until an admin loads the notice, which recomputes
the open cases' deadlines in that year.

Sources: the ``chinese_calendar`` package (State Council notices 2004 to its last year) seeds
the years it knows (:func:`seed_from_package`, idempotent: a stored year is never replaced);
an admin imports the rest as CSV/XLSX (:func:`parse_table`, :func:`store_year`).

The process keeps one in-memory copy (:func:`ensure_loaded`: loaded once, then reloaded when it
is dropped), so a deadline costs no query. It is dropped (:func:`invalidate`) the moment the
tables change anywhere: the process that changed them drops it after its commit
(:func:`mark_changed`, checked by ``api.deps.get_session``), and every other server process on
``NOTIFY gridgis_calendar``, sent by the triggers of migration 0025 on any change of
``calendar_year`` or ``calendar_day`` (received by ``api.authcache.ChangeListener``). While no
listener is connected the copy is re-checked against the database at most every
:data:`REFRESH_S` seconds (one small query), as before.
"""

from __future__ import annotations

import itertools
import threading
import time as _time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import Date, DateTime, ForeignKey, SmallInteger, String, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from layers.errors import DomainError
from layers.models import Base
from layers.workcal import SHANGHAI, CalendarTables, WorkCalendar, current_tables, set_tables

REFRESH_S = 60.0  # re-check interval while no change listener is connected
CALENDAR_CHANNEL = "gridgis_calendar"  # NOTIFY channel of migration 0025
CALENDAR_CHANGED = "gridgis_calendar_changed"  # Session.info key: drop the copy after commit
KINDS = ("holiday", "workday")
MAX_ROWS = 400  # a year has 366 days at most
MAX_PROBLEMS = 50  # bad rows listed in a refusal (all are counted)
SHOWN_PROBLEMS = 5  # of them, named in its detail
KIND_ALIASES = {
    "holiday": "holiday", "休": "holiday", "假": "holiday", "休息": "holiday", "放假": "holiday",
    "节假日": "holiday", "off": "holiday", "workday": "workday", "班": "workday",
    "上班": "workday", "调休上班": "workday", "补班": "workday", "work": "workday",
}  # fmt: skip
HEADER_ALIASES = {
    "date": "date", "日期": "date", "day": "date", "kind": "kind", "类型": "kind",
    "type": "kind", "name": "name", "名称": "name", "节日": "name", "holiday_name": "name",
}  # fmt: skip


class CalendarYear(Base):
    """A year whose holiday table is stored (its source: the package, or who imported what)."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    loaded_by: Mapped[str | None] = mapped_column(String(200))


class CalendarDay(Base):
    """A listed day: a statutory ``holiday`` or a make-up ``workday`` (a worked weekend day)."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(
        SmallInteger, ForeignKey("calendar_year.year", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100), server_default="")


class CalendarTableError(DomainError):
    """A calendar file or body that cannot be read as a year's table (422, naming the field)."""


@dataclass(frozen=True)
class DayRow:
    day: date
    kind: str
    name: str


# --- the package's years --------------------------------------------------------------------


def package_rows() -> dict[int, list[DayRow]]:
    """The ``chinese_calendar`` package's tables by year (holidays and make-up workdays)."""
    from chinese_calendar import constants

    years: dict[int, list[DayRow]] = {}
    for table, kind in ((constants.holidays, "holiday"), (constants.workdays, "workday")):
        for day, name in table.items():
            years.setdefault(day.year, []).append(DayRow(day, kind, str(name)))
    return years


def _holiday_names() -> dict[str, tuple[str, str]]:
    """Each holiday of the package by its English and its Chinese name -> (zh, en)."""
    from chinese_calendar.constants import Holiday

    names: dict[str, tuple[str, str]] = {}
    for h in Holiday:
        pair = (str(h.chinese), str(h.value))
        names[pair[0]] = names[pair[1]] = names[pair[1].lower()] = pair
    return names


def day_name(name: str, lang: str = "zh") -> str:
    """A listed day's name in ``lang``: the package's holidays (stored in English when seeded:
    "Spring Festival") and the notice's Chinese names (春节) both read in Chinese on a Chinese
    page and in English on an English one; any other name as stored."""
    pair = _HOLIDAY_NAMES.get(name) or _HOLIDAY_NAMES.get(name.strip().lower())
    if pair is None:
        return name
    return pair[1] if lang == "en" else pair[0]


_HOLIDAY_NAMES = _holiday_names()


def seed_from_package(conn: Connection) -> list[int]:
    """Store the package's years that are not stored yet; returns them. Idempotent and safe
    with concurrent callers (a year is claimed by inserting its ``calendar_year`` row)."""
    import chinese_calendar

    source = f"chinese_calendar {getattr(chinese_calendar, '__version__', '')}".strip()
    added = []
    for year, rows in sorted(package_rows().items()):
        claimed = conn.execute(
            insert(CalendarYear)
            .values(year=year, source=source, loaded_by="seed")
            .on_conflict_do_nothing()
            .returning(CalendarYear.year)
        ).first()
        if claimed is None:
            continue
        conn.execute(
            insert(CalendarDay),
            [{"day": r.day, "year": year, "kind": r.kind, "name": r.name} for r in rows],
        )
        added.append(year)
    return added


# --- the in-memory copy ---------------------------------------------------------------------

_lock = threading.Lock()
# epoch: bumped by every invalidation; loaded_epoch: the epoch the copy was read at
_state: dict[str, Any] = {
    "version": None, "checked": 0.0, "epoch": 0, "loaded_epoch": -1, "listening": False,
}  # fmt: skip
_epochs = itertools.count(1)  # next() is atomic: invalidations from any thread are all counted


def mark_changed(session: Session) -> None:
    """Drop this process's copy once ``session`` commits (``api.deps.get_session``; other
    processes are told by the database's NOTIFY)."""
    session.info[CALENDAR_CHANGED] = True


def invalidate(*_: Any) -> None:
    """Drop the copy: the next :func:`ensure_loaded` reads the tables again. The handler of
    ``NOTIFY gridgis_calendar``; safe from any thread."""
    _state["epoch"] = next(_epochs)


def set_listening(up: bool) -> None:
    """The change listener's connection came up (notifications will arrive) or went down (fall
    back to re-checking every :data:`REFRESH_S` s); either way the copy is dropped, as a
    notification may have been missed meanwhile."""
    _state["listening"] = up
    invalidate()


def _version(conn: Connection) -> tuple[int, str, int]:
    count, last, days = conn.execute(
        text(
            "SELECT count(*), max(loaded_at), (SELECT count(*) FROM calendar_day) "
            "FROM calendar_year"
        )
    ).one()
    return int(count), str(last), int(days)


def load_tables(conn: Connection) -> CalendarTables:
    """Every stored year's table, read from the database."""
    years = frozenset(
        int(y) for y in conn.execute(text("SELECT year FROM calendar_year")).scalars()
    )
    days = {
        d: kind == "workday"
        for d, kind in conn.execute(text("SELECT day, kind FROM calendar_day")).all()
    }
    return CalendarTables(years=years, days=days)


def ensure_loaded(session: Session, *, force: bool = False, check: bool = False) -> CalendarTables:
    """The process's copy of the tables, loaded (and the package's years seeded) on first use
    and again after it was dropped (:func:`invalidate`); while no change listener is connected,
    re-checked against the database at most every :data:`REFRESH_S` s (one small query).
    ``check``: compare with the database now (one small query; ``/health`` answers from the
    tables as committed at the time of the request); ``force``: read them again."""
    now = _time.monotonic()
    fresh = (
        current_tables() is not None
        and _state["loaded_epoch"] == _state["epoch"]
        and (_state["listening"] or now - _state["checked"] < REFRESH_S)
    )
    if fresh and not (force or check):
        return current_tables()  # type: ignore[return-value]
    with _lock:
        bind = session.get_bind()
        first = _state["version"] is None
        if first:
            # Seeding runs on its own connection and commits, whatever the caller's session does.
            with bind.engine.begin() as conn:
                seed_from_package(conn)
        epoch = _state["epoch"]  # taken before reading: a later invalidation is not lost
        with bind.engine.connect() as conn:
            version = _version(conn)
            if (
                force
                or version != _state["version"]
                or current_tables() is None
                or _state["loaded_epoch"] != epoch
            ):
                set_tables(load_tables(conn))
                _state["version"] = version
        _state["loaded_epoch"] = epoch
        _state["checked"] = now
    return current_tables()  # type: ignore[return-value]


# --- admin import ---------------------------------------------------------------------------


def _cell(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _parse_day(value: Any, index: int) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = _cell(value).replace("/", "-").replace(".", "-")
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise CalendarTableError(
            f"row {index}: date {raw!r} is not a date; write it as YYYY-MM-DD", field="date"
        ) from None


def rows_from_records(records: Iterable[Sequence[Any]]) -> list[DayRow]:
    """Rows ``(date, kind, name)`` after a header row naming them (Chinese or English names:
    日期/date, 类型/kind, 名称/name; kinds holiday/休/放假 and workday/班/补班)."""
    it = iter(records)
    header = next(it, None)
    if header is None:
        raise CalendarTableError("the table is empty; give a header date,kind,name", field="file")
    names = [HEADER_ALIASES.get(_cell(h).lower().lstrip("\ufeff"), "") for h in header]
    if "date" not in names or "kind" not in names:
        raise CalendarTableError(
            f"the header {[_cell(h) for h in header]} lacks date and kind; "
            "give date,kind,name (日期,类型,名称)",
            field="file",
        )
    col = {n: names.index(n) for n in ("date", "kind", "name") if n in names}
    out: list[DayRow] = []
    problems: list[dict[str, Any]] = []
    for i, record in enumerate(it, start=2):
        values = list(record) + [None] * 3
        if not any(_cell(v) for v in values):
            continue
        if len(out) + len(problems) >= MAX_ROWS:
            raise CalendarTableError(f"more than {MAX_ROWS} rows; one year a file", field="file")
        raw_kind = _cell(values[col["kind"]])
        kind = KIND_ALIASES.get(raw_kind.lower())
        bad = False
        if kind is None:
            bad = True
            why = f"row {i}: kind {raw_kind!r} is neither holiday (休) nor workday (班)"
            problems.append({"row": i, "field": "kind", "detail": why})
        try:
            day = _parse_day(values[col["date"]], i)
        except CalendarTableError as exc:
            bad = True
            problems.append({"row": i, "field": "date", "detail": exc.detail})
        if not bad and kind is not None:
            name = _cell(values[col["name"]])[:100] if "name" in col else ""
            out.append(DayRow(day, kind, name))
    refuse_problems(problems)
    return out


def refuse_problems(problems: list[dict[str, Any]]) -> None:
    """Raise one CalendarTableError for every bad row of a table (issue 14: not only the
    first): ``detail`` names the first :data:`SHOWN_PROBLEMS` in words, ``problems`` lists up
    to :data:`MAX_PROBLEMS` (``row``, ``field``, ``detail``), ``problem_count`` all of them."""
    if not problems:
        return
    shown = "; ".join(p["detail"] for p in problems[:SHOWN_PROBLEMS])
    more = f" (and {len(problems) - SHOWN_PROBLEMS} more)" if len(problems) > SHOWN_PROBLEMS else ""
    raise CalendarTableError(
        f"{len(problems)} bad row(s): {shown}{more}; fix them and load the file again",
        field=problems[0]["field"],
        extra={"problems": problems[:MAX_PROBLEMS], "problem_count": len(problems)},
    )


def parse_table(content: bytes, filename: str = "", *, charset: str | None = None) -> list[DayRow]:
    """A CSV (any encoding :func:`layers.tables.decode_text` reads: UTF-8 with or without BOM,
    a declared ``charset``, GB18030 …) or XLSX file as day rows, read by the one table reader
    :func:`layers.tables.read_table` (bounded rows and columns; 422/413 errors on field
    ``file``). XLSX is recognised by its zip signature or the ``.xlsx`` file name."""
    from layers.tables import read_table

    kind: Literal["csv", "xlsx"] = (
        "xlsx" if content[:2] == b"PK" or filename.lower().endswith(".xlsx") else "csv"
    )
    return rows_from_records(read_table(content, kind=kind, charset=charset, max_rows=MAX_ROWS))


def check_year(rows: Sequence[DayRow], year: int | None = None) -> int:
    """The one year ``rows`` belong to (``year`` if given); raises naming the stray row."""
    if not rows:
        raise CalendarTableError("no day rows; a year lists its holidays", field="file")
    want = year if year is not None else rows[0].day.year
    seen: set[date] = set()
    problems: list[dict[str, Any]] = []
    for r in rows:
        if r.day.year != want:
            problems.append({"date": r.day.isoformat(), "field": "date",
                             "detail": f"{r.day.isoformat()} is not in {want}; load one year "
                             "per table"})  # fmt: skip
        elif r.day in seen:
            problems.append({"date": r.day.isoformat(), "field": "date",
                             "detail": f"{r.day.isoformat()} is listed twice"})  # fmt: skip
        seen.add(r.day)
    refuse_problems(problems)
    if not any(r.kind == "holiday" for r in rows):
        raise CalendarTableError(f"{want} lists no holiday; is this the notice?", field="kind")
    return want


def store_year(
    *, session: Session, rows: Sequence[DayRow], year: int | None = None, source: str,
    loaded_by: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Replace ``year``'s table by ``rows`` and recompute the open cases' deadlines that
    depend on it, in the caller's transaction. Returns ``{year, days, holidays, workdays,
    recomputed}``. The process's copy is refreshed after the caller commits (the next
    :func:`ensure_loaded` sees the new version); this function already computes with it.
    The caller's commit (or rollback) must be followed by :func:`invalidate` (``api.deps.
    get_session`` does it when :data:`CALENDAR_CHANGED` is set in ``session.info``)."""
    year = check_year(rows, year)
    session.execute(delete(CalendarDay).where(CalendarDay.year == year))
    session.execute(
        insert(CalendarYear)
        .values(year=year, source=source[:200], loaded_by=loaded_by, loaded_at=func.now())
        .on_conflict_do_update(
            index_elements=["year"],
            set_={
                "source": source[:200],
                "loaded_by": loaded_by,
                # the time as a value: Citus refuses a function here (docs/scale-out.md)
                "loaded_at": datetime.now(UTC),
            },
        )
    )
    session.execute(
        insert(CalendarDay),
        [{"day": r.day, "year": year, "kind": r.kind, "name": r.name} for r in rows],
    )
    session.flush()
    base = current_tables() or CalendarTables(frozenset(), {})
    days = {d: w for d, w in base.days.items() if d.year != year}
    days |= {r.day: r.kind == "workday" for r in rows}
    set_tables(CalendarTables(years=base.years | {year}, days=days))
    mark_changed(session)  # read again from the database once committed (or rolled back)
    from layers.deadlines import recompute_deadlines

    recomputed = recompute_deadlines(session=session, year=year, calendar=WorkCalendar())
    return {
        "year": year,
        "days": len(rows),
        "holidays": sum(r.kind == "holiday" for r in rows),
        "workdays": sum(r.kind == "workday" for r in rows),
        "recomputed": recomputed,
    }


def year_table(*, session: Session, year: int) -> dict[str, Any] | None:
    """A stored year as ``{year, source, loaded_at, days: [{date, kind, name, weekday}]}``."""
    head = session.get(CalendarYear, year)
    if head is None:
        return None
    rows = session.scalars(
        select(CalendarDay).where(CalendarDay.year == year).order_by(CalendarDay.day)
    )
    return {
        "year": year,
        "source": head.source,
        "loaded_at": head.loaded_at.astimezone(SHANGHAI).isoformat(timespec="seconds"),
        "loaded_by": head.loaded_by,
        "days": [
            {
                "date": r.day.isoformat(),
                "kind": r.kind,
                "name": r.name,
                "weekday": r.day.isoweekday(),
            }
            for r in rows
        ],
    }


def stored_years(*, session: Session) -> list[dict[str, Any]]:
    """Every stored year with its source and counts, newest first."""
    rows = session.execute(
        text(
            "SELECT y.year, y.source, y.loaded_at, "
            "count(*) FILTER (WHERE d.kind = 'holiday') AS holidays, "
            "count(*) FILTER (WHERE d.kind = 'workday') AS workdays "
            "FROM calendar_year y LEFT JOIN calendar_day d ON d.year = y.year "
            "GROUP BY y.year ORDER BY y.year DESC"
        )
    ).mappings()
    return [
        {
            "year": int(r["year"]),
            "source": r["source"],
            "loaded_at": r["loaded_at"].astimezone(UTC).isoformat(timespec="seconds"),
            "holidays": int(r["holidays"]),
            "workdays": int(r["workdays"]),
        }
        for r in rows
    ]
