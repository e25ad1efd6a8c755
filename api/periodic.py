"""Work a server does on its own, on a timer: recomputing past days' coverage when late fixes
have arrived (``layers.coverage.recompute_late``), bringing today's stored patrol statistics up
to date (``layers.device_daily.refresh_day``: the day is computed once early and then continued,
so ``GET /patrol/daily`` has little left to do), activating scheduled publications whose time
has come (``layers.planning.review.apply_due_publications``), forgetting sign-in attempt
counts older than the longest throttle window (``layers.login_throttle.purge``), and once a
day forgetting idempotency keys older than their 30 days (``layers.idempotency.purge``).

One daemon thread per server process; the work itself takes an advisory lock, so with several
workers one of them does it and the others skip that round.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("gridgis.periodic")
PURGE_EVERY_S = 24 * 3600.0


def start_late_fix_recompute(
    sessions: sessionmaker[Session], interval_s: float, *, metric_srid: int | None = None
) -> Callable[[], None]:
    """Every ``interval_s`` seconds, recompute the runs of past days that received late fixes
    and today's patrol statistics (in ``metric_srid``, the one ``GET /patrol/daily`` uses: by
    default the configured ``GRIDGIS_METRIC_SRID``); returns a function that stops the
    thread. ``interval_s <= 0``: never (returns a no-op)."""
    if interval_s <= 0:
        return lambda: None
    stop = threading.Event()
    if metric_srid is None:
        from api.settings import Settings

        metric_srid = Settings().geo.metric_srid

    def run() -> None:
        from layers.coverage import recompute_late  # numba and the engine: only when needed
        from layers.db import transaction
        from layers.device_daily import refresh_day
        from layers.idempotency import purge
        from layers.login_throttle import purge as purge_login_attempts
        from layers.workcal import SHANGHAI

        purged_at = float("-inf")  # the first round purges
        while not stop.wait(interval_s):
            try:
                # scheduled publications take effect at their time, not at the next lookup
                with transaction(sessions) as session:
                    from layers.planning.review import apply_due_publications

                    for generation_id in apply_due_publications(session):
                        log.info("scheduled publication: generation %d active", generation_id)
                with transaction(sessions) as session:
                    for summary in recompute_late(session=session):
                        if summary.get("skipped"):  # kept until the month is restored
                            log.debug("late fixes: kept %s", summary)
                        else:
                            log.info("late fixes: recomputed %s", summary)
                with transaction(sessions) as session:
                    today = datetime.now(SHANGHAI).date()
                    log.info("patrol statistics: %s", refresh_day(
                        session=session, day=today, metric_srid=metric_srid
                    ))  # fmt: skip
                # sign-in counts older than the longest throttle window (a cheap delete)
                forgotten = purge_login_attempts(sessions.kw["bind"])
                if forgotten:
                    log.info("sign-in attempt counts forgotten: %d", forgotten)
                if time.monotonic() - purged_at > PURGE_EVERY_S:
                    with transaction(sessions) as session:
                        log.info("idempotency keys forgotten: %d", purge(session=session))
                    purged_at = time.monotonic()
            except Exception:  # the server keeps serving; the notes stay for the next round
                log.exception("periodic work failed; retried at the next round")

    thread = threading.Thread(target=run, name="gridgis-late-fixes", daemon=True)
    thread.start()

    def stop_thread() -> None:
        stop.set()
        thread.join(timeout=30)

    return stop_thread
