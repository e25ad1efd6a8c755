"""A coordinate pair typed by a person (the front page's search box, ``GET /api/v1/places?q=``).

:func:`parse_point` reads, case and full-width characters aside:

- decimal degrees, ``lon,lat`` or ``lat,lon`` when the order is clear (one value above 90 is
  the longitude, or the hemisphere letters say it): ``120.28,31.91``, ``31.91 120.28``,
  ``31.91N 120.28E``, ``N31.91 E120.28``;
- degrees, minutes, seconds: ``31°54'36"N 120°16'48"E``, ``北纬31度54分36秒 东经120度16分48秒``,
  ``120°16.8′E, 31°54.6′N``;
- CGCS2000 3-degree Gauss-Krüger metres, easting and northing in either order: an 8-digit
  easting prefixed by its zone number (``40540000,3530000``: zone 40, CM 120°E, EPSG:4528; zones
  25-45 are EPSG:4513-4533), or a 6-digit easting without it, on the central meridian
  ``default_srid`` stands for (EPSG:4549, CM 120°E for Jiangyin; EPSG:4534-4554 cover
  CM 75°E-135°E); an ``EPSG:45xx`` in the text names the projection;
- a datum for degrees: ``cgcs2000`` (default, or the ``default`` argument), ``wgs84``,
  ``gcj02`` (Amap/Tencent), ``bd09`` (Baidu), ``EPSG:4490``/``EPSG:4326`` (gis.crs.datum_of).

The answer is a :class:`TypedPoint`: CGCS2000 degrees (EPSG:4490, lon/lat), what was typed
and how it was read. A text that is not a coordinate attempt at all (words, a single number
such as a grid code or an event number) gives None; a text made of numbers and coordinate
marks that cannot be read raises :class:`CoordinateTextError` whose message names the problem
and lists the accepted forms (:data:`ACCEPTED_FORMS`, English and Chinese).

Sources: EPSG registry (CGCS2000 / 3-degree Gauss-Kruger zone N = EPSG:4488+N, CM 3N°E;
"CM x E" variants EPSG:4534-4554 = CM 75°E + 3° steps); the transform is pyproj's.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from gis.crs import SRID_CGCS2000, SRID_METRIC_DEFAULT, Datum, datum_of, to_cgcs2000, transformer

ZONE_SRIDS = range(4513, 4534)
"""CGCS2000 3-degree GK with the zone number in the easting: zone z (25..45) is EPSG:4488+z."""
CM_SRIDS = range(4534, 4555)
"""CGCS2000 3-degree GK without the zone number: CM 75°E (4534) .. 135°E (4554), 3° steps."""
_ZONE_TO_CM = 21  # EPSG:4528 (zone 40) and EPSG:4549 (CM 120°E) are the same projection

ACCEPTED_FORMS: dict[str, str] = {
    "en": (
        "Coordinates are read as: degrees lon,lat (120.28,31.91) or lat,lon when the order "
        "is clear (31.91,120.28 or 31.91N 120.28E), with the datum after them if not CGCS2000 "
        "(120.28,31.91 gcj02; wgs84, bd09); degrees-minutes-seconds (31°54'36\"N "
        "120°16'48\"E); CGCS2000 3-degree Gauss-Krüger metres, easting and northing in either "
        "order, the easting with its zone number (40540000,3530000: zone 40, EPSG:4528) or "
        "without it on the central meridian 120°E (540000,3530000: EPSG:4549)."
    ),
    "zh": (
        "可识别的坐标写法：经度,纬度（120.28,31.91），顺序明确时也可纬度在前（31.91,120.28 或 "
        "31.91N 120.28E）；非 CGCS2000 的在后面注明坐标系（120.28,31.91 gcj02；wgs84、bd09）；"
        "度分秒（北纬31度54分36秒 东经120度16分48秒，或 31°54'36\"N 120°16'48\"E）；"
        "CGCS2000 3度带高斯-克吕格平面坐标（米），东坐标与北坐标顺序不限，东坐标可带带号"
        "（40540000,3530000：40带，EPSG:4528），或不带带号、中央经线120°E"
        "（540000,3530000：EPSG:4549）。"
    ),
}


class CoordinateTextError(ValueError):
    """Numbers typed as a coordinate that cannot be read: ``message`` (English) and
    ``message_zh`` say why; ``hint(lang)`` adds the accepted forms."""

    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh

    def hint(self, lang: str = "en") -> str:
        """The reason and the accepted forms, in ``lang`` (zh or en)."""
        if lang == "zh":
            return f"{self.message_zh}。{ACCEPTED_FORMS['zh']}"
        return f"{self.message}. {ACCEPTED_FORMS['en']}"


@dataclass(frozen=True)
class TypedPoint:
    """A point read from text: ``lon``/``lat`` CGCS2000 degrees (EPSG:4490); ``form`` how it
    was written (``degrees``, ``dms``, ``gauss_kruger``); ``datum`` of the degrees typed (GK
    metres: cgcs2000); ``srid`` the EPSG code of the typed numbers (4490, 4326, 45xx; None for
    GCJ-02/BD-09, which have none); ``x``/``y`` the typed values as read (lon/lat degrees in
    ``datum``, or easting/northing metres)."""

    lon: float
    lat: float
    form: str
    datum: Datum
    srid: int | None
    x: float
    y: float


_DATUM_WORD = re.compile(
    r"epsg\s*[:：]?\s*(\d{4,5})|(cgcs\s*-?\s*2000|wgs\s*-?\s*84|gcj\s*-?\s*02|bd\s*-?\s*09|crs84)"
)
_TOKEN = re.compile(
    r"(?P<num>[-+]?\d+(?:\.\d+)?)"
    r"|(?P<deg>°|º|度)"
    r"|(?P<sec>\"|″|''|’’|秒)"
    r"|(?P<min>'|′|’|分)"
    r"|(?P<hemi>北纬|南纬|东经|西经|[nsew])"
    r"|(?P<sep>[\s,;/、，；]+)"
)
_UNITS = {"deg": 0, "min": 1, "sec": 2}
_HEMI = {"北纬": "n", "南纬": "s", "东经": "e", "西经": "w"}
_METRE_FORM = (
    "{v} is neither degrees nor Gauss-Krüger metres (a 6-digit easting, or 8 digits with the "
    "zone number, and a 7-digit northing)",
    "{v} 既不是度，也不是高斯-克吕格平面坐标（东坐标6位，带带号8位；北坐标7位）",
)


@dataclass
class _Value:
    parts: list[tuple[float, int | None]]
    hemi: str | None = None
    text: str = ""
    closed: bool = False  # a hemisphere letter after it ends it


def _fail(en: str, zh: str) -> CoordinateTextError:
    return CoordinateTextError(en, zh)


def _tokens(text: str) -> list[tuple[str, str]] | None:
    """(kind, text) tokens of ``text``, or None if anything in it is not a coordinate mark."""
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            return None
        kind = m.lastgroup or ""
        if kind != "sep":
            out.append((kind, m.group()))
        pos = m.end()
    return out


def _values(tokens: list[tuple[str, str]]) -> list[_Value]:
    """Numbers grouped into values: a number with a degree mark takes the minutes and seconds
    that follow it; a hemisphere goes with the number after it when the text starts with one,
    else with the number before it."""
    prefix = bool(tokens) and tokens[0][0] == "hemi"
    values: list[_Value] = []
    pending: str | None = None
    i = 0
    while i < len(tokens):
        kind, word = tokens[i]
        if kind == "hemi":
            hemi = _HEMI.get(word, word)
            if prefix:
                pending = hemi
            elif values and values[-1].hemi is None:
                values[-1].hemi = hemi
                values[-1].closed = True
            else:
                raise _fail(f"{word!r} follows no number", f"“{word}”前面没有数值")
            i += 1
            continue
        if kind != "num":
            raise _fail(f"{word!r} follows no number", f"“{word}”前面没有数值")
        unit = None
        if i + 1 < len(tokens) and tokens[i + 1][0] in _UNITS:
            unit = _UNITS[tokens[i + 1][0]]
        current = values[-1] if values else None
        last_unit = current.parts[-1][1] if current else None
        joins = (
            current is not None
            and unit is not None
            and last_unit is not None
            and unit > last_unit
            and not current.closed
            and pending is None
        )
        if joins and current is not None:
            current.parts.append((float(word), unit))
            current.text += word
        else:
            values.append(_Value([(float(word), unit)], pending, word))
            pending = None
        i += 2 if unit is not None else 1
    if pending is not None:
        raise _fail("a hemisphere letter follows no number", "方位字母后面没有数值")
    return values


def _degrees(value: _Value) -> float:
    """Decimal degrees of a value (minutes and seconds under 60, unsigned after degrees)."""
    first, first_unit = value.parts[0]
    if first_unit not in (None, 0):
        raise _fail(
            f"{value.text} has minutes or seconds without degrees", f"{value.text} 缺少“度”"
        )
    total = abs(first)
    for number, unit in value.parts[1:]:
        if number < 0 or number >= 60:
            raise _fail(
                f"{number:g} minutes or seconds is not under 60", f"分、秒应小于60（{number:g}）"
            )
        total += number / (60.0 if unit == 1 else 3600.0)
    negative = first < 0 or (first == 0 and str(first).startswith("-"))
    if value.hemi in ("s", "w"):
        negative = not negative
    return -total if negative else total


def _split_datum(text: str) -> tuple[str, Datum | None, int | None]:
    """The text without its datum word, the datum and the EPSG code it names."""
    found = list(_DATUM_WORD.finditer(text))
    if len(found) > 1:
        raise _fail("name one datum or EPSG code, not two", "只能注明一个坐标系")
    if not found:
        return text, None, None
    m = found[0]
    rest = text[: m.start()] + " " + text[m.end() :]
    if m.group(1):
        srid = int(m.group(1))
        if srid in ZONE_SRIDS or srid in CM_SRIDS:
            return rest, Datum.CGCS2000, srid
        datum = datum_of(f"epsg:{srid}")
        if datum is None:
            raise _fail(
                f"EPSG:{srid} is not taken here; use EPSG:4490, EPSG:4326 or a CGCS2000 "
                "3-degree Gauss-Krüger EPSG:4513-4554",
                f"不支持 EPSG:{srid}；请用 EPSG:4490、EPSG:4326 或 CGCS2000 3度带 EPSG:4513-4554",
            )
        return rest, datum, None
    word = re.sub(r"[\s-]", "", m.group(2))
    datum = datum_of(word)
    return rest, datum, None


def parse_point(
    text: str, *, default: Datum = Datum.CGCS2000, default_srid: int = SRID_METRIC_DEFAULT
) -> TypedPoint | None:
    """The point ``text`` writes (forms: module docstring), None when ``text`` is no coordinate
    attempt (words, one number). ``default``: the datum of degrees that name none;
    ``default_srid``: the Gauss-Krüger projection of a 6-digit easting (EPSG:4534-4554).

    Raises
    ------
    CoordinateTextError
        numbers and coordinate marks that do not make one point (message: why, in English and
        Chinese; ``hint(lang)`` adds :data:`ACCEPTED_FORMS`).
    """
    clean = unicodedata.normalize("NFKC", text or "").strip().lower()[:200]
    if not clean:
        return None
    rest, datum, srid = _split_datum(clean)
    tokens = _tokens(rest.strip())
    if tokens is None:
        return None
    numbers = [w for k, w in tokens if k == "num"]
    marks = datum is not None or any(k != "num" for k, _ in tokens)
    if not numbers or (len(numbers) < 2 and datum is None):
        return None  # one number: a grid code or an event number, not a coordinate
    if not marks and any(re.match(r"[-+]?0\d", w) for w in numbers):
        return None  # "320281 001 201": a grid code written in parts
    values = _values(tokens)
    if len(values) != 2:
        raise _fail(
            f"a coordinate is two values, this text has {len(values)}",
            f"坐标应为两个数值，这里有 {len(values)} 个",
        )
    marked = any(v.hemi or v.parts[0][1] is not None for v in values)
    # degrees have at most three digits before the point; metres six or more
    if marked or all(abs(v.parts[0][0]) < 1000 for v in values):
        if srid is not None:
            raise _fail(
                f"EPSG:{srid} is in metres, the numbers are degrees",
                f"EPSG:{srid} 是平面坐标（米），而数值是经纬度",
            )
        return _from_degrees(values, datum or default)
    return _from_metres(values, datum, srid, default_srid)


def _from_degrees(values: list[_Value], datum: Datum) -> TypedPoint:
    a, b = values
    da, db = _degrees(a), _degrees(b)
    form = (
        "dms" if any(len(v.parts) > 1 or v.parts[0][1] is not None for v in values) else "degrees"
    )
    axes = {v.hemi in ("n", "s") for v in values if v.hemi}
    if a.hemi and b.hemi and len(axes) == 1:
        raise _fail(
            "both values carry a latitude (N/S) or both a longitude (E/W) letter",
            "两个数值都标为纬度（N/S）或都标为经度（E/W）",
        )
    if a.hemi:
        lat_first = a.hemi in ("n", "s")
    elif b.hemi:
        lat_first = b.hemi in ("e", "w")
    elif abs(da) > 90 >= abs(db) or da == db:
        lat_first = False
    elif abs(db) > 90 >= abs(da):
        lat_first = True
    elif abs(da) > 90 and abs(db) > 90:
        raise _fail(
            f"{a.text},{b.text}: latitude out of range (neither is within -90..90)",
            f"{a.text},{b.text}：纬度超出范围（应在 -90 到 90 之间）",
        )
    else:
        raise _fail(
            f"{a.text},{b.text}: which is the longitude is unclear (both are 90 or less); "
            "mark them with N and E",
            f"{a.text},{b.text}：无法判断哪个是经度（都不超过90），请标明 N、E",
        )
    lon, lat = (db, da) if lat_first else (da, db)
    if not -180.0 <= lon <= 180.0:
        raise _fail(
            f"longitude {lon:g} out of range (-180..180)",
            f"经度超出范围（应在 -180 到 180 之间）：{lon:g}",
        )
    if not -90.0 <= lat <= 90.0:  # a latitude marked N/S
        raise _fail(
            f"latitude {lat:g} out of range (-90..90)",
            f"纬度超出范围（应在 -90 到 90 之间）：{lat:g}",
        )
    x, y = to_cgcs2000(np.array([lon]), np.array([lat]), datum)
    srids = {Datum.CGCS2000: SRID_CGCS2000, Datum.WGS84: 4326}
    return TypedPoint(float(x[0]), float(y[0]), form, datum, srids.get(datum), lon, lat)


def _from_metres(
    values: list[_Value], datum: Datum | None, srid: int | None, default_srid: int
) -> TypedPoint:
    if datum not in (None, Datum.CGCS2000):
        raise _fail(
            f"Gauss-Krüger metres are CGCS2000, not {datum}",
            f"高斯-克吕格平面坐标只接受 CGCS2000，不接受 {datum}",
        )
    numbers = [v.parts[0][0] for v in values]
    for v, n in zip(values, numbers, strict=True):
        if len(v.parts) > 1 or v.hemi or n < 0:
            raise _fail(_METRE_FORM[0].format(v=v.text), _METRE_FORM[1].format(v=v.text))

    def digits(n: float) -> int:
        return len(str(int(n)))

    kinds = [digits(n) for n in numbers]
    if sorted(kinds) not in ([6, 7], [7, 8]):
        bad = next((v.text for v, k in zip(values, kinds, strict=True) if k not in (6, 7, 8)), None)
        shown = bad or ",".join(v.text for v in values)
        raise _fail(_METRE_FORM[0].format(v=shown), _METRE_FORM[1].format(v=shown))
    east, north = (numbers[0], numbers[1]) if kinds[0] != 7 else (numbers[1], numbers[0])
    cm_srid = srid if srid is not None else default_srid
    if srid is not None and srid in ZONE_SRIDS:
        cm_srid = srid + _ZONE_TO_CM
    if digits(east) == 8:
        zone = int(east // 1_000_000)
        zone_srid = 4488 + zone
        if zone_srid not in ZONE_SRIDS:
            raise _fail(
                f"zone {zone} of easting {east:.0f} is not a CGCS2000 3-degree zone (25-45)",
                f"东坐标 {east:.0f} 的带号 {zone} 不是 CGCS2000 3度带带号（25-45）",
            )
        if srid is not None and zone_srid + _ZONE_TO_CM != cm_srid:
            raise _fail(
                f"easting {east:.0f} is in zone {zone}, not in EPSG:{srid}",
                f"东坐标 {east:.0f} 在 {zone} 带，与 EPSG:{srid} 不符",
            )
        typed_srid, easting = zone_srid, east - zone * 1_000_000
        cm_srid = zone_srid + _ZONE_TO_CM
    else:
        typed_srid, easting = cm_srid, east
    if cm_srid not in CM_SRIDS:
        raise _fail(
            f"EPSG:{cm_srid} is not a CGCS2000 3-degree Gauss-Krüger projection",
            f"EPSG:{cm_srid} 不是 CGCS2000 3度带高斯-克吕格投影",
        )
    lon, lat = transformer(cm_srid, SRID_CGCS2000).transform(easting, north)
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lat) > 90:
        raise _fail(
            f"{east:.0f},{north:.0f} is no place on Earth", f"{east:.0f},{north:.0f} 不在地球上"
        )
    return TypedPoint(
        float(lon), float(lat), "gauss_kruger", Datum.CGCS2000, typed_srid, east, north
    )
