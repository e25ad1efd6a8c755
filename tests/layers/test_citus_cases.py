"""Cases on Citus: a database made before migration 0026 converted with its cases, the
dashboard's KPI panel pushed down to the workers, reads of one case routed to one shard.

Each on a private Citus cluster (a coordinator and 2 workers, :func:`citus_cluster`), compared
with the single-node test database where answers are compared. Skipped without Citus.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy import event as sqlalchemy_event

from layers.citus import CITUS_LIBRARY, CitusCluster, citus_available, citus_tables
from layers.db import make_engine, make_sessionmaker, transaction
from layers.migrate import upgrade
from tests.layers.test_citus import citus_cluster  # noqa: F401  (module fixture)

pytestmark = pytest.mark.skipif(
    not citus_available(),
    reason=f"Citus is not installed ({CITUS_LIBRARY} missing); ./run.sh test builds it from "
    "../shared/vendor/citus, or install postgresql-15-citus-13.2",
)

EVENT_TABLES = ("event", "event_log", "event_photo", "open311_request")
PRE_0026 = "0025_calendar_notify"
TOWNS = ("999999991", "999999992", "999999993")  # no other test files cases there


def _old_distribution_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """The distribution step as it was before migration 0026: only ``position`` and its
    co-located tables distributed, the event tables left on the coordinator (Citus local
    tables: ``event`` referenced ``generation``, the log has its append-only trigger)."""
    import layers.citus as citus

    monkeypatch.setattr(citus, "DISTRIBUTED", {"position": "device_id"})
    monkeypatch.setattr(
        citus, "COLOCATED", {k: v for k, v in citus.COLOCATED.items() if v[1] == "position"}
    )
    monkeypatch.setattr(citus, "_prepare_event_tables", lambda conn: None)
    monkeypatch.setattr(citus, "_event_foreign_keys", lambda conn: None)


def _cases_at_0025(conn: Any) -> dict[str, int]:
    """Cases in three towns, each with two log entries; photos on some, Open311 requests on
    others (the 0025 schema: no ``filed_town_code``). Returns the row counts written."""
    generation = conn.execute(
        text("INSERT INTO generation (name, status) VALUES ('pre-0026', 'draft') RETURNING id")
    ).scalar()
    counts = dict.fromkeys(EVENT_TABLES, 0)
    for i in range(12):
        town = TOWNS[i % 3]
        grid = f"{town}001{i:03d}"
        event_id = conn.execute(
            text(
                "INSERT INTO event (source, subclass_code, description, geom, reported_at, "
                "generation_id, grid_code, village_code, town_code, department, status, "
                "accepted_at) VALUES ('patrol', '0101', :d, "
                "ST_SetSRID(ST_MakePoint(120.3, 31.9), 4490), now() - interval '1 day', :g, "
                ":grid, :village, :town, '镇街环卫所', 'accepted', now()) RETURNING id"
            ),
            {"d": f"pre-0026 case {i}", "g": generation, "grid": grid, "village": grid[:12],
             "town": town},
        ).scalar()  # fmt: skip
        counts["event"] += 1
        for action, status in (("report", "reported"), ("accept", "accepted")):
            conn.execute(
                text(
                    "INSERT INTO event_log (event_id, at, action, to_status, actor_role, "
                    "actor_name) VALUES (:e, now(), :a, :s, 'admin', 'test')"
                ),
                {"e": event_id, "a": action, "s": status},
            )
            counts["event_log"] += 1
        if i % 2 == 0:
            conn.execute(
                text(
                    "INSERT INTO event_photo (event_id, filename, media_type, size_bytes, "
                    "width_px, height_px, sha256, data) VALUES (:e, 'a.png', 'image/png', 3, "
                    "1, 1, repeat('0', 64), '\\x010203')"
                ),
                {"e": event_id},
            )
            counts["event_photo"] += 1
        else:
            conn.execute(
                text("INSERT INTO open311_request (event_id, email) VALUES (:e, 'a@b.cn')"),
                {"e": event_id},
            )
            counts["open311_request"] += 1
    return counts


def _contents(conn: Any) -> dict[str, str]:
    """A digest of every row of the event tables (``filed_town_code`` left out)."""
    row = "(to_jsonb(r) - 'filed_town_code')::text"
    return {
        t: conn.execute(
            text(f"SELECT count(*) || ':' || md5(string_agg({row}, '|' ORDER BY {row})) FROM {t} r")
        ).scalar()
        for t in EVENT_TABLES
    }


@pytest.fixture(scope="module")
def pre_0026_database(citus_cluster: CitusCluster) -> Iterator[Engine]:  # noqa: F811
    """A database of its own on the cluster: migrated to 0025 with the distribution step of
    that time (event tables on the coordinator), holding cases; dropped after."""
    name = "gridgis_pre_0026"
    citus_cluster.prepare_database(name)
    engine = make_engine(citus_cluster.url_for(name))
    try:
        yield engine
    finally:
        engine.dispose()
        citus_cluster.drop_database(name)


def test_database_made_before_0026_keeps_its_cases_distributed(
    pre_0026_database: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upgrading a Citus database made before 0026 that holds cases: every row kept (same
    ids, same content), every row of a case given its case's town and stored on its case's
    shard, the four tables distributed by ``filed_town_code`` in one co-location group."""
    engine = pre_0026_database
    with monkeypatch.context() as m:
        _old_distribution_step(m)
        upgrade(engine, PRE_0026)
    with engine.begin() as conn:
        assert {citus_tables(conn)[t] for t in EVENT_TABLES} == {"local"}
        written = _cases_at_0025(conn)
        before = _contents(conn)
    upgrade(engine)
    with engine.connect() as conn:
        kinds = citus_tables(conn)
        assert {kinds[t] for t in EVENT_TABLES} == {"distributed"}
        groups = conn.execute(
            text(
                "SELECT count(DISTINCT colocationid), "
                "array_agg(DISTINCT column_to_column_name(logicalrelid, partkey)) "
                "FROM pg_dist_partition WHERE logicalrelid::regclass::text = ANY(:t)"
            ),
            {"t": list(EVENT_TABLES)},
        ).one()
        assert groups == (1, ["filed_town_code"])
        for table, n in written.items():
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == n, table
        # the same rows, the new column aside
        assert _contents(conn) == before
        # every event's town is its filed town; every row of a case carries it
        assert (
            conn.execute(
                text("SELECT count(*) FROM event WHERE filed_town_code IS DISTINCT FROM town_code")
            ).scalar()
            == 0
        )
        for table in EVENT_TABLES[1:]:
            wrong = conn.execute(
                text(
                    f"SELECT count(*) FROM {table} c WHERE NOT EXISTS (SELECT 1 FROM event e "
                    "WHERE e.id = c.event_id AND e.filed_town_code = c.filed_town_code)"
                )
            ).scalar()
            assert wrong == 0, table
        # each row is on the shard of its town: read back through a router query per town
        for town in TOWNS:
            for table in EVENT_TABLES:
                routed = conn.execute(
                    text(f"SELECT count(*) FROM {table} WHERE filed_town_code = :t"), {"t": town}
                ).scalar()
                assert routed == written[table] // len(TOWNS), (table, town)
        # the id → town lookup (migration 0027) filled from the converted cases, and no copy
        # of any row left behind in the coordinator's shells
        cases = conn.execute(text("SELECT id, filed_town_code FROM event ORDER BY id")).all()
        lookup = conn.execute(text("SELECT * FROM event_town ORDER BY event_id")).all()
        assert lookup == cases and len(cases) == written["event"]
        assert kinds["event_town"] == "distributed"
        sizes = {
            table: conn.execute(
                text("SELECT pg_relation_size(CAST(:t AS regclass))"), {"t": table}
            ).scalar()
            for table in (*EVENT_TABLES, "event_town")
        }
        assert sizes == dict.fromkeys(sizes, 0)
    # a second upgrade (the next start-up) changes nothing
    upgrade(engine)
    with engine.connect() as conn:
        assert citus_tables(conn) == kinds


# -- the dashboard's KPI panel and the reads of one case, on a migrated Citus database ----------
T1, T2 = "999997001", "999997002"  # two towns of cases no other test files
MARCH = datetime(2025, 3, 20, 4, 0, tzinfo=UTC)  # "now" of the panel: March 2025 so far
STORY = [  # (filed town, grid the case is in now, status, closure work-hours)
    (T1, f"{T1}001001", "closed", 2.0),
    (T1, f"{T1}001001", "closed", 5.0),
    (T1, f"{T1}001002", "closed", 11.0),
    (T1, f"{T1}002001", "closed", 7.0),
    (T1, f"{T1}002001", "in_handling", None),  # overdue at MARCH
    (T2, f"{T2}001001", "reported", None),
    (T2, f"{T1}001001", "closed", 3.0),  # filed in T2, rerouted to T1: counts in T1
    (T2, f"{T2}001001", "closed", 13.0),
]


@pytest.fixture(scope="module")
def citus_cases(citus_cluster: CitusCluster) -> Iterator[Engine]:  # noqa: F811
    """A database of its own on the cluster, migrated to head (distributed), holding
    :data:`STORY`; dropped after."""
    name = "gridgis_cases"
    citus_cluster.prepare_database(name)
    engine = make_engine(citus_cluster.url_for(name))
    try:
        upgrade(engine)
        _file_story(engine, generation_id=1)  # no foreign key to generation on Citus
        yield engine
    finally:
        engine.dispose()
        citus_cluster.drop_database(name)


@pytest.fixture(scope="module")
def postgis_cases(engine: Engine, demo_generation: int) -> Engine:
    """The single-node test database holding the same :data:`STORY`."""
    _file_story(engine, generation_id=demo_generation)
    return engine


def _file_story(engine: Engine, *, generation_id: int) -> None:
    """The cases of :data:`STORY` through the ORM, each with two log entries and a photo."""
    from geoalchemy2.elements import WKTElement

    from layers.events.models import Event, EventLog, EventPhoto, EventSource, EventStatus

    with transaction(make_sessionmaker(engine)) as session:
        for i, (filed, grid, status, hours) in enumerate(STORY):
            t = datetime(2025, 3, 3, 1, 0, tzinfo=UTC) + timedelta(hours=5 * i)
            done = t + timedelta(hours=30) if hours is not None else None
            event = Event(
                source=EventSource.PATROL, subclass_code="0101", description=f"story {i}",
                geom=WKTElement("POINT(120.3 31.9)", srid=4490), reported_at=t,
                generation_id=generation_id, grid_code=grid, village_code=grid[:12],
                town_code=grid[:9], filed_town_code=filed, department="镇街环卫所",
                status=EventStatus(status), accepted_at=None if status == "reported" else t,
                deadline_at=None if status == "reported" else t + timedelta(hours=24),
                handled_at=done, closed_at=done, rework_count=i % 2, extension_count=0,
                closure_work_h=hours, version=1,
            )  # fmt: skip
            session.add(event)
            session.flush()
            for k, action in enumerate(("report", "accept")):
                session.add(
                    EventLog(
                        event_id=event.id,
                        at=t + timedelta(minutes=k),
                        action=action,
                        to_status="reported" if k == 0 else "accepted",
                        actor_role="admin",
                        actor_name="test",
                    )
                )
            session.add(
                EventPhoto(
                    event_id=event.id,
                    filename="a.png",
                    media_type="image/png",
                    size_bytes=3,
                    width_px=1,
                    height_px=1,
                    sha256="0" * 64,
                    data=b"\x01\x02\x03",
                )
            )


def _explained(
    engine: Engine, work: Any, verbs: tuple[str, ...] = ("SELECT", "WITH")
) -> tuple[Any, list[tuple[str, list[str]]]]:
    """Run ``work(session)`` on ``engine``; then EXPLAIN every statement it sent starting with
    one of ``verbs`` (with its parameters; EXPLAIN does not run it). Returns (what ``work``
    returned, [(statement, plan lines)])."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(verbs):
            sent.append((statement, parameters))

    sqlalchemy_event.listen(engine, "before_cursor_execute", capture)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            result = work(session)
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", capture)
    plans = []
    with engine.connect() as conn:
        for statement, parameters in sent:
            rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
            plans.append((statement, [r[0] for r in rows]))
    return result, plans


def _panels(session: Any) -> dict[str, Any]:
    from layers.dashboard import kpi_panel
    from layers.events import kpis

    out: dict[str, Any] = {
        f"panel {scope}": kpi_panel(session=session, scope=scope, period="month", now=MARCH)
        for scope in (T1, T1 + "001", T2)
    }
    for dimension in kpis.DIMENSIONS:
        query = kpis.KpiQuery(
            dimension, datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC),
            now=MARCH, codes=("999997",),
        )  # fmt: skip
        out[dimension] = kpis.compute(session=session, query=query)
    return out


def test_dashboard_kpis_same_as_postgis_and_pushed_down(
    citus_cases: Engine, postgis_cases: Engine
) -> None:
    """The front page's KPI panel (scope total and ranked children) and ``GET /api/v1/kpis``'s
    figures per dimension: equal on Citus and single-node PostGIS, a case rerouted across
    towns and closure-time percentiles over cases of two towns included. On Citus every
    statement's aggregation runs in the shards' tasks (grouped by ``filed_town_code``): no
    aggregate on the coordinator, no repartition."""
    citus, plans = _explained(citus_cases, _panels)
    with transaction(make_sessionmaker(postgis_cases)) as session:
        postgis = _panels(session)
    assert citus == postgis
    panel = citus[f"panel {T1}"]
    # T1 now holds 6 cases (the rerouted one too): closure hours 2, 3, 5, 7, 11
    assert panel["kpis"]["reported"] == 6 and panel["kpis"]["closed"] == 5
    assert panel["kpis"]["closure_h_median"] == 5.0
    assert panel["kpis"]["closure_h_p90"] == pytest.approx(9.4)
    assert {r["key"] for r in panel["ranking"]} == {T1 + "001", T1 + "002"}
    towns = {r["key"]: r["reported"] for r in citus["town"]}
    assert towns == {T1: 6, T2: 2}
    kpi_plans = [(s, lines) for s, lines in plans if "FROM event e" in s]
    assert len(kpi_plans) == 3 * 2 + len(citus) - 3  # a panel: its scope's row, its children
    for statement, lines in kpi_plans:
        at = next(i for i, line in enumerate(lines) if "Custom Scan (Citus Adaptive)" in line)
        coordinator, workers = "\n".join(lines[:at]), "\n".join(lines[at:])
        assert "Aggregate" not in coordinator, (statement, coordinator)
        assert "Aggregate" in workers.split("->  Task", 1)[1], (statement, workers)
        assert "repartition" not in "\n".join(lines).lower()
        assert "Subplan" not in "\n".join(lines)


def _task_count(lines: list[str]) -> int:
    return int(next(line for line in lines if "Task Count:" in line).split(":")[1])


def test_a_towns_kpi_panel_goes_to_its_towns_shards_only(
    citus_cases: Engine, postgis_cases: Engine
) -> None:
    """A town's panel names the towns its cases were filed in (``event_town_guest``): T2, into
    which no case was rerouted, is one task (a router query); T1, which holds a case filed in
    T2, at most two; the city still every shard. Same figures as single-node PostGIS."""
    from layers.dashboard import kpi_panel
    from layers.events import kpis
    from layers.events.town_guests import filed_towns

    def panels(session: Any) -> dict[str, Any]:
        out = {
            scope: kpi_panel(session=session, scope=scope, period="month", now=MARCH)
            for scope in (T2, T1, T1 + "001001")
        }
        for dimension in ("grid", "person"):  # GET /api/v1/kpis of a T2 user
            query = kpis.KpiQuery(
                dimension, datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC),
                now=MARCH, codes=(T2,),
            )  # fmt: skip
            out[f"kpis {dimension}"] = kpis.compute(session=session, query=query)
        return out

    with citus_cases.connect() as conn:
        assert citus_tables(conn)["event_town_guest"] == "reference"
    with transaction(make_sessionmaker(citus_cases)) as session:
        assert filed_towns(session, T2) == [T2]
        assert filed_towns(session, T1) == [T1, T2] == filed_towns(session, T1 + "001")
        assert filed_towns(session, "9999") is None
    with transaction(make_sessionmaker(postgis_cases)) as session:
        postgis = panels(session)
    citus, plans = _explained(citus_cases, panels)
    assert citus == postgis
    assert citus[T2]["kpis"]["reported"] == 2 and citus[T1]["kpis"]["reported"] == 6
    kpi_plans = [lines for s, lines in plans if "FROM event e" in s]
    # T2 and T1: scope row and children; a grid: no children; then kpis.compute twice
    assert len(kpi_plans) == 2 + 2 + 1 + 2
    t2, t1, grid = kpi_plans[:2] + kpi_plans[5:], kpi_plans[2:4], kpi_plans[4:5]
    assert [_task_count(lines) for lines in t2] == [1, 1, 1, 1]  # router queries
    assert sum(r["reported"] for r in citus["kpis grid"]) == 2
    assert all(1 <= _task_count(lines) <= 2 for lines in t1 + grid)
    with transaction(make_sessionmaker(citus_cases)) as session:
        shards = session.execute(
            text("SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'event'::regclass")
        ).scalar_one()
    _, city = _explained(
        citus_cases, lambda s: kpi_panel(session=s, scope="", period="month", now=MARCH)
    )
    assert shards > 2
    assert {_task_count(lines) for s, lines in city if "FROM event e" in s} == {shards}


def test_reading_cases_by_a_list_of_ids_reads_their_towns_shards(citus_cases: Engine) -> None:
    """Open311's ``service_request_id=1,2,3`` names the cases' filed towns (``event_town``):
    the read of T2's cases is one task, not every shard of ``event``."""
    from sqlalchemy import select

    from layers.events.models import Event
    from layers.events.town_guests import filed_towns_of

    def read(session: Any) -> list[int]:
        ids = list(session.scalars(select(Event.id).where(Event.filed_town_code == T2)))
        towns = filed_towns_of(session, ids)
        assert towns == [T2]
        stmt = select(Event.id).where(Event.id.in_(ids), Event.filed_town_code.in_(towns))
        return sorted(session.scalars(stmt))

    found, plans = _explained(citus_cases, read)
    assert len(found) == 3  # STORY: three cases filed in T2 (one now in T1)
    [listed] = [lines for s, lines in plans if "IN (" in s and "filed_town_code IN" in s]
    assert _task_count(listed) == 1


def _read_case(session: Any, event_id: int) -> dict[str, Any]:
    from layers.events.models import case_log, case_photo, case_photo_rows, event_by_id

    event = event_by_id(session, event_id)
    assert event is not None
    photos = case_photo_rows(session, event)
    return {
        "town": (event.town_code, event.filed_town_code),
        "log": [e.action for e in case_log(session, event)],
        "photos": len(photos),
        "photo": case_photo(session, event, photos[0].id) is not None,
    }


def test_reading_a_case_by_id_is_routed_to_one_shard(citus_cases: Engine) -> None:
    """``/api/v1/events/{id}`` reads the case, its timeline and photos (and a workflow step
    locks it) through ``layers.events.models``: the id's filed town from ``event_town``, then
    the case's rows by id and town. On Citus EXPLAIN shows every one of these statements
    routed to a single shard (Task Count: 1)."""
    from layers.events.models import locked_event

    with citus_cases.connect() as conn:
        event_id, town = conn.execute(
            text("SELECT id, filed_town_code FROM event WHERE town_code <> filed_town_code")
        ).one()
        assert (
            conn.execute(
                text("SELECT filed_town_code FROM event_town WHERE event_id = :i"), {"i": event_id}
            ).scalar()
            == town
        )
        assert citus_tables(conn)["event_town"] == "distributed"
    case, plans = _explained(citus_cases, lambda s: _read_case(s, event_id))
    assert case == {"town": (T1, T2), "log": ["report", "accept"], "photos": 1, "photo": True}
    locked, lock_plans = _explained(citus_cases, lambda s: locked_event(s, event_id) is not None)
    assert locked
    assert len(plans) == 5 and len(lock_plans) == 2
    for statement, lines in plans + lock_plans:
        assert any("Task Count: 1" == line.strip() for line in lines), (statement, lines)


def test_reading_an_unknown_or_unlisted_case(citus_cases: Engine) -> None:
    """An id with no case: None (the routes answer 404). A case written without the ORM (no
    ``event_town`` row) is still found, by asking ``event`` itself."""
    from layers.events.models import event_by_id, filed_town_of

    with transaction(make_sessionmaker(citus_cases)) as session:
        assert event_by_id(session, 2_000_000_000) is None
        assert filed_town_of(session, -1) is None
        raw = session.execute(
            text(
                "INSERT INTO event (source, subclass_code, description, geom, reported_at, "
                "generation_id, grid_code, village_code, town_code, filed_town_code, "
                "department, status) VALUES ('patrol', '0101', 'raw', "
                "ST_SetSRID(ST_MakePoint(120.3, 31.9), 4490), now(), 1, :g, :v, :t, :t, "
                "'镇街环卫所', 'reported') RETURNING id"
            ),
            {"g": f"{T2}001001", "v": f"{T2}001", "t": T2},
        ).scalar()
    with transaction(make_sessionmaker(citus_cases)) as session:
        found = event_by_id(session, raw)
        assert found is not None and found.description == "raw"


def test_a_workflow_step_on_a_case_is_routed_to_one_shard(citus_cases: Engine) -> None:
    """A step (``POST /api/v1/events/{id}/actions``): the case locked, changed and logged. The
    ORM knows a case by (id, filed town), so its UPDATE names the town: on Citus every
    statement of the step (lookup, lock, UPDATE, the log's INSERT) is routed to one shard."""
    from layers.events.models import EventLog, locked_event

    with citus_cases.connect() as conn:
        event_id, version = conn.execute(
            text("SELECT id, version FROM event WHERE town_code <> filed_town_code")
        ).one()

    def step(session: Any) -> int:
        event = locked_event(session, event_id)
        assert event is not None
        event.version += 1
        event.description = "story 6 (checked)"
        session.add(
            EventLog(
                event_id=event.id,
                at=MARCH,
                action="note",
                to_status=event.status.value,
                actor_role="admin",
                actor_name="test",
            )
        )
        session.flush()
        return event.version

    verbs = ("SELECT", "WITH", "UPDATE", "INSERT")
    assert _explained(citus_cases, step, verbs)[0] == version + 1
    _, plans = _explained(citus_cases, step, verbs)
    kinds = sorted({statement.split()[0].upper() for statement, _ in plans})
    assert kinds == ["INSERT", "SELECT", "UPDATE"]
    for statement, lines in plans:
        assert any("Task Count: 1" == line.strip() for line in lines), (statement, lines)
    with citus_cases.connect() as conn:
        assert conn.execute(
            text("SELECT version, description FROM event WHERE id = :i"), {"i": event_id}
        ).one() == (version + 2, "story 6 (checked)")
