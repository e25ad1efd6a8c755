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
import orjson
import psycopg
from sqlalchemy.orm import Session

from gis.crs import Datum, to_cgcs2000, to_metric
from gis.tracks import UNUSABLE, FixFlag, FlagLimits, flag_fixes, flag_names
from layers import positions
from layers.devices import check_secret_hash, device_not_found
from layers.errors import DomainError
from layers.grids import active_generation
from layers.people import Device
from layers.positions import PARTITIONS, FixRows, fix_times_us, previous_fix, store_fixes

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=1)  # beyond this a batch fix time is a broken clock: rejected
# A single-fix client (Traccar/OsmAnd, OwnTracks) deletes a fix once answered 2xx and does
# not read a per-item error: its fix is stored (flagged future_time / far_past_time, the
# received time in server_time) unless the time is unusable, then answered 400 (docs/ingest.md).
SINGLE_MAX_AHEAD = timedelta(days=366)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)  # no fix time at or after this is accepted
GENERATION_TTL_S = 30.0

HDOP_UERE_M = 5.0
"""Metres of horizontal error per unit of HDOP: a typical single-frequency GPS user
equivalent range error (UERE) of ~5 m (1 sigma), e.g. Langley, "Dilution of Precision", GPS
World 10(5), 1999; accuracy_m = HDOP x UERE when a client sends only HDOP."""

SPEED_UNITS_MPS = {"kn": 1852.0 / 3600.0, "mps": 1.0, "kmh": 1000.0 / 3600.0}
"""Metres per second of one unit of each device speed unit (``device.speed_unit``)."""

MAX_TEXT_CHARS = 1000
MAX_ATTRIBUTE_DEPTH = 8
MAX_ATTRIBUTE_BYTES = 8 * 1024
SEQ_MAX = 2**63 - 1


class FixRefused(DomainError):
    """A single fix that cannot be stored as sent (400: the client keeps and resends it)."""


class ItemError(Exception):
    """One fix that cannot be stored: which field and how to fix it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def parse_time(value: Any, field: str = "timestamp") -> datetime:
    """Epoch seconds or milliseconds, ISO 8601, or ``yyyy-MM-dd HH:mm:ss`` (UTC, as Traccar)."""
    if value is None or value == "":
        raise ItemError(field, f"{field} is missing; send epoch seconds or ISO 8601")
    if isinstance(value, bool):  # a wrong type, not a missing value (issue 11)
        raise ItemError(
            field,
            f"{field} must be a number or a string (epoch seconds or ISO 8601), got "
            f"{str(value).lower()}",
        )
    number: float | None = None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        if "\x00" in value:  # fromisoformat takes any character between date and time
            raise ItemError(field, f"{field} contains a NUL character (\\u0000); remove it")
        text = value.strip()
        if len(text) > 64:
            raise ItemError(field, f"{field} is {len(text)} characters; a time is at most 64")
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
            return _in_range(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC), value, field)
    else:
        raise ItemError(field, f"{field} must be a number or a string, got {type(value).__name__}")
    if not math.isfinite(number):
        raise ItemError(field, f"{field} {value!r} is not a finite number")
    if number > 1e11:  # milliseconds (1e11 s is the year 5138)
        number /= 1000.0
    if number <= 0:
        raise ItemError(
            field,
            f"{field} {value!r} is no time (at or before 1970-01-01); the phone has no clock "
            "time for this fix: send epoch seconds or milliseconds of the fix",
        )
    try:
        return _in_range(datetime.fromtimestamp(number, tz=UTC), value, field)
    except (OverflowError, OSError, ValueError):
        raise ItemError(field, f"{field} {value!r} is out of range") from None


def _in_range(t: datetime, value: Any, field: str) -> datetime:
    """``t`` if it is after 1970 and before 2100 (what a fix time can be), else an ItemError."""
    try:
        utc = t.astimezone(UTC)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or not (datetime(1970, 1, 1, tzinfo=UTC) < utc < LATEST_TIME):
        raise ItemError(
            field,
            f"{field} {value!r} is outside 1970..2099; check the phone's clock and the time "
            "unit (seconds or milliseconds)",
        )
    return utc


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


# The range of each optional fix value (units in the names): outside it the fix is refused
# (per item in a batch, 400 for a single fix), never stored as nonsense or as Infinity.
VALUE_RANGES: dict[str, tuple[float, float]] = {
    "accuracy_m": (0.0, 100_000.0),
    "speed_mps": (0.0, 1_000.0),
    "course_deg": (0.0, 360.0),
    "altitude_m": (-12_000.0, 100_000.0),
    "battery_pct": (0.0, 100.0),
    "hdop": (0.0, 100.0),
}


UNKNOWN_SENTINELS: dict[str, frozenset[float]] = {
    "accuracy_m": frozenset({-1.0}),
    "speed_mps": frozenset({-1.0}),
    "course_deg": frozenset({-1.0}),
    "battery_pct": frozenset({-1.0}),
    "hdop": frozenset({-1.0}),
}
"""The values that mean "not known" for each fix value kind, as the client sent them (before
any unit conversion): Traccar Client (query, form and JSON body), OsmAnd, OwnTracks, iOS/Android
location APIs and our batch send -1 for an unknown speed, course, accuracy, HDOP or battery
level; such a value is stored NULL on every ingest path, never refused and never stored as data.
``altitude_m`` has none: -1 m is a real altitude (the city lies a few metres above sea level
and GPS heights scatter by ±10 m), and Traccar's own OsmAnd decoder stores altitude as sent."""


def is_unknown(value: Any, kind: str) -> bool:
    """Whether ``value`` (a number or its text) is a :data:`UNKNOWN_SENTINELS` value of
    ``kind``."""
    sentinels = UNKNOWN_SENTINELS.get(kind)
    if not sentinels or value is None or isinstance(value, bool):
        return False
    try:
        return float(value) in sentinels
    except (TypeError, ValueError):
        return False


def parse_value(value: Any, kind: str, field: str | None = None, *, scale: float = 1.0) -> float:
    """An optional fix value of :data:`VALUE_RANGES` kind ``kind`` (NaN when absent or a
    :data:`UNKNOWN_SENTINELS` value), checked after multiplying by ``scale`` (a unit
    conversion)."""
    low, high = VALUE_RANGES[kind]
    name = field or kind
    if is_unknown(value, kind):
        return math.nan
    number = parse_number(value, name)
    if math.isnan(number):
        return number
    number *= scale
    if not low <= number <= high:
        raise ItemError(name, f"{name} {value!r} is outside {low:g}..{high:g} ({kind})")
    return number


def check_text(value: Any, field: str, *, max_chars: int = MAX_TEXT_CHARS) -> str:
    """A string without NUL characters, at most ``max_chars`` long (PostgreSQL stores no NUL)."""
    if not isinstance(value, str):
        raise ItemError(field, f"{field} must be a string, got {type(value).__name__}")
    if "\x00" in value:
        raise ItemError(field, f"{field} contains a NUL character (\\u0000); remove it")
    if len(value) > max_chars:
        raise ItemError(field, f"{field} is {len(value)} characters; at most {max_chars}")
    return value


def check_attributes(attrs: Any, field: str = "attributes") -> dict[str, Any] | None:
    """Free-form fix attributes: an object nested at most :data:`MAX_ATTRIBUTE_DEPTH` deep,
    at most :data:`MAX_ATTRIBUTE_BYTES` as JSON, no NUL in keys or strings, finite numbers."""
    if attrs is None:
        return None
    if not isinstance(attrs, dict):
        raise ItemError(field, f"{field} must be an object")
    stack: list[tuple[Any, str, int]] = [(attrs, field, 1)]
    while stack:
        node, where, depth = stack.pop()
        if depth > MAX_ATTRIBUTE_DEPTH:
            raise ItemError(where, f"{field} is nested deeper than {MAX_ATTRIBUTE_DEPTH} levels")
        if isinstance(node, dict):
            for key, child in node.items():
                check_text(key, f"{where} key", max_chars=100)
                stack.append((child, f"{where}/{key}", depth + 1))  # a JSON pointer
        elif isinstance(node, list):
            stack.extend((child, f"{where}/{i}", depth + 1) for i, child in enumerate(node))
        elif isinstance(node, str):
            check_text(node, where)
        elif isinstance(node, float) and not math.isfinite(node):
            raise ItemError(where, f"{where} must be a finite number")
        elif isinstance(node, int) and not isinstance(node, bool) and abs(node) > SEQ_MAX:
            raise ItemError(where, f"{where} is outside the 64-bit integer range")
    try:
        size = len(orjson.dumps(attrs))
    except (TypeError, orjson.JSONEncodeError):
        raise ItemError(field, f"{field} cannot be stored as JSON") from None
    if size > MAX_ATTRIBUTE_BYTES:
        raise ItemError(field, f"{field} is {size} bytes as JSON; at most {MAX_ATTRIBUTE_BYTES}")
    return attrs


def check_seq(value: Any, field: str = "seq") -> int | None:
    """An optional client sequence number: an integer 0..2^63-1."""
    if value is None:
        return None
    if type(value) is not int:
        raise ItemError(field, f"{field} must be an integer, got {value!r}")
    if not 0 <= value <= SEQ_MAX:
        raise ItemError(field, f"{field} {value} is outside 0..2^63-1")
    return value


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
    # True when ``speed_mps`` holds speeds in the device's own unit (OsmAnd ``speed``), to be
    # converted with ``device.speed_unit`` once the device is known
    speed_in_device_unit: bool = False
    # Where a fix's time was in the request, ``{i}`` its input index: a JSON Pointer in a
    # batch (``fixes/{i}/time``) or GPX (``trkpt/{i}/time``), the parameter or key of a
    # single-fix protocol (OsmAnd ``timestamp``, OwnTracks ``tst``, Traccar
    # ``location/timestamp``); the ``field`` of a time refused after parsing (issue 11)
    time_field: str = "timestamp"

    def time_pointer(self, index: int) -> str:
        """The ``field`` naming the time of the fix with input index ``index``."""
        return self.time_field.format(i=index)

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


FLOAT_COLUMNS = ("lon", "lat", "accuracy_m", "speed_mps", "course_deg", "altitude_m",
                 "battery_pct")  # fmt: skip
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ERRORS_PER_SLICE = 2000


def pack_columns(fixes: FixColumns) -> dict[str, Any]:
    """``fixes`` in a form that crosses a process boundary cheaply (issue 11.6): numbers and
    times as numpy arrays (unpickled as one copy each, where 40,000 datetimes and floats took
    one call of 12-100+ ms holding the server's GIL), the errors and attributes as JSON
    slices. Undone by :func:`unpack_columns`; times are exact to the microsecond."""
    packed: dict[str, Any] = {name: np.asarray(getattr(fixes, name), dtype=np.float64)
                              for name in FLOAT_COLUMNS}  # fmt: skip
    packed.update(
        index=np.asarray(fixes.index, dtype=np.int64),
        t_us=fix_times_us(fixes.fix_time),
        valid=np.asarray(fixes.valid, dtype=bool),
        datum=fixes.datum, seq=fixes.seq,
        attributes=_slices(fixes.attributes) if any(fixes.attributes) else None,
        errors=_slices(fixes.errors),
        speed_in_device_unit=fixes.speed_in_device_unit, time_field=fixes.time_field,
    )  # fmt: skip
    return packed


def unpack_columns(packed: dict[str, Any]) -> FixColumns:
    """The :class:`FixColumns` of :func:`pack_columns` (in a worker thread: a Python loop the
    interpreter can interrupt, never one long call)."""
    fixes = FixColumns(
        index=packed["index"].tolist(),
        fix_time=[_UNIX_EPOCH + timedelta(microseconds=us) for us in packed["t_us"].tolist()],
        valid=packed["valid"].tolist(), datum=packed["datum"], seq=packed["seq"],
        speed_in_device_unit=packed["speed_in_device_unit"],
        time_field=packed["time_field"],
    )  # fmt: skip
    for name in FLOAT_COLUMNS:
        setattr(fixes, name, packed[name].tolist())
    if packed["attributes"] is None:
        fixes.attributes = [None] * len(fixes.index)
    else:
        for part in packed["attributes"]:
            fixes.attributes.extend(orjson.loads(part))
    for part in packed["errors"]:
        fixes.errors.extend(orjson.loads(part))
    return fixes


def _slices(items: list[Any]) -> list[bytes]:
    """``items`` as JSON, :data:`ERRORS_PER_SLICE` items a slice."""
    return [orjson.dumps(items[i : i + ERRORS_PER_SLICE])
            for i in range(0, len(items), ERRORS_PER_SLICE)]  # fmt: skip


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
                    fixes.time_pointer(fixes.index[k]),
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


def _refuse_unusable_times(fixes: FixColumns, now: datetime) -> None:
    """Single-fix clients: a fix time more than a year ahead is refused (400, the phone keeps
    the fix); any other time is stored and flagged by :func:`flag_fixes` (future_time beyond 5
    minutes ahead, far_past_time beyond 7 days old), the received time kept in server_time."""
    for index, t in zip(fixes.index, fixes.fix_time, strict=True):
        if t > now + SINGLE_MAX_AHEAD:
            raise FixRefused(
                f"fix time {t.isoformat()} is more than a year ahead of the server "
                f"({now.isoformat(timespec='seconds')}); set the phone's clock (automatic "
                "time) and check the time unit (seconds or milliseconds)",
                field=fixes.time_pointer(index),
            )


def _convert_speeds(fixes: FixColumns, unit: str | None) -> None:
    """Speeds sent in the device's unit to m/s (``device.speed_unit``, default knots)."""
    factor = SPEED_UNITS_MPS.get(unit or "kn", SPEED_UNITS_MPS["kn"])
    low, high = VALUE_RANGES["speed_mps"]
    for k, v in enumerate(fixes.speed_mps):
        mps = v * factor
        if not math.isnan(mps) and not low <= mps <= high:
            raise FixRefused(
                f"speed {v:g} {unit} is {mps:g} m/s, outside {low:g}..{high:g}",
                field="speed",
            )
        fixes.speed_mps[k] = mps
    fixes.speed_in_device_unit = False


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


def cgcs2000_positions(
    raw_lon: np.ndarray, raw_lat: np.ndarray, datum: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Positions as sent (degrees, in each fix's ``datum``: an object array of
    :class:`gis.crs.Datum` values) as CGCS2000 lon/lat degrees (new arrays)."""
    lon = raw_lon.copy()
    lat = raw_lat.copy()
    for d in set(datum.tolist()):
        if d in (Datum.WGS84.value, Datum.CGCS2000.value):
            continue  # the same at phone-GPS accuracy (DOMAIN.md section 4)
        sel = datum == d
        lon[sel], lat[sel] = to_cgcs2000(raw_lon[sel], raw_lat[sel], d)
    return lon, lat


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
    lon, lat = cgcs2000_positions(raw_lon, raw_lat, datum)
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
    if fixes.speed_in_device_unit:
        _convert_speeds(fixes, getattr(device, "speed_unit", None))
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
        device_id, secret_hash, prev, speed_unit = found
        check_secret_hash(external_id, secret_hash, secret)
        _refuse_unusable_times(fixes, now)
        if fixes.speed_in_device_unit:
            _convert_speeds(fixes, speed_unit)
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
