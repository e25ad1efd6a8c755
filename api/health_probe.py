"""``/health``'s database probe on its own connection and its own thread (issue 11).

``/health`` used to be a plain (sync) route: it waited for a worker of the shared thread pool
and for a connection of the shared pool, behind the work of every other request (password
checks, uploads being parsed, database work of imports), so during a login flood it took up to
2 s. Here the probe runs on one dedicated thread with its own connections (a pool of two,
pinged at checkout), so ``/health`` answers from the event loop as soon as that one query
returns, whatever the rest of the server is doing. Every request still probes the database
(no cache: a holiday table loaded a moment ago is reported on the very next request).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from layers.calendar_tables import ensure_loaded
from layers.db import follow_server_state
from layers.deadlines import open_unconfirmed_years


class HealthProbe:
    """The probe of one server process: one thread, its own pool on ``engine``'s database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = create_engine(
            engine.url,
            pool_size=2,  # the probe's and the holiday tables' check (layers/calendar_tables.py)
            max_overflow=1,  # their first seeding
            pool_timeout=30,
            pool_pre_ping=True,
            connect_args={"options": "-c timezone=UTC"},
        )
        follow_server_state(self.engine)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gridgis-health")

    def _probe(self) -> dict[str, Any]:
        with Session(self.engine) as session, session.begin():
            postgis, read_only = session.execute(
                text(
                    "SELECT postgis_lib_version(), current_setting('transaction_read_only') = 'on'"
                )
            ).one()
            ensure_loaded(session, check=True)  # right at once, even before a NOTIFY arrived
            return {
                "status": "ok",
                "database": "read_only" if read_only else "up",
                "postgis": postgis,
                "calendar_unconfirmed_years": open_unconfirmed_years(session=session),
            }

    async def run(self) -> dict[str, Any]:
        """The health answer (``status``, ``database``, ``postgis``,
        ``calendar_unconfirmed_years``); raises the database's error when it is unreachable
        (api/errors.py answers 503 with ``Retry-After``)."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._probe)

    def close(self) -> None:
        self._thread.shutdown(wait=False)
        self.engine.dispose()


def probe_of(state: Any) -> HealthProbe:
    """The app's probe (``app.state.health_probe``), made on first use from its engine."""
    probe = getattr(state, "health_probe", None)
    if probe is None:
        probe = state.health_probe = HealthProbe(state.engine)
    return probe
