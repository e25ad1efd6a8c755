"""A gazetteer of our own places: town, village and grid names of the active generation.

``search_places`` turns a free-text address (``江阴市澄江街道万街社区``, ``万街社区第6网格``,
``澄江 万街``) into ranked places, each with a point and the precision it stands for. It serves
Open311 requests that give ``address_string`` without coordinates, the command centre's search
box and ``GET /api/v1/places?q=``.

Matching, in order (the first that finds something wins):

1. exact: the text (without the province/city prefix) is a place's name, or the names of a
   place and its ancestors in order (``澄江街道万街社区``);
2. contained: place names that occur in the text; the deepest place whose named ancestors are
   consistent with it wins (``江阴市澄江街道万街社区门口`` -> 万街社区);
3. fuzzy: similarity of the text to each name (difflib ratio, at least :data:`FUZZY_MIN`).

Each answer: ``{code, level, kind, name, full_name, lon, lat, crs, precision, radius_m, match,
score}`` with ``lon``/``lat`` a point inside the place (``ST_PointOnSurface``, CGCS2000
degrees), ``precision`` the kind of place the point stands for (town / village / grid) and
``radius_m`` the radius of a circle of the place's area (how far off the point may be).
Road and building names are not in the demo data; a layer of them would add kinds here.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.grids import active_generation

KINDS = {1: "town", 2: "village", 3: "grid"}
FUZZY_MIN = 0.6
MAX_TEXT = 200
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


_cache: dict[int, dict[str, Place]] = {}
_lock = threading.Lock()


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


def _answer(place: Place, places: dict[str, Place], match: str, score: float) -> dict[str, Any]:
    return {
        "code": place.code,
        "level": place.level,
        "kind": KINDS.get(place.level, "place"),
        "name": place.name,
        "full_name": "".join(p.name for p in _chain(place, places)),
        "lon": round(place.lon, 7),
        "lat": round(place.lat, 7),
        "crs": "cgcs2000",
        "precision": KINDS.get(place.level, "place"),
        "radius_m": round(math.sqrt(place.area_m2 / math.pi), 1) if place.area_m2 else None,
        "match": match,
        "score": round(score, 3),
    }


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
    places = _places(session, gen)

    exact = [
        p for p in places.values() if query in (p.name, "".join(a.name for a in _chain(p, places)))
    ]
    if exact:
        exact.sort(key=lambda p: (-p.level, p.code))
        return [_answer(p, places, "exact", 1.0) for p in exact[:limit]]

    contained = [p for p in places.values() if p.name in query]
    if contained:
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
        return [_answer(s[3], places, "contained", s[2]) for s in scored[:limit]]

    fuzzy = []
    for p in places.values():
        full = "".join(a.name for a in _chain(p, places))
        ratio = max(
            SequenceMatcher(None, query, p.name).ratio(),
            SequenceMatcher(None, query, full).ratio(),
        )
        if ratio >= FUZZY_MIN:
            fuzzy.append((ratio, p))
    fuzzy.sort(key=lambda s: (-s[0], -s[1].level, s[1].code))
    return [_answer(p, places, "fuzzy", r) for r, p in fuzzy[:limit]]


def place_address(*, session: Session, text: str) -> dict[str, Any] | None:
    """The single best place for an address, or None when nothing matches."""
    found = search_places(session=session, text=text, limit=1)
    return found[0] if found else None
