"""``/health`` answers from the event loop (issue 11, kind of fault 7).

Proves: the route is a coroutine (no wait for a worker of the shared thread pool) whose
database probe runs on its own thread and its own pool (api/health_probe.py), and the probe
answers what ``/health`` always answered. How long it takes under a login flood is measured by
bench/bench_health_busy.py (no timing is asserted here).
"""

from __future__ import annotations

import inspect
import threading
from types import SimpleNamespace

from sqlalchemy import Engine

from api.health_probe import HealthProbe, probe_of
from api.routes.health import health
from tests.async_support import run_async


def test_health_is_a_coroutine_on_its_own_thread_and_pool(engine: Engine) -> None:
    assert inspect.iscoroutinefunction(health)
    state = SimpleNamespace(engine=engine)
    probe = probe_of(state)
    try:
        assert probe_of(state) is probe  # one per process
        assert probe.engine is not engine and probe.engine.url == engine.url
        threads: list[str] = []
        original = HealthProbe._probe

        def spy(self: HealthProbe) -> dict:
            threads.append(threading.current_thread().name)
            return original(self)

        HealthProbe._probe = spy  # type: ignore[method-assign]
        try:
            answer = run_async(probe.run())
        finally:
            HealthProbe._probe = original  # type: ignore[method-assign]
        assert threads and threads[0].startswith("gridgis-health")
        assert answer["status"] == "ok" and answer["database"] in ("up", "read_only")
        assert answer["postgis"] and isinstance(answer["calendar_unconfirmed_years"], list)
    finally:
        probe.close()


def test_health_over_http(anon) -> None:
    r = anon.get("/health")
    assert r.status_code == 200, r.text
    assert r.json()["database"] == "up"
