"""Events (事件 / 入格事项) and the closed-loop case workflow (DOMAIN.md section 3).

- :mod:`layers.events.models`: tables (dictionary, events, the append-only log, photos);
- :mod:`layers.events.dictionary`: event classes/subclasses, seeded and editable;
- :mod:`layers.events.workflow`: the state machine as data, deadlines, overdue;
- :mod:`layers.events.intake`: staff reports, routing, duplicates, photos, hotline files;
- :mod:`layers.events.kpis`: the assessment indicators, computed in SQL.
"""
