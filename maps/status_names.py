"""Event statuses by name, for pages and tables that list statuses without drawing them (the
/plan impact list, the impact XLSX): read from the one table of status words, ``LABELS``'s
``event_status_*`` entries in :mod:`maps.styles`."""

from __future__ import annotations

from maps.styles import DEFAULT_LANG, LABELS, resolve_lang

PREFIX = "event_status_"


def event_status_names(lang: str | None = DEFAULT_LANG) -> dict[str, str]:
    """``{"in_handling": "处置中", …}`` in ``lang`` (zh, or en; anything else: zh)."""
    chosen = resolve_lang(lang)
    return {k.removeprefix(PREFIX): v[chosen] for k, v in LABELS.items() if k.startswith(PREFIX)}
