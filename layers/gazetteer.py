"""A gazetteer of our own places: town, village and grid names of the active generation.

``search_places`` turns a free-text address (``江阴市澄江街道万街社区``, ``万街社区第6网格``,
``澄江 万街``) into ranked places, each with a point and the precision it stands for. It serves
Open311 requests that give ``address_string`` without coordinates, the command centre's search
box and ``GET /api/v1/places?q=``.

A text of digits (spaces and dashes aside) is a grid code or part of one: the place with that
code, then places whose code starts with it (the first 9 or 12 digits: the town or village and
everything under it), then places whose code ends with it (the last 6 digits: a village's grid),
at least :data:`MIN_CODE_DIGITS` digits, from sorted in-memory lists (bisect). Otherwise names,
in tiers, best first (each tier's places after the tier above, none twice):

1. ``exact``: the text (without the province/city prefix) is a place's name, or the names of a
   place and its ancestors in order (``澄江街道万街社区``);
2. ``prefix``: a name (or the chain of names) starts with the text (``万街`` -> 万街社区 and its
   grids), the closer the lengths the better;
3. ``contains``: a name (or the chain) contains the text (``第6网格``);
4. ``contained``: place names that occur in the text; the deepest place whose named ancestors
   are consistent with it wins (``江阴市澄江街道万街社区门口`` -> 万街社区);
5. ``fuzzy``, only when no tier above found anything: similarity of the text to each name
   (difflib ratio, at least :data:`FUZZY_MIN`).

Each answer: ``{code, level, kind, name, full_name, lon, lat, crs, precision, radius_m, match,
matched_on, score}`` with ``lon``/``lat`` a point inside the place (``ST_PointOnSurface``,
CGCS2000 degrees), ``precision`` the kind of place the point stands for (town / village /
grid), ``radius_m`` the radius of a circle of the place's area (how far off the point may be),
``matched_on`` ``code`` or ``name``, ``score`` 0..1 (1 for exact).
Road, building and POI names: neither the demo city nor ../shared/data has any (the reference
data is the city's outline only); a layer of them would add kinds here.
"""

from __future__ import annotations

import math
import re
import threading
from bisect import bisect_left
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.grids import active_generation

KINDS = {1: "town", 2: "village", 3: "grid"}
FUZZY_MIN = 0.6
MAX_TEXT = 200
MIN_CODE_DIGITS = 3
"""Fewer digits find no code (an event number, a grid's sequence number)."""
_DIGITS = re.compile(r"^[0-9]+$")
# Administrative prefixes above our towns: dropped before matching.
_PREFIX = re.compile(r"^(中国)?(\S{2,3}(省|自治区))?(\S{2,4}市)?(\S{2,4}市)?")
_SPACE = re.compile(r"[\s,，、·\-]+")


@dataclass(frozen=True)
class Place:
    code: str
    level: int
    name: str
    parent_code: str | None
    lon: float
    lat: float
    area_m2: float


@dataclass(frozen=True)
class _Index:
    """A generation's places with their full names and the codes sorted forwards and
    reversed (prefix and suffix search by bisection)."""

    places: dict[str, Place]
    full: dict[str, str]
    codes: list[str]
    reversed_codes: list[tuple[str, str]]


_cache: dict[int, dict[str, Place]] = {}
_indexes: dict[int, _Index] = {}
_lock = threading.Lock()


def _index(session: Session, generation_id: int) -> _Index:
    found = _indexes.get(generation_id)
    if found is not None:
        return found
    places = _places(session, generation_id)
    index = _Index(
        places,
        {c: "".join(a.name for a in _chain(p, places)) for c, p in places.items()},
        sorted(places),
        sorted((c[::-1], c) for c in places),
    )
    with _lock:
        _indexes[generation_id] = index
    return index


def _places(session: Session, generation_id: int) -> dict[str, Place]:
    """Every place of a generation by code (loaded once per process and generation: a
    generation's grids never change once loaded)."""
    found = _cache.get(generation_id)
    if found is not None:
        return found
    rows = session.execute(
        text(
            # A point inside each polygon (PointOnSurface, not the centroid, which can fall
            # outside a concave village); CGCS2000 degrees as stored.
            "SELECT code, level, name, parent_code, ST_X(p) AS lon, ST_Y(p) AS lat, area_m2 "
            "FROM (SELECT code, level, name, parent_code, area_m2, ST_PointOnSurface(geom) AS p "
            "      FROM grid WHERE generation_id = :g) s"
        ),
        {"g": generation_id},
    ).all()
    places = {
        r.code: Place(
            r.code,
            int(r.level),
            r.name,
            r.parent_code,
            float(r.lon),
            float(r.lat),
            float(r.area_m2 or 0.0),
        )
        for r in rows
    }
    with _lock:
        _cache[generation_id] = places
    return places


def normalize(value: str) -> str:
    """Without spaces and punctuation, and without a leading province/city name."""
    cleaned = _SPACE.sub("", value.strip())[:MAX_TEXT]
    stripped = _PREFIX.sub("", cleaned, count=1)
    return stripped or cleaned


def _chain(place: Place, places: dict[str, Place]) -> list[Place]:
    """The place and its ancestors, top first."""
    out = [place]
    while out[0].parent_code and out[0].parent_code in places:
        out.insert(0, places[out[0].parent_code])
    return out


def _answer(place: Place, ix: _Index, match: str, score: float, on: str = "name") -> dict[str, Any]:
    return {
        "code": place.code,
        "level": place.level,
        "kind": KINDS.get(place.level, "place"),
        "name": place.name,
        "full_name": ix.full[place.code],
        "lon": round(place.lon, 7),
        "lat": round(place.lat, 7),
        "crs": "cgcs2000",
        "precision": KINDS.get(place.level, "place"),
        "radius_m": round(math.sqrt(place.area_m2 / math.pi), 1) if place.area_m2 else None,
        "match": match,
        "matched_on": on,
        "score": round(score, 3),
    }


def _codes(ix: _Index, digits: str, limit: int) -> list[dict[str, Any]]:
    """Places by code: exact, then prefix, then suffix; shallow levels first in each."""
    out: list[dict[str, Any]] = []
    if digits in ix.places:
        out.append(_answer(ix.places[digits], ix, "exact", 1.0, "code"))
    if len(digits) < MIN_CODE_DIGITS:
        return out
    seen = {digits}
    prefixed = []
    for code in ix.codes[bisect_left(ix.codes, digits) :]:
        if not code.startswith(digits):
            break
        if code not in seen:
            prefixed.append(ix.places[code])
    backwards = digits[::-1]
    suffixed = []
    for rev, code in ix.reversed_codes[bisect_left(ix.reversed_codes, (backwards, "")) :]:
        if not rev.startswith(backwards):
            break
        if code not in seen and not code.startswith(digits):
            suffixed.append(ix.places[code])
    for match, found, weight in (("prefix", prefixed, 0.9), ("suffix", suffixed, 0.8)):
        found.sort(key=lambda p: (p.level, p.code))
        for p in found:
            if len(out) >= limit:
                return out
            out.append(_answer(p, ix, match, weight * len(digits) / len(p.code), "code"))
    return out[:limit]


def search_places(
    *, session: Session, text: str, limit: int = 10, generation_id: int | None = None
) -> list[dict[str, Any]]:
    """Places matching ``text``, best first (at most ``limit``; empty when nothing is close).

    ``generation_id`` defaults to the active generation. Shapes and matching: module docstring.
    """
    query = normalize(text or "")
    if not query or limit < 1:
        return []
    gen = generation_id if generation_id is not None else active_generation(session=session).id
    ix = _index(session, gen)
    places = ix.places
    if _DIGITS.match(query):
        return _codes(ix, query, limit)

    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(match: str, ranked: list[tuple[float, Place]]) -> None:
        for score, p in ranked:
            if p.code not in seen and len(out) < limit:
                seen.add(p.code)
                out.append(_answer(p, ix, match, score))

    exact = [p for p in places.values() if query in (p.name, ix.full[p.code])]
    exact.sort(key=lambda p: (-p.level, p.code))
    add("exact", [(1.0, p) for p in exact])

    # a name starting with the text, then one containing it: the closer in length the better
    for match, hit, base in (
        ("prefix", lambda n: n.startswith(query), 0.7),
        ("contains", lambda n: query in n, 0.5),
    ):
        ranked = []
        for p in places.values():
            names = [n for n in (p.name, ix.full[p.code]) if hit(n)]
            if names:
                closeness = len(query) / min(len(n) for n in names)
                ranked.append((round(base + 0.29 * closeness, 3), p))
        ranked.sort(key=lambda s: (-s[0], s[1].level, s[1].code))
        add(match, ranked)

    contained = [p for p in places.values() if p.name in query]
    scored = []
    for p in contained:
        chain = _chain(p, places)
        named = [a for a in chain[:-1] if a.name in query]
        # Ancestors named in the text confirm the place; the deeper and the longer the
        # matched names, the better (a village named inside its own town beats a namesake).
        covered = sum(len(a.name) for a in named) + len(p.name)
        score = min(0.99, 0.5 + 0.5 * covered / max(len(query), 1))
        scored.append((len(named), p.level, score, p))
    # Most confirming ancestors first, then the deepest (万街社区第6网格 before 万街社区).
    scored.sort(key=lambda s: (-s[0], -s[1], -s[2], s[3].code))
    add("contained", [(s[2], s[3]) for s in scored])
    if out:
        return out

    fuzzy = []
    for p in places.values():
        ratio = max(
            SequenceMatcher(None, query, p.name).ratio(),
            SequenceMatcher(None, query, ix.full[p.code]).ratio(),
        )
        if ratio >= FUZZY_MIN:
            fuzzy.append((ratio, p))
    fuzzy.sort(key=lambda s: (-s[0], -s[1].level, s[1].code))
    add("fuzzy", fuzzy)
    return out


def place_address(*, session: Session, text: str) -> dict[str, Any] | None:
    """The single best place for an address, or None when nothing matches."""
    found = search_places(session=session, text=text, limit=1)
    return found[0] if found else None
