"""The database failing under the app: restarted under load, read-only, disk full.

The app runs in its own uvicorn process on a PRIVATE PostgreSQL cluster started for this module
in a temporary folder (``LocalCluster``, the same tools as the embedded cluster), so that it can
be stopped, restarted and made read-only without touching the cluster in ``.gridgis/`` that
other test runs share.

Proves: while the database is unreachable every route that needs it (API, pages, ``/health``)
answers 503 problem+json with ``Retry-After``, never a 500 or a dropped connection; after the
restart the same app process serves again by itself; every fix acknowledged (2xx) through the
batch API or the Traccar/OsmAnd protocol is stored exactly once. A write while the database is
read-only, or while it reports a full disk, is a 503 naming the cause, with nothing of the
request stored; once the cause is gone the same request succeeds.

Disk full cannot be made for real here: the database itself raises SQLSTATE 53100 from a
trigger on ``position`` (only for the test's device), so the real error travels the real path
(server → psycopg ``DiskFull`` → app → HTTP); :func:`test_error_table_with_real_psycopg_errors`
also checks the error table directly on real psycopg exception instances.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, InternalError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api.errors import database_problem
from api.settings import PROJECT_DIR
from layers.cluster import LocalCluster
from layers.db import database_fault, make_engine, make_sessionmaker, transaction
from layers.migrate import upgrade
from tests.e2e.test_ingest_reliability import Server
from tests.tracks_support import CITY_LAT, CITY_LON, StaffDevice, make_device

PHONES = 4
BATCHES = 8
PER_BATCH = 50
OSMAND_PHONES = 2
OSMAND_FIXES = 40


# -- the private cluster and the app on it ------------------------------------------------------
@dataclass
class Private:
    cluster: LocalCluster
    engine: Engine
    server: Server
    token: str

    @property
    def base(self) -> str:
        return self.server.base


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Private]:
    """A private cluster with the demo city, and the app serving it (stopped and removed
    after the module)."""
    from layers.auth import create_token
    from layers.demo import load_demo_city
    from layers.models import Role

    cluster = LocalCluster(tmp_path_factory.mktemp("pg-faults"))
    server: Server | None = None
    engine: Engine | None = None
    try:
        cluster.start()
        engine = make_engine(cluster.url)
        upgrade(engine)
        with transaction(make_sessionmaker(engine)) as session:
            load_demo_city(session=session, seed=320281, metric_srid=4549,
                           cache_dir=PROJECT_DIR / ".gridgis" / "cache")  # fmt: skip
            _, token = create_token(session=session, name="faults admin", role=Role.ADMIN)
        server = Server(cluster.url, tmp_path_factory.mktemp("app-faults"))
        server.start()
        yield Private(cluster, engine, server, token)
    finally:
        if server is not None:
            server.stop()
        if engine is not None:
            engine.dispose()
        cluster.stop()
        shutil.rmtree(cluster.data_dir, ignore_errors=True)


def _stored_seqs(engine: Engine, device_id: int) -> list[int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT seq FROM position WHERE device_id = :d ORDER BY seq"), {"d": device_id}
        )
        return [int(s) for s in rows.scalars()]


def _count(engine: Engine, device_id: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM position WHERE device_id = :d"), {"d": device_id}
            ).scalar_one()
        )


def assert_database_problem(r: httpx.Response, kind: str) -> None:
    """503 problem+json naming the cause, with Retry-After; never a stack trace."""
    assert r.status_code == 503, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/problem+json")
    assert int(r.headers["retry-after"]) > 0
    body = r.json()
    assert body["status"] == 503 and body["database"] == kind, body
    assert "Traceback" not in r.text and 'File "' not in r.text


def _fixes(start: datetime, batch: int, n: int) -> list[dict[str, Any]]:
    return [
        {
            "time": (start + timedelta(seconds=5 * (batch * n + i))).isoformat(),
            "lon": CITY_LON + 1e-6 * i,
            "lat": CITY_LAT + 1e-6 * batch,
            "accuracy_m": 5.0,
            "seq": batch * n + i,
        }
        for i in range(n)
    ]


def _post_batch(
    client: httpx.Client, device: StaffDevice, fixes: list[dict[str, Any]]
) -> httpx.Response:
    return client.post(
        "/api/v1/ingest/batch",
        json={"device": device.external_id, "fixes": fixes},
        headers={"Authorization": f"Bearer {device.secret}"},
    )


def _osmand(client: httpx.Client, device: StaffDevice, when: datetime, i: int) -> httpx.Response:
    return client.get(
        "/api/v1/ingest/osmand",
        params={"id": device.external_id, "lat": CITY_LAT, "lon": CITY_LON + 1e-6 * i,
                "timestamp": int(when.timestamp()), "key": device.secret},
    )  # fmt: skip


def _page_client(base: str, token: str) -> httpx.Client:
    """A browser-like client logged in to the pages (session cookie)."""
    client = httpx.Client(base_url=base, timeout=30)
    r = client.post("/login", data={"token": token}, headers={"Origin": base})
    assert r.status_code in (200, 303), r.text[:300]
    assert client.cookies, "no session cookie after log-in"
    return client


# -- clients under load --------------------------------------------------------------------------
@dataclass
class Tally:
    """Every answer a client got: status codes, and what was wrong with any of them."""

    statuses: list[int] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, r: httpx.Response | None, what: str, error: Exception | None = None) -> bool:
        """True if the answer is a success; a 503 must carry Retry-After and problem+json."""
        with self.lock:
            if r is None:
                self.wrong.append(f"{what}: no answer ({error!r})")
                return False
            self.statuses.append(r.status_code)
            if r.status_code == 503:
                if "retry-after" not in r.headers or not r.headers.get(
                    "content-type", ""
                ).startswith("application/problem+json"):
                    self.wrong.append(f"{what}: 503 without Retry-After/problem+json")
                return False
            if not 200 <= r.status_code < 300:
                self.wrong.append(f"{what}: {r.status_code} {r.text[:300]}")
                return False
            return True


def _batch_phone(base: str, device: StaffDevice, start: datetime, tally: Tally,
                 acked: dict[int, dict[str, int]], stop: threading.Event) -> None:  # fmt: skip
    """Send every batch until it is acknowledged (a phone keeps what got no 2xx)."""
    with httpx.Client(base_url=base, timeout=30) as client:
        for b in range(BATCHES):
            while not stop.is_set():
                try:
                    r = _post_batch(client, device, _fixes(start, b, PER_BATCH))
                except httpx.TransportError as exc:
                    tally.record(None, f"batch {device.external_id}/{b}", exc)
                    time.sleep(0.2)
                    continue
                if tally.record(r, f"batch {device.external_id}/{b}"):
                    body = r.json()
                    acked[b] = {"stored": body["stored"], "dup": body["duplicates"],
                                "rejected": body["rejected"]}  # fmt: skip
                    break
                time.sleep(0.05)
            time.sleep(0.02)


def _osmand_phone(base: str, device: StaffDevice, start: datetime, tally: Tally,
                  acked: set[int], stop: threading.Event) -> None:  # fmt: skip
    """Traccar Client: one fix a request, resent until 200."""
    with httpx.Client(base_url=base, timeout=30) as client:
        for i in range(OSMAND_FIXES):
            while not stop.is_set():
                try:
                    r = _osmand(client, device, start + timedelta(seconds=10 * i), i)
                except httpx.TransportError as exc:
                    tally.record(None, f"osmand {device.external_id}/{i}", exc)
                    time.sleep(0.2)
                    continue
                if tally.record(r, f"osmand {device.external_id}/{i}"):
                    acked.add(i)
                    break
                time.sleep(0.05)
            time.sleep(0.02)


def _reader(base: str, token: str, tally: Tally, stop: threading.Event) -> None:
    """GETs of the API, a page and /health, round and round."""
    api = httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"})
    pages: httpx.Client | None = None
    paths = ["/api/v1/positions/latest", "/api/v1/generations", "/health"]
    try:
        while not stop.is_set():
            for path in paths:
                try:
                    tally.record(api.get(path), f"GET {path}")
                except httpx.TransportError as exc:
                    tally.record(None, f"GET {path}", exc)
            try:
                if pages is None:
                    pages = _page_client(base, token)
                tally.record(pages.get("/live"), "GET /live")
            except (httpx.TransportError, AssertionError):
                pages = None  # log-in itself hit the outage: log in again next round
            time.sleep(0.05)
    finally:
        api.close()
        if pages is not None:
            pages.close()


# -- the tests ------------------------------------------------------------------------------------
def test_restart_under_load_answers_503_then_recovers_losing_nothing(private: Private) -> None:
    engine, base = private.engine, private.base
    phones = [make_device(engine) for _ in range(PHONES)]
    osmand = [make_device(engine) for _ in range(OSMAND_PHONES)]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    tally = Tally()
    acked: dict[int, dict[int, dict[str, int]]] = {p.id: {} for p in phones}
    osmand_acked: dict[int, set[int]] = {p.id: set() for p in osmand}
    deadline = time.monotonic() + 240
    stop_reading, stop_sending = threading.Event(), threading.Event()
    threads = [
        threading.Thread(target=_batch_phone, daemon=True,
                         args=(base, p, start, tally, acked[p.id], stop_sending)) for p in phones
    ] + [
        threading.Thread(target=_osmand_phone, daemon=True,
                         args=(base, p, start, tally, osmand_acked[p.id], stop_sending))
        for p in osmand
    ]  # fmt: skip
    reader = threading.Thread(target=_reader, daemon=True,
                              args=(base, private.token, tally, stop_reading))  # fmt: skip
    try:
        for th in [*threads, reader]:
            th.start()
        pages = _page_client(base, private.token)  # logged in before the outage
        while sum(len(a) for a in acked.values()) < PHONES:  # about one batch each: mid-stream
            assert time.monotonic() < deadline
            time.sleep(0.02)
        private.cluster.stop()  # fast shutdown: sessions are ended, like a restart
        # While it is down, every kind of route answers 503 with Retry-After.
        with httpx.Client(base_url=base, timeout=30) as client:
            assert_database_problem(client.get("/health"), "unavailable")
            r = client.get("/api/v1/generations",
                           headers={"Authorization": f"Bearer {private.token}"})  # fmt: skip
            assert_database_problem(r, "unavailable")
            later = start + timedelta(days=1)
            assert_database_problem(_post_batch(client, phones[0], _fixes(later, 0, 3)),
                                    "unavailable")  # fmt: skip
            assert_database_problem(_osmand(client, osmand[0], later, 0), "unavailable")
            assert_database_problem(pages.get("/live"), "unavailable")
            pages.close()
        time.sleep(0.5)  # the clients keep trying against the stopped database
        private.cluster.start()
        for th in threads:
            th.join(timeout=max(1.0, deadline - time.monotonic()))
        assert not any(th.is_alive() for th in threads), "clients did not finish"
        # after the restart the same app process answers again, pages included
        with httpx.Client(base_url=base, timeout=30) as client:
            assert client.get("/health").json()["database"] == "up"
            pages = _page_client(base, private.token)
            assert pages.get("/live").status_code == 200
            pages.close()
    finally:
        stop_reading.set()
        stop_sending.set()  # a failed test stops its clients at once
        for th in [*threads, reader]:
            th.join(timeout=60)
        if not private.cluster.running():
            private.cluster.start()

    assert tally.wrong == [], tally.wrong[:10]
    assert 503 in tally.statuses, "no client met the outage"
    for p in phones:
        assert sorted(acked[p.id]) == list(range(BATCHES))
        sent = sorted(b * PER_BATCH + i for b in range(BATCHES) for i in range(PER_BATCH))
        assert _stored_seqs(engine, p.id) == sent  # none lost, none twice
        answers = acked[p.id].values()
        assert all(a["rejected"] == 0 and a["stored"] + a["dup"] == PER_BATCH for a in answers)
        # what the API said it stored is what is there (a resend of a batch committed just
        # before the connection dropped comes back as duplicates)
        assert sum(a["stored"] for a in answers) + sum(a["dup"] for a in answers) == len(sent)
    for p in osmand:
        assert osmand_acked[p.id] == set(range(OSMAND_FIXES))
        with engine.connect() as conn:
            times = conn.execute(
                text("SELECT fix_time FROM position WHERE device_id = :d ORDER BY fix_time"),
                {"d": p.id},
            ).scalars().all()  # fmt: skip
        assert times == [start + timedelta(seconds=10 * i) for i in range(OSMAND_FIXES)]


def test_read_only_database_is_503_and_stores_nothing(private: Private) -> None:
    """``ALTER DATABASE … SET default_transaction_read_only`` applies to new sessions, so the
    app's sessions are ended too (as a failover to a read-only server would); lifting it needs
    no such help: connections opened read-only are replaced at their next use."""
    engine, base, cluster = private.engine, private.base, private.cluster
    device, single = make_device(engine), make_device(engine)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    with httpx.Client(base_url=base, timeout=30) as client:
        assert _post_batch(client, device, _fixes(start, 0, 10)).status_code == 200
        try:
            cluster.psql("ALTER DATABASE gridgis SET default_transaction_read_only = on")
            cluster.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                         "WHERE datname = 'gridgis' AND pid <> pg_backend_pid()")  # fmt: skip
            r = _post_batch(client, device, _fixes(start, 1, 10))
            assert_database_problem(r, "read_only")
            assert r.json()["sqlstate"] == "25006"
            assert _stored_seqs(engine, device.id) == list(range(10))  # nothing of batch 1
            assert_database_problem(_osmand(client, single, start, 0), "read_only")
            assert _count(engine, single.id) == 0
            health = client.get("/health")  # reads still work, and say so
            assert health.status_code == 200 and health.json()["database"] == "read_only"
            # an API read with a token (whose last use is not recorded then) answers too
            read = client.get("/api/v1/generations",
                              headers={"Authorization": f"Bearer {private.token}"})  # fmt: skip
            assert read.status_code == 200, read.text
        finally:
            cluster.psql("ALTER DATABASE gridgis RESET default_transaction_read_only")
        r = _post_batch(client, device, _fixes(start, 1, 10))
        assert r.status_code == 200 and r.json()["stored"] == 10, r.text
        assert _stored_seqs(engine, device.id) == list(range(20))
        assert _osmand(client, single, start, 0).status_code == 200
        assert _count(engine, single.id) == 1
        assert client.get("/health").json()["database"] == "up"


def test_disk_full_is_503_and_stores_nothing(private: Private) -> None:
    """The server raises SQLSTATE 53100 (disk_full) on this device's inserts (a trigger):
    the batch is refused whole and the single fix too; once space is back, both store."""
    engine, base = private.engine, private.base
    device, single = make_device(engine), make_device(engine)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    ids = f"{device.id}, {single.id}"
    with engine.begin() as conn:
        conn.execute(text(
            "CREATE OR REPLACE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'could not extend file \"base/1/2\": No space left on device' "
            "USING ERRCODE = 'disk_full', HINT = 'Check free disk space.'; END $$"
        ))  # fmt: skip
        conn.execute(text(
            "CREATE TRIGGER test_disk_full BEFORE INSERT ON position FOR EACH ROW "
            f"WHEN (NEW.device_id IN ({ids})) EXECUTE FUNCTION test_disk_full()"
        ))  # fmt: skip
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            r = _post_batch(client, device, _fixes(start, 0, 20))
            assert_database_problem(r, "disk_full")
            assert r.json()["sqlstate"] == "53100"
            assert "disk" in r.json()["detail"]
            assert _count(engine, device.id) == 0  # nothing half-written
            assert_database_problem(_osmand(client, single, start, 0), "disk_full")
            assert _count(engine, single.id) == 0
            with engine.begin() as conn:
                conn.execute(text("DROP TRIGGER test_disk_full ON position"))
            r = _post_batch(client, device, _fixes(start, 0, 20))
            assert r.status_code == 200 and r.json()["stored"] == 20, r.text
            assert _osmand(client, single, start, 0).status_code == 200
        assert _stored_seqs(engine, device.id) == list(range(20))
        assert _count(engine, single.id) == 1
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER IF EXISTS test_disk_full ON position"))
            conn.execute(text("DROP FUNCTION IF EXISTS test_disk_full()"))


def _wrapped(cls: type, orig: Exception) -> Exception:
    return cls("INSERT INTO position …", {}, orig)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (psycopg.errors.DiskFull("could not extend file: No space left on device"), "disk_full"),
        (_wrapped(OperationalError, psycopg.errors.DiskFull("No space left")), "disk_full"),
        (psycopg.errors.OutOfMemory("out of memory"), "out_of_resources"),
        (psycopg.errors.TooManyConnections("too many clients"), "out_of_resources"),
        (_wrapped(InternalError, psycopg.errors.ReadOnlySqlTransaction("read-only")),
         "read_only"),
        (psycopg.errors.AdminShutdown("terminating connection"), "unavailable"),
        (psycopg.errors.CannotConnectNow("the database system is starting up"), "unavailable"),
        (_wrapped(OperationalError, psycopg.OperationalError("connection refused")),
         "unavailable"),
        (psycopg.OperationalError("server closed the connection unexpectedly"), "unavailable"),
        (psycopg.errors.ConnectionFailure("connection failure"), "unavailable"),
        (PoolTimeout("QueuePool limit of size 10 overflow 38 reached"), "unavailable"),
    ],
)  # fmt: skip
def test_error_table_with_real_psycopg_errors(error: Exception, kind: str) -> None:
    """Real psycopg exception instances (the classes psycopg raises for those SQLSTATEs),
    bare or wrapped by SQLAlchemy, map to a 503 naming the cause with Retry-After."""
    fault = database_fault(error)
    assert fault is not None and fault.kind == kind
    response = database_problem(fault)
    assert response.status_code == 503 and int(response.headers["retry-after"]) > 0
    assert response.media_type == "application/problem+json"


@pytest.mark.parametrize(
    "error",
    [
        _wrapped(ProgrammingError, psycopg.errors.UndefinedTable('relation "x" does not exist')),
        _wrapped(ProgrammingError, psycopg.errors.SyntaxError("syntax error at or near")),
        _wrapped(IntegrityError, psycopg.errors.UniqueViolation("duplicate key")),
        psycopg.errors.UndefinedColumn("column does not exist"),
        psycopg.ProgrammingError("query parameter missing"),
        ValueError("not a database error"),
    ],
)
def test_error_table_leaves_programming_errors_alone(error: Exception) -> None:
    """A bug stays a bug (logged 500 or its own 4xx), never disguised as an outage."""
    assert database_fault(error) is None
