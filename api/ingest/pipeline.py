"""The one ingest pipeline: parsed fixes -> CGCS2000, L3 grid, flags -> idempotent bulk store.

Parsers fill a :class:`FixColumns` (one device) and record per-item errors; :func:`ingest`
converts, locates, flags and stores the good fixes and reports what happened to each part.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
from sqlalchemy.orm import Session

from gis.crs import Datum, to_cgcs2000, to_metric
from gis.tracks import UNUSABLE, FixFlag, FlagLimits, flag_fixes, flag_names
from layers import positions
from layers.devices import check_secret_hash, device_not_found
from layers.grids import active_generation
from layers.people import Device
from layers.positions import PARTITIONS, FixRows, fix_times_us, previous_fix, store_fixes

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=1)  # beyond this a fix time is a broken clock: rejected
GENERATION_TTL_S = 30.0


class ItemError(Exception):
    """One fix that cannot be stored: which field and how to fix it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def parse_time(value: Any, field: str = "timestamp") -> datetime:
    """Epoch seconds or milliseconds, ISO 8601, or ``yyyy-MM-dd HH:mm:ss`` (UTC, as Traccar)."""
    if isinstance(value, bool) or value is None or value == "":
        raise ItemError(field, f"{field} is missing; send epoch seconds or ISO 8601")
    number: float | None = None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            number = None
        if number is None:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise ItemError(
                    field,
                    f"{field} {value!r} is not a time; use epoch seconds or milliseconds, ISO "
                    "8601 (2026-05-01T08:30:00+08:00) or 'yyyy-MM-dd HH:mm:ss' (UTC)",
                ) from None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    else:
        raise ItemError(field, f"{field} must be a number or a string, got {type(value).__name__}")
    if not math.isfinite(number):
        raise ItemError(field, f"{field} {value!r} is not a finite number")
    if number > 1e11:  # milliseconds (1e11 s is the year 5138)
        number /= 1000.0
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ItemError(field, f"{field} {value!r} is out of range") from None


def parse_number(
    value: Any, field: str, *, low: float | None = None, high: float | None = None
) -> float:
    """An optional number (NaN when absent), checked against a range."""
    if value is None or value == "":
        return math.nan
    if isinstance(value, bool):
        raise ItemError(field, f"{field} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ItemError(field, f"{field} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ItemError(field, f"{field} must be a finite number, got {value!r}")
    if (low is not None and number < low) or (high is not None and number > high):
        raise ItemError(field, f"{field} {number} is outside {low}..{high}")
    return number


def check_coordinates(lon: Any, lat: Any, lon_field: str = "lon", lat_field: str = "lat") -> None:
    """Finite, in range; a swapped pair (lat, lon) is named as such."""
    lo = parse_number(lon, lon_field)
    la = parse_number(lat, lat_field)
    if math.isnan(lo):
        raise ItemError(lon_field, f"{lon_field} is missing")
    if math.isnan(la):
        raise ItemError(lat_field, f"{lat_field} is missing")
    if not -90.0 <= la <= 90.0:
        hint = (
            "; lon and lat look swapped (China: lon ~120, lat ~31)"
            if -90.0 <= lo <= 90.0 and -180.0 <= la <= 180.0
            else ""
        )
        raise ItemError(lat_field, f"{lat_field} {la} is outside -90..90{hint}")
    if not -180.0 <= lo <= 180.0:
        raise ItemError(lon_field, f"{lon_field} {lo} is outside -180..180")


@dataclass
class FixColumns:
    """Fixes of one device as parsed, column by column; ``index`` is each fix's input index."""

    index: list[int] = field(default_factory=list)
    fix_time: list[datetime] = field(default_factory=list)
    lon: list[float] = field(default_factory=list)
    lat: list[float] = field(default_factory=list)
    datum: list[str] = field(default_factory=list)
    accuracy_m: list[float] = field(default_factory=list)
    speed_mps: list[float] = field(default_factory=list)
    course_deg: list[float] = field(default_factory=list)
    altitude_m: list[float] = field(default_factory=list)
    battery_pct: list[float] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)
    seq: list[int | None] = field(default_factory=list)
    attributes: list[dict[str, Any] | None] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        index: int,
        *,
        fix_time: datetime,
        lon: float,
        lat: float,
        datum: str = Datum.WGS84.value,
        accuracy_m: float = math.nan,
        speed_mps: float = math.nan,
        course_deg: float = math.nan,
        altitude_m: float = math.nan,
        battery_pct: float = math.nan,
        valid: bool = True,
        seq: int | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        self.index.append(index)
        self.fix_time.append(fix_time)
        self.lon.append(float(lon))
        self.lat.append(float(lat))
        self.datum.append(datum)
        self.accuracy_m.append(accuracy_m)
        self.speed_mps.append(speed_mps)
        self.course_deg.append(course_deg)
        self.altitude_m.append(altitude_m)
        self.battery_pct.append(battery_pct)
        self.valid.append(valid)
        self.seq.append(seq)
        self.attributes.append(attributes or None)

    def reject(self, index: int | None, err: ItemError) -> None:
        item: dict[str, Any] = {"field": err.field, "detail": err.reason}
        if index is not None:
            item = {"index": index, **item}
        self.errors.append(item)

    def __len__(self) -> int:
        return len(self.index)


@dataclass
class IngestResult:
    received: int
    stored: int
    duplicates: int
    rejected: list[dict[str, Any]]
    flagged: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": len(self.rejected),
            "flagged": self.flagged,
            "errors": self.rejected,
        }


def active_generation_id(state: Any, session: Session) -> int:
    """The active generation id, re-read at most every 30 s (publishing is rare)."""
    cached = getattr(state, "tracks_generation", None)
    now = time.monotonic()
    if cached is not None and cached[1] > now:
        return int(cached[0])
    gen_id = active_generation(session=session).id
    state.tracks_generation = (gen_id, now + GENERATION_TTL_S)
    return gen_id


def _reject_out_of_range(fixes: FixColumns, now: datetime) -> None:
    """Reject (per item) fixes before 2000 or more than a day ahead of ``now``."""
    for k in range(len(fixes) - 1, -1, -1):
        t = fixes.fix_time[k]
        if t < EARLIEST or t > now + MAX_AHEAD:
            fixes.reject(
                fixes.index[k],
                ItemError(
                    "timestamp",
                    f"fix time {t.isoformat()} is "
                    + ("before 2000" if t < EARLIEST else "more than a day ahead of the server")
                    + "; check the phone's clock and the time unit (seconds or milliseconds)",
                ),
            )
            for col in (
                fixes.index, fixes.fix_time, fixes.lon, fixes.lat, fixes.datum,
                fixes.accuracy_m, fixes.speed_mps, fixes.course_deg, fixes.altitude_m,
                fixes.battery_pct, fixes.valid, fixes.seq, fixes.attributes,
            ):  # fmt: skip
                del col[k]
    fixes.errors.sort(key=lambda e: e.get("index", -1))


def _city(state: Any, session: Session | None) -> Any:
    """The active generation's locator; opens a session only when a cache is cold."""
    cached = getattr(state, "tracks_generation", None)
    if cached is not None and cached[1] > time.monotonic():
        found = state.locators.peek(int(cached[0]))
        if found is not None:
            return found
    if session is not None:
        return state.locators.get(
            session=session, generation_id=active_generation_id(state, session)
        )
    with state.sessions() as own:
        return state.locators.get(session=own, generation_id=active_generation_id(state, own))


PreviousFix = tuple[datetime, float, float] | None


def _process(
    *,
    state: Any,
    session: Session | None,
    device_id: int,
    fixes: FixColumns,
    source: str,
    now: datetime,
    previous_of: Callable[[datetime], PreviousFix],
    metric_srid: int,
    limits: FlagLimits,
) -> tuple[FixRows, np.ndarray]:
    """Sort, convert to CGCS2000, locate and flag the (good, non-empty) fixes of one device."""
    n = len(fixes)
    t_us = fix_times_us(fixes.fix_time)
    order = np.argsort(t_us, kind="stable")
    t_us = t_us[order]
    t_s = t_us / 1e6  # the same floats as datetime.timestamp()
    raw_lon = np.asarray(fixes.lon)[order]
    raw_lat = np.asarray(fixes.lat)[order]
    datum = np.asarray(fixes.datum, dtype=object)[order]
    lon = raw_lon.copy()
    lat = raw_lat.copy()
    for d in set(datum.tolist()):
        if d in (Datum.WGS84.value, Datum.CGCS2000.value):
            continue  # the same at phone-GPS accuracy (DOMAIN.md section 4)
        sel = datum == d
        lon[sel], lat[sel] = to_cgcs2000(raw_lon[sel], raw_lat[sel], d)

    city = _city(state, session)
    l3 = city.locator.locate(lon, lat).l3
    prev = previous_of(datetime.fromtimestamp(float(t_s[0]), tz=UTC))
    previous = None
    if prev is not None:
        x_m, y_m = to_metric(np.append(lon, prev[1]), np.append(lat, prev[2]), metric_srid)
        previous = (prev[0].timestamp(), float(x_m[-1]), float(y_m[-1]))
        x_m, y_m = x_m[:-1], y_m[:-1]
    else:
        x_m, y_m = to_metric(lon, lat, metric_srid)
    accuracy = np.asarray(fixes.accuracy_m)[order]
    flags = flag_fixes(
        t_s, x_m, y_m, accuracy, now.timestamp(),
        inside_city=np.array([c is not None for c in l3], dtype=bool),
        client_valid=np.asarray(fixes.valid, dtype=bool)[order],
        previous=previous, limits=limits,
    )  # fmt: skip
    ix = order.tolist()
    rows = FixRows(
        device_id=np.full(n, device_id),
        fix_time=[fixes.fix_time[i] for i in ix],
        lon=lon, lat=lat, raw_lon=raw_lon, raw_lat=raw_lat,
        datum=datum.tolist(),
        accuracy_m=accuracy,
        speed_mps=np.asarray(fixes.speed_mps)[order],
        course_deg=np.asarray(fixes.course_deg)[order],
        altitude_m=np.asarray(fixes.altitude_m)[order],
        battery_pct=np.asarray(fixes.battery_pct)[order],
        grid_code=l3.tolist(),
        flags=flags,
        seq=[fixes.seq[i] for i in ix],
        source=source,
        attributes=[fixes.attributes[i] for i in ix],
    )  # fmt: skip
    return rows, t_us


def _counts(flags: np.ndarray) -> dict[str, int]:
    counts: dict[str, int] = {}
    for bit in FixFlag:
        hit = int(np.count_nonzero(flags & int(bit)))
        if hit:
            counts[flag_names(int(bit))[0]] = hit
    return counts


def ingest(
    *,
    state: Any,
    session: Session,
    device: Device,
    fixes: FixColumns,
    source: str,
    received: int | None = None,
    metric_srid: int = 4549,
    limits: FlagLimits = FlagLimits(),
) -> IngestResult:
    """Convert, locate, flag and store the parsed fixes of one device (no commit).

    ``state`` is the app state (``locators``, ``engine``). Fixes with a time before 2000 or more
    than a day ahead are rejected per item; every other fix is stored, flagged if doubtful.
    """
    now = datetime.now(UTC)
    _reject_out_of_range(fixes, now)
    total = received if received is not None else len(fixes) + len(fixes.errors)
    n = len(fixes)
    if n == 0:
        return IngestResult(total, 0, 0, fixes.errors, {})
    # Partitions first, before this transaction reads ``position``: the DDL runs on another
    # connection and would wait for this transaction's lock on the parent table.
    PARTITIONS.ensure(engine=state.engine, times=fixes.fix_time)
    rows, t_us = _process(
        state=state, session=session, device_id=device.id, fixes=fixes, source=source, now=now,
        previous_of=lambda first: previous_fix(
            session=session, device_id=device.id, before=first, unusable_flags=UNUSABLE
        ),
        metric_srid=metric_srid, limits=limits,
    )  # fmt: skip
    stored = store_fixes(session=session, rows=rows, received_at=now, t_us=t_us)
    return IngestResult(total, stored, n - stored, fixes.errors, _counts(rows.flags))


def ingest_one(
    *,
    state: Any,
    external_id: str,
    secret: str | None,
    fixes: FixColumns,
    source: str,
    id_field: str = "id",
    metric_srid: int = 4549,
    limits: FlagLimits = FlagLimits(),
) -> IngestResult:
    """One fix of a device named by its external id (Traccar/OsmAnd, OwnTracks): the same
    checks, conversion, grid and flags as :func:`ingest`, in two round trips.

    The device, its secret hash and its previous usable fix come in one query; the fix is then
    inserted in autocommit, so the answer comes after the commit (on disk) as before. Raises
    ``DeviceNotFound`` / ``AuthError`` like :func:`ingest`'s callers.
    """
    engine = getattr(state, "ingest_engine", None) or state.engine
    for attempt in (1, 2):
        try:
            return _ingest_one(
                state=state, engine=engine, external_id=external_id, secret=secret,
                fixes=fixes, source=source, id_field=id_field, metric_srid=metric_srid,
                limits=limits,
            )  # fmt: skip
        except psycopg.OperationalError:
            # A pooled connection the database dropped (restart): once more on a fresh one.
            # Safe: the lookup only reads and the insert skips a fix already stored.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _ingest_one(
    *,
    state: Any,
    engine: Any,
    external_id: str,
    secret: str | None,
    fixes: FixColumns,
    source: str,
    id_field: str,
    metric_srid: int,
    limits: FlagLimits,
) -> IngestResult:
    now = datetime.now(UTC)
    with positions.direct_connection(engine) as conn:
        first = min(fixes.fix_time) if len(fixes) else now
        found = positions.device_with_previous_fix(
            conn, external_id=external_id, before=first, unusable_flags=UNUSABLE
        )
        if found is None:
            raise device_not_found(external_id, id_field)
        device_id, secret_hash, prev = found
        check_secret_hash(external_id, secret_hash, secret)
        _reject_out_of_range(fixes, now)
        total = len(fixes) + len(fixes.errors)
        if len(fixes) == 0:
            return IngestResult(total, 0, 0, fixes.errors, {})
        PARTITIONS.ensure(engine=state.engine, times=fixes.fix_time)
        rows, _ = _process(
            state=state, session=None, device_id=device_id, fixes=fixes, source=source, now=now,
            previous_of=lambda _first: prev, metric_srid=metric_srid, limits=limits,
        )  # fmt: skip
        stored = positions.insert_one(conn, rows=rows, received_at=now)
    return IngestResult(total, stored, len(fixes) - stored, fixes.errors, _counts(rows.flags))
