"""OGC API - Features with GDAL as users run it: the README's ogrinfo command as written
(GDAL_HTTP_HEADERS, which Debian 12's GDAL 3.6 has), a limit over the maximum capped (not
refused) and declared in the OpenAPI document. Case 08."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pyogrio
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
CASES = PROJECT_DIR.parent / "shared" / "cases" / "clients"
MAX_LIMIT = 10_000
L3 = 1558


def _ogrinfo() -> str:
    found = shutil.which("ogrinfo")
    if found is None:
        pytest.skip("ogrinfo is not installed (apt package gdal-bin, in run.sh's TEST_APT)")
    return found


def _run(command: str) -> str:
    done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_limit_over_the_maximum_is_capped(client) -> None:
    r = client.get("/ogc/collections/grids-l3/items", params={"limit": 20000})
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["numberReturned"] == L3 == page["numberMatched"]
    self_link = next(link["href"] for link in page["links"] if link["rel"] == "self")
    assert f"limit={MAX_LIMIT}" in self_link
    r = client.get("/ogc/collections/grids-l2/items", params={"limit": 10**12})
    assert r.status_code == 200 and r.json()["numberReturned"] == 271
    for bad in ("0", "-5", "many"):
        r = client.get("/ogc/collections/grids-l3/items", params={"limit": bad})
        assert r.status_code == 400 and r.json()["field"] == "limit", r.text


def test_openapi_declares_the_maximum(client) -> None:
    doc = client.get("/openapi.json").json()
    params = doc["paths"]["/ogc/collections/{collection_id}/items"]["get"]["parameters"]
    limit = next(p for p in params if p["name"] == "limit")
    assert limit["schema"]["maximum"] == MAX_LIMIT and limit["schema"]["minimum"] == 1


def test_gdal_reads_all_with_a_page_size_over_the_maximum(live_server, tokens, tmp_path) -> None:
    """GDAL (the one bundled with pyogrio) with -oo PAGE_SIZE=20000 reads every grid; the token
    is sent from a header file, which every GDAL since 2.3 reads (GDAL_HTTP_HEADERS is not sent
    by the OAPIF driver of recent GDAL; the README command is tested with the system's)."""
    headers = tmp_path / "headers.txt"
    headers.write_text(f"Authorization: Bearer {tokens['viewer']}\n", encoding="ascii")
    pyogrio.set_gdal_config_options({"GDAL_HTTP_HEADER_FILE": str(headers)})
    try:
        frame = pyogrio.read_dataframe(
            f"OAPIF:{live_server}/ogc", layer="grids-l3", PAGE_SIZE=20000
        )
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_HEADER_FILE": None})
    assert len(frame) == L3 and frame["code"].is_unique


def test_the_readme_command_as_written(live_server, tokens) -> None:
    ogrinfo = _ogrinfo()
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    line = next(x for x in readme.splitlines() if x.startswith("ogrinfo "))
    command = line.replace("<token>", tokens["viewer"]).replace(
        "http://127.0.0.1:8000", live_server
    )
    out = _run(command.replace("ogrinfo", ogrinfo, 1))
    assert re.search(rf"Feature Count: {L3}\b", out), out


def test_case_08_limit_and_gdal_page_size(client, live_server, tokens) -> None:
    path = CASES / "08-ogc-limit-over-maximum.sh"
    if not path.is_file():
        pytest.skip(f"case file absent: {path}")
    script = path.read_text(encoding="utf-8")
    assert "limit=20000" in script
    r = client.get("/ogc/collections/grids-l3/items", params={"limit": 20000})
    assert r.status_code == 200 and r.json()["numberReturned"] == L3
    ogrinfo = _ogrinfo()
    line = next(x for x in script.splitlines() if x.startswith("ogrinfo "))
    command = line.split("|")[0].replace("$TOKEN", tokens["viewer"]).replace("$B", live_server)
    out = _run(command.replace("ogrinfo", ogrinfo, 1))
    assert re.search(rf"Feature Count: {L3}\b", out), out
