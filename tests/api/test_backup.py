"""``gridgis db backup`` / ``gridgis db restore``: a round trip through the real command line
(pg_dump / pg_restore) between two scratch databases of the test server, compared table by
table (row counts) and by checksums of the generations, grids, positions and sequences; and the
errors a user meets (no file, not an archive, no pg_dump, a database that is not empty)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from api.settings import PROJECT_DIR
from layers.db import make_engine, make_sessionmaker, transaction
from layers.migrate import upgrade
from layers.positions import PartitionKeeper
from tests.tracks_support import CITY_LAT, CITY_LON, make_device

# Row checksums: every column of every row (geometries as their text), in a fixed order.
CHECKSUMS = {
    "generation": "SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM generation t",
    "grid codes": "SELECT md5(string_agg(t::text, '|' ORDER BY t.generation_id, t.code)) "
    "FROM grid t",
    "positions": "SELECT count(*) || ':' || md5(string_agg(t::text, '|' "
    "ORDER BY t.device_id, t.fix_time)) FROM position t",
}
TABLES = """
SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1
"""
SEQUENCES = "SELECT sequencename, last_value FROM pg_sequences ORDER BY 1"


def _new_database(server_url: str, prefix: str) -> str:
    name = f"gridgis_{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(server_url: str, url: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def new_database(server_url: str) -> Iterator[callable]:  # type: ignore[valid-type]
    """Makes empty scratch databases on the test server (dropped after the test)."""
    made: list[str] = []

    def make(prefix: str = "restore") -> str:
        made.append(_new_database(server_url, prefix))
        return made[-1]

    yield make
    for url in made:
        _drop_database(server_url, url)


@pytest.fixture(scope="module")
def source(server_url: str) -> Iterator[str]:
    """A scratch database with the schema, the demo city, a device and 1,500 positions in two
    monthly partitions."""
    url = _new_database(server_url, "backup")
    engine = make_engine(url)
    try:
        upgrade(engine)
        from layers.demo import load_demo_city

        with transaction(make_sessionmaker(engine)) as session:
            load_demo_city(session=session, seed=320281, metric_srid=4549,
                           cache_dir=PROJECT_DIR / ".gridgis" / "cache")  # fmt: skip
        device = make_device(engine)
        t0 = datetime(2026, 1, 31, 20, tzinfo=UTC)
        PartitionKeeper().ensure(engine=engine, times=[t0, t0 + timedelta(days=2)])
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO position (device_id, fix_time, lon, lat, raw_lon, raw_lat, "
                    "datum, source, seq, grid_code) SELECT :d, :t0 + make_interval(secs => i * 60),"
                    " :lon + i * 1e-6, :lat, :lon, :lat, 'wgs84', 'test', i, NULL "
                    "FROM generate_series(0, 1499) i"
                ),
                {"d": device.id, "t0": t0, "lon": CITY_LON, "lat": CITY_LAT},
            )
        yield url
    finally:
        engine.dispose()
        _drop_database(server_url, url)


def gridgis(*args: str, database: str, extra_env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """The real command line on ``database``."""
    env = {**os.environ, "DATABASE_URL": database, "COLUMNS": "200", **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True,
                          text=True, env=env, cwd=PROJECT_DIR, timeout=600)  # fmt: skip


def _fingerprint(url: str) -> dict[str, object]:
    engine: Engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = list(conn.execute(text(TABLES)).scalars())
            counts = {
                t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables
            }
            sums = {k: conn.execute(text(q)).scalar_one() for k, q in CHECKSUMS.items()}
            sequences = {name: value for name, value in conn.execute(text(SEQUENCES))}
    finally:
        engine.dispose()
    return {"counts": counts, "checksums": sums, "sequences": sequences}


def test_backup_and_restore_round_trip(source: str, new_database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    archive = tmp_path / "gridgis.dump"
    done = gridgis("db", "backup", str(archive), database=source)
    assert done.returncode == 0, done.stdout + done.stderr
    assert archive.read_bytes()[:5] == b"PGDMP"
    assert "backup written" in done.stdout and "backup" in done.stdout
    assert not list(tmp_path.glob(".*.partial"))  # the temporary file is gone
    target = new_database()  # empty: not even PostGIS
    done = gridgis("db", "restore", str(archive), database=target)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "restore" in done.stdout
    before, after = _fingerprint(source), _fingerprint(target)
    assert before["counts"]["public.grid"] > 1000 and before["checksums"]["positions"]
    assert {"public.position_y2026m01", "public.position_y2026m02"} <= set(before["counts"])
    assert after == before  # every table, row for row; checksums; sequences
    # The same archive again into the now full database: refused, unchanged
    refused = gridgis("db", "restore", str(archive), database=target)
    assert refused.returncode == 1
    assert "not empty" in refused.stdout and "--force" in refused.stdout
    assert _fingerprint(target) == before
    # with --force: every object of the backup dropped and recreated, nothing doubled
    with create_engine(target).begin() as conn:
        conn.execute(text("DELETE FROM position WHERE seq < 100"))
    forced = gridgis("db", "restore", "--force", str(archive), database=target)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert _fingerprint(target) == before


def test_restore_of_a_missing_file(new_database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    done = gridgis("db", "restore", str(tmp_path / "nope.dump"), database=new_database())
    assert done.returncode == 1 and "no file" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("content", "hint"),
    [(b"-- PostgreSQL database dump\nSELECT 1;\n", "plain SQL dump"),
     (b"\x00\x01 not an archive at all", "not a pg_dump archive"),
     (b"PGDMP\x01\x0e\x00 truncated", "cannot be read as a pg_dump archive")],
)  # fmt: skip
def test_restore_of_a_file_that_is_not_an_archive(new_database, tmp_path: Path, content: bytes,
                                                  hint: str) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    target = new_database()
    bad = tmp_path / "bad.dump"
    bad.write_bytes(content)
    done = gridgis("db", "restore", str(bad), database=target)
    assert done.returncode == 1 and hint in done.stdout, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_backup_without_pg_dump(source: str, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    archive = tmp_path / "x.dump"
    done = gridgis("db", "backup", str(archive), database=source,
                   extra_env={"GRIDGIS_PG_BINDIR": str(empty)})  # fmt: skip
    assert done.returncode == 1 and "pg_dump not found" in done.stdout, done.stdout
    assert "apt-get install" in done.stdout and not archive.exists()


def test_backup_into_a_missing_folder(source: str, tmp_path: Path) -> None:
    done = gridgis("db", "backup", str(tmp_path / "no" / "x.dump"), database=source)
    assert done.returncode == 1 and "does not exist" in done.stdout, done.stdout


def test_backup_of_an_unreachable_database(server_url: str, tmp_path: Path) -> None:
    missing = make_url(server_url).set(database=f"gridgis_absent_{secrets.token_hex(3)}")
    done = gridgis("db", "backup", str(tmp_path / "x.dump"),
                   database=missing.render_as_string(hide_password=False))  # fmt: skip
    assert done.returncode == 1 and "cannot connect" in done.stdout, done.stdout
    assert not (tmp_path / "x.dump").exists()


def test_failed_forced_restore_changes_nothing(source: str, new_database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """--force empties the database and restores in one transaction: when the restore fails
    (here: the database turned read-only) the database keeps what it had."""
    archive = tmp_path / "gridgis.dump"
    assert gridgis("db", "backup", str(archive), database=source).returncode == 0
    target = new_database()
    engine = create_engine(target)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE keep AS SELECT generate_series(1, 5) AS x"))
        name = make_url(target).database
        conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    engine.dispose()
    done = gridgis("db", "restore", "--force", str(archive), database=target)
    assert done.returncode == 1 and "nothing was changed" in done.stdout, done.stdout
    assert "read-only" in done.stdout
    engine = create_engine(target)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM keep")).scalar_one() == 5
        assert conn.execute(text("SELECT to_regclass('grid')")).scalar_one() is None
    engine.dispose()
