"""Notes the system writes into a case's log (routing of a grid without a worker, overdue
escalation, a holiday table loaded), in both languages.

A person's note is their own words and is shown as typed. A system note is stored with its
Chinese text in ``event_log.note`` (what every reader of the log has always seen) and its
English text in ``event_log.data["note_en"]``; :func:`note_for` gives a step's note in the
reader's language, so an English page never shows the Chinese sentence and a Chinese page
never the English one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NOTE_EN_KEY = "note_en"


@dataclass(frozen=True)
class SystemNote:
    """A note the system writes: ``zh`` and ``en`` say the same thing."""

    zh: str
    en: str


def stored(
    note: str | SystemNote | None, data: dict[str, Any] | None
) -> tuple[str | None, dict[str, Any]]:
    """(``event_log.note``, ``event_log.data``) for a note: a :class:`SystemNote` keeps its
    Chinese as the note and its English under ``data["note_en"]``; a person's note as it is."""
    data = dict(data or {})
    if isinstance(note, SystemNote):
        data[NOTE_EN_KEY] = note.en
        return note.zh, data
    return note, data


def note_for(note: str | None, data: dict[str, Any] | None, lang: str) -> str | None:
    """A step's note in ``lang`` ("zh" or "en"): the English of a system note on English
    requests, else the stored note."""
    if lang == "en" and data and isinstance(data.get(NOTE_EN_KEY), str):
        return str(data[NOTE_EN_KEY])
    return note
