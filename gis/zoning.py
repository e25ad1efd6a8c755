"""Enforcement zones (执法片区) as sets of whole unit grids: does a town's zoning tile it?

Zones are given by member grid codes at any level below the town (a village code stands for
all its unit grids). Expanded to unit grids (L3), the zones of a town tile it exactly when
every unit grid of the town is in exactly one zone and no zone reaches outside the town.
Pure set logic on codes; geometry is derived elsewhere from the member grids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ZoneProblem:
    """One defect: ``kind`` is gap | overlap | outside_town | unknown_code | empty_zone."""

    kind: str
    zone: str | None
    codes: tuple[str, ...]
    message: str

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "zone": self.zone,
            "codes": list(self.codes),
            "message": self.message,
        }


@dataclass
class TilingReport:
    town_code: str
    zone_grids: dict[str, list[str]] = field(default_factory=dict)
    problems: list[ZoneProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return "; ".join(p.message for p in self.problems[:5]) + (
            f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        )


def _preview(codes: Iterable[str], n: int = 5) -> str:
    items = sorted(codes)
    head = ", ".join(items[:n])
    return head + (f" … ({len(items)} in all)" if len(items) > n else "")


def check_zone_tiling(
    town_code: str, unit_grids: Iterable[str], zones: Mapping[str, Iterable[str]]
) -> TilingReport:
    """Check that ``zones`` (zone name -> member codes) tile the town's ``unit_grids`` (L3 codes).

    A member code may be a unit grid or any ancestor of unit grids (village, town); it stands
    for the unit grids whose code starts with it. Every problem names the zone(s), the codes
    and the fix.
    """
    town_grids = set(unit_grids)
    report = TilingReport(town_code=town_code)
    owner: dict[str, str] = {}
    overlaps: dict[tuple[str, str], set[str]] = {}
    for zone, members in zones.items():
        expanded: set[str] = set()
        unknown = []
        outside = []
        for code in members:
            if not code.startswith(town_code):
                outside.append(code)
                continue
            hit = {g for g in town_grids if g.startswith(code)}
            if not hit:
                unknown.append(code)
            expanded |= hit
        if outside:
            report.problems.append(
                ZoneProblem(
                    "outside_town",
                    zone,
                    tuple(sorted(outside)),
                    f"zone {zone} lists grids outside town {town_code}: {_preview(outside)}; "
                    "a zone is made of grids of its own town only",
                )
            )
        if unknown:
            report.problems.append(
                ZoneProblem(
                    "unknown_code",
                    zone,
                    tuple(sorted(unknown)),
                    f"zone {zone} lists codes that are no grid of town {town_code}: "
                    f"{_preview(unknown)}; check the codes against /api/v1/grids",
                )
            )
        if not expanded and not unknown and not outside:
            report.problems.append(
                ZoneProblem("empty_zone", zone, (), f"zone {zone} has no grids; add its grids")
            )
        for g in expanded:
            if g in owner and owner[g] != zone:
                overlaps.setdefault((owner[g], zone), set()).add(g)
            else:
                owner[g] = zone
        report.zone_grids[zone] = sorted(expanded)
    for (a, b), codes in sorted(overlaps.items()):
        report.problems.append(
            ZoneProblem(
                "overlap",
                f"{a}|{b}",
                tuple(sorted(codes)),
                f"zones {a} and {b} overlap on {_preview(codes)}; put each grid in one zone",
            )
        )
    gap = town_grids - owner.keys()
    if gap:
        report.problems.append(
            ZoneProblem(
                "gap",
                None,
                tuple(sorted(gap)),
                f"grids of town {town_code} in no zone: {_preview(gap)}; add them to a zone",
            )
        )
    return report
