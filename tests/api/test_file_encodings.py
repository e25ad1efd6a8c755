"""Issue 14 (encodings, trial findings): a GBK Shapefile without a ``.cpg`` is read in GBK
(its language driver id when present, else detected and said so; an explicit ``encoding``
wins), and an XML upload (GPX) without an encoding declaration that is not UTF-8 is refused
with 422 naming the fix, never guessed (one rule, layers.tables.xml_text)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from gis.dbf_encoding import dbf_encoding, shapefile_encoding
from gis.gridfiles import GridFileError, read_grid_file
from tests.planning_fixtures import planner
from tests.tracks_support import CITY_LAT, CITY_LON, StaffDevice, make_device

__all__ = ["planner"]


@pytest.fixture
def device(engine: Engine, demo_generation: int) -> StaffDevice:
    return make_device(engine)


@pytest.fixture
def drafts_made(engine: Engine) -> Iterator[list[int]]:
    made: list[int] = []
    yield made
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM generation WHERE id = ANY(:ids)"), {"ids": made})


def _gbk_shapefile(frame, folder: Path, *, ldid: int = 0) -> Path:  # type: ignore[no-untyped-def]
    """``frame`` as a zipped Shapefile in GBK WITHOUT a .cpg (as old desktop GIS saves it),
    its DBF language driver id set to ``ldid``."""
    import pyogrio

    shp = folder / "grids.shp"
    out = frame[["code", "level", "parent_code", "name", "geometry"]].rename(
        columns={"parent_code": "parent_cod"}
    )
    pyogrio.write_dataframe(out, shp, encoding="GBK")
    shp.with_suffix(".cpg").unlink()
    dbf = bytearray(shp.with_suffix(".dbf").read_bytes())
    dbf[29] = ldid
    shp.with_suffix(".dbf").write_bytes(bytes(dbf))
    target = folder / "grids.zip"
    with zipfile.ZipFile(target, "w") as zf:
        for part in ("shp", "shx", "dbf", "prj"):
            zf.write(shp.with_suffix(f".{part}"), arcname=f"grids.{part}")
    return target


def _upload(planner: httpx.Client, data: bytes, **fields: str) -> httpx.Response:
    return planner.post(
        "/api/v1/generations", data={"name": "GBK shapefile test", **fields},
        files={"file": ("grids.zip", data, "application/octet-stream")},
    )  # fmt: skip


def test_gbk_shapefile_without_cpg_is_read_in_gbk_and_says_it_guessed(
    planner, engine, demo_grids, tmp_path, drafts_made
) -> None:
    path = _gbk_shapefile(demo_grids, tmp_path)
    r = _upload(planner, path.read_bytes())
    assert r.status_code == 201, r.text
    body = r.json()
    drafts_made.append(body["generation"]["id"])
    assert body["file"]["counts"] == {"1": 17, "2": 271, "3": 1558}
    assert body["file"]["encoding"] == "gb18030" and body["file"]["encoding_guessed"] is True
    assert any("guessed as gb18030" in n and "encoding=" in n for n in body["file"]["notes"])
    with engine.connect() as conn:
        stored = dict(
            conn.execute(
                text("SELECT code, name FROM grid WHERE generation_id = :g"),
                {"g": body["generation"]["id"]},
            ).all()
        )
    right = dict(zip(demo_grids.code, demo_grids.name, strict=True))
    assert stored == right  # all 1,846 names as written, none garbled

    # stated by the user: read so and not a guess
    r = _upload(planner, path.read_bytes(), encoding="GBK")
    assert r.status_code == 201, r.text
    drafts_made.append(r.json()["generation"]["id"])
    assert r.json()["file"]["encoding"] == "gb18030"
    assert r.json()["file"]["encoding_guessed"] is False

    # an unknown encoding is refused naming the field and the fix
    r = _upload(planner, path.read_bytes(), encoding="klingon")
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "encoding" and "GBK" in r.json()["detail"]


def test_language_driver_id_and_cpg_are_read_not_guessed(demo_grids, tmp_path) -> None:
    few = demo_grids[demo_grids.level == 1]
    path = _gbk_shapefile(few, tmp_path, ldid=0x4D)  # 936 (GBK) in the DBF header
    grid = read_grid_file(path)
    assert (grid.encoding, grid.encoding_guessed) == ("gb18030", False)
    assert sorted(grid.frame.name) == sorted(few.name)
    assert shapefile_encoding(path, "grids").how == "ldid"  # type: ignore[union-attr]
    assert dbf_encoding(b"\x03" + b"\0" * 40, b"UTF-8").how == "cpg"  # type: ignore[union-attr]
    with pytest.raises(GridFileError) as refused:
        read_grid_file(path, encoding="no-such-code-page")
    assert refused.value.field == "encoding"
    # a Latin-1 file without .cpg or LDID is detected as such, not as GBK
    latin = dbf_encoding(
        b"\x03" + b"\0" * 7 + b"\x20\x00" + b"\0" * 22 + "Zürich Straße".encode("cp1252"), None
    )
    assert latin is not None and latin.encoding == "cp1252" and latin.guessed


def _gpx(name: str, declaration: str = "") -> str:
    t0 = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
    return (
        f'{declaration}<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><name>{name}</name><trkseg>"
        f'<trkpt lat="{CITY_LAT}" lon="{CITY_LON}"><time>{t0.isoformat()}</time></trkpt>'
        f'<trkpt lat="{CITY_LAT}" lon="{CITY_LON + 0.0001}">'
        f"<time>{(t0 + timedelta(seconds=30)).isoformat()}</time></trkpt></trkseg></trk></gpx>"
    )


def test_gbk_gpx_without_declaration_is_refused_naming_the_fix(anon, device) -> None:
    params = {"device": device.external_id, "key": device.secret}
    raw = _gpx("澄江街道巡查").encode("gbk")
    for body in (
        {"content": raw, "headers": {"Content-Type": "application/gpx+xml"}},
        {"files": {"file": ("x.gpx", raw, "application/gpx+xml")}},
    ):
        r = anon.post("/api/v1/ingest/gpx", params=params, **body)  # type: ignore[arg-type]
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert 'encoding="GBK"' in r.json()["detail"] and "UTF-8" in r.json()["detail"]
    # the same file with its declaration, or its charset stated, is read as GBK
    declared = _gpx("澄江街道巡查", '<?xml version="1.0" encoding="GBK"?>').encode("gbk")
    r = anon.post("/api/v1/ingest/gpx", params=params, content=declared,
                  headers={"Content-Type": "application/gpx+xml"})  # fmt: skip
    assert r.status_code == 200 and r.json()["track_name"] == "澄江街道巡查", r.text
    # UTF-8 without a declaration is what XML says: read
    r = anon.post("/api/v1/ingest/gpx", params=params, content=_gpx("万街社区").encode(),
                  headers={"Content-Type": "application/gpx+xml"})  # fmt: skip
    assert r.status_code == 200 and r.json()["track_name"] == "万街社区", r.text


def test_cli_import_says_it_guessed_and_takes_encoding(
    monkeypatch, database_url, engine, demo_generation, demo_grids, tmp_path
) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRIDGIS_DATA_DIR", str(tmp_path / "data"))
    path = _gbk_shapefile(demo_grids, tmp_path)
    runner = CliRunner()
    guessed = runner.invoke(
        app, ["grids", "import", str(path), "--name", "gbk"], terminal_width=250
    )
    assert guessed.exit_code == 0, guessed.output
    assert "guessed as gb18030" in guessed.output and "dry run" in guessed.output
    stated = runner.invoke(
        app,
        ["grids", "import", str(path), "--name", "gbk", "--encoding", "GBK"],
        terminal_width=250,
    )
    assert stated.exit_code == 0, stated.output
    assert "guessed" not in stated.output
    assert "added 0, removed 0, changed 0" in stated.output  # every name read as the city's
    bad = runner.invoke(app, ["grids", "import", str(path), "--name", "gbk", "--encoding", "x-no"])
    assert bad.exit_code == 1 and "encoding" in bad.output
