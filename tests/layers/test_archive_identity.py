"""Archive files belong to one database and are what their record says (issue 12, ops trial):
each database archives into a folder of its own, a file is merged or restored only if its rows
and SHA-256 are the recorded ones, fixes resent for an archived month end up once in its file,
and playback of a month whose file is gone answers a problem naming the month (never a 500)."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from layers.archive import (
    ArchiveFileError,
    PositionArchive,
    archive_partition,
    database_folder,
    partitions_before,
    read_archived_track,
    restore_month,
)
from layers.positions import PARTITIONS
from tests.layers.test_archive import _fixes, _late_partition


def _device(session: Session, name: str) -> int:
    return int(
        session.execute(
            text("INSERT INTO device (external_id, secret_hash, active) VALUES (:n, 'x', true) "
                 "RETURNING id"), {"n": name},
        ).scalar_one()
    )  # fmt: skip


def _archive(session: Session, name: str, until: date, folder: Path) -> PositionArchive:
    [m] = [p for p in partitions_before(session=session, before=until) if p.name == name]
    return archive_partition(session=session, partition=m, directory=folder)


def test_each_database_archives_into_its_own_folder(db_session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = database_folder(session=db_session, base=tmp_path)
    sysid, name = db_session.execute(
        text("SELECT system_identifier::text, current_database() FROM pg_control_system()")
    ).one()
    assert folder == tmp_path / f"{sysid}-{name}"


def test_resent_fixes_of_an_archived_month_are_archived_once(db_session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    month = datetime(2016, 7, 1, tzinfo=UTC)
    device = _device(db_session, "resend-1")
    _late_partition(db_session, month)
    _fixes(db_session, device, month + timedelta(days=4), 60)
    first = _archive(db_session, "position_y2016m07", date(2016, 8, 1), tmp_path)
    # the phone resends the same 60 fixes plus 10 new ones after the month was archived
    _late_partition(db_session, month)
    _fixes(db_session, device, month + timedelta(days=4), 70)
    from layers.positions import read_track

    day_start = month + timedelta(days=4)
    played = read_track(session=db_session, device_id=device, start=day_start,
                        end=day_start + timedelta(days=1), exclude_flags=0)  # fmt: skip
    assert len(played.t_s) == 70  # file + database, each fix once
    second = _archive(db_session, "position_y2016m07", date(2016, 8, 1), tmp_path)
    assert second.rows == first.rows + 10  # the record counts each fix once
    frame = pq.read_table(second.path, columns=["device_id", "fix_time"]).to_pandas()
    assert len(frame) == second.rows
    mine = frame[frame.device_id == device]
    assert len(mine) == 70 and mine.fix_time.is_unique
    start = month + timedelta(days=4)
    track = read_archived_track(session=db_session, device_id=device, start=start,
                                end=start + timedelta(days=1))  # fmt: skip
    assert track is not None and len(track["t_s"]) == 70
    PARTITIONS.forget()


def test_a_file_not_the_recorded_one_is_never_merged_or_restored(
    db_session: Session, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    month = datetime(2016, 9, 1, tzinfo=UTC)
    device = _device(db_session, "foreign-1")
    _late_partition(db_session, month)
    _fixes(db_session, device, month + timedelta(days=2), 30)
    record = _archive(db_session, "position_y2016m09", date(2016, 10, 1), tmp_path / "a")
    # another database's June file written over ours (same name, other rows)
    other = tmp_path / "other"
    other.mkdir()
    _late_partition(db_session, month)
    _fixes(db_session, device, month + timedelta(days=6), 5)
    good = Path(record.path)
    shutil.copy(good, other / "saved.parquet")
    Path(record.path).write_bytes(b"PAR1 not ours")
    with pytest.raises(ArchiveFileError) as merged:
        _archive(db_session, "position_y2016m09", date(2016, 10, 1), tmp_path / "a")
    assert merged.value.field == "2016-09" and "not the one recorded" in merged.value.detail
    with pytest.raises(ArchiveFileError):
        restore_month(session=db_session, month=date(2016, 9, 1))
    shutil.copy(other / "saved.parquet", good)  # the recorded file back: restore works
    read, _, kept = restore_month(session=db_session, month=date(2016, 9, 1))
    assert read == record.rows and kept.exists()
    PARTITIONS.forget()


def test_an_unrecorded_file_is_never_merged(db_session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    month = datetime(2016, 10, 1, tzinfo=UTC)
    device = _device(db_session, "unrecorded-1")
    _late_partition(db_session, month)
    _fixes(db_session, device, month + timedelta(days=2), 8)
    (tmp_path / "position_y2016m10.parquet").write_bytes(b"someone else's month")
    with pytest.raises(ArchiveFileError) as refused:
        _archive(db_session, "position_y2016m10", date(2016, 11, 1), tmp_path)
    assert "never merged" in refused.value.detail
    PARTITIONS.forget()


def test_playback_of_a_month_whose_file_is_gone_names_the_month(
    engine: Engine, client: httpx.Client
) -> None:
    with engine.begin() as conn:
        device_id = conn.execute(
            text("INSERT INTO device (external_id, secret_hash, active) VALUES "
                 "('gone-file-' || gen_random_uuid(), 'x', true) RETURNING id")
        ).scalar_one()  # fmt: skip
        conn.execute(
            text("INSERT INTO position_archive VALUES ('position_y2016m03', '2016-03-01Z', "
                 "'2016-04-01Z', '/nonexistent/position_y2016m03.parquet', 9, 'x', now())")
        )  # fmt: skip
    try:
        r = client.get(f"/api/v1/devices/{device_id}/track",
                       params={"from": "2016-03-05", "lang": "en"})  # fmt: skip
        assert r.status_code == 409, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        body = r.json()
        assert body["field"] == "2016-03" and "missing" in body["detail"]
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM position_archive WHERE partition = 'position_y2016m03'"))
            conn.execute(text("DELETE FROM device WHERE id = :d"), {"d": device_id})


def test_archive_command_refuses_a_folder_it_cannot_write(  # type: ignore[no-untyped-def]
    monkeypatch, database_url, engine, tmp_path
) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    monkeypatch.setenv("DATABASE_URL", database_url)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with engine.begin() as conn:  # one (empty) old month to archive
        conn.execute(text("CREATE TABLE IF NOT EXISTS position_y2015m01 PARTITION OF position "
                          "FOR VALUES FROM ('2015-01-01Z') TO ('2015-02-01Z')"))  # fmt: skip
    try:
        r = CliRunner().invoke(
            app, ["positions", "archive", "--before", "2015-02-01", "--dir", str(blocker / "x"),
                  "--commit", "--lang", "en"], terminal_width=200,
        )  # fmt: skip
        assert r.exit_code == 1, r.output
        assert "cannot write to the archive folder" in r.output
        assert "Traceback" not in r.output
        assert r.exception is None or isinstance(r.exception, SystemExit)
        with engine.connect() as conn:  # nothing archived
            assert conn.execute(text("SELECT to_regclass('position_y2015m01')")).scalar()
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS position_y2015m01"))
            conn.execute(text("NOTIFY gridgis_partitions"))
        PARTITIONS.forget()


def test_restore_of_a_restored_month_says_so(monkeypatch, database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from api.cli import app

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRIDGIS_DATA_DIR", str(tmp_path))
    kept = tmp_path / "archive" / "123-gridgis" / "position_y2014m04.parquet.restored"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"")
    r = CliRunner().invoke(app, ["positions", "restore", "2014-04", "--lang", "en"],
                           terminal_width=300)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "already restored" in r.output and "never archived" not in r.output
