"""People's roles as people read them, zh and en: the one table of role words.

The staff roles of a grid's team (layers.people.StaffRole: 一长五员) and the accounts' roles
(layers.models.Role). It lives at the bottom of the package layers because both sides need it:
``maps.styles.ROLE_NAMES`` hands it to the pages (/live, /events/map, /plan) and
``layers.roster`` reads and writes the Chinese words of roster spreadsheets with it
(import-linter forbids ``layers`` and ``maps`` importing each other).
"""

from __future__ import annotations

ROLE_NAMES: dict[str, dict[str, str]] = {
    "zh": {"grid_chief": "网格长", "grid_worker": "网格员", "patroller": "巡查员",
           "supervisor": "督查员", "informant": "信息员", "liaison": "联络员",
           "dispatcher": "调度员", "officer": "执法队员", "admin": "管理员", "viewer": "查看者",
           "planner": "规划员"},
    "en": {"grid_chief": "Grid chief", "grid_worker": "Grid worker", "patroller": "Patrol officer",
           "supervisor": "Supervisor", "informant": "Informant", "liaison": "Liaison",
           "dispatcher": "Dispatcher", "officer": "Officer", "admin": "Administrator",
           "viewer": "Viewer", "planner": "Planner"},
}  # fmt: skip
"""Language ("zh", "en") -> role value -> the role's name in that language."""
