"""Issue 10 (F10.6): `gridgis grids draft` (a copy of a generation, done in SQL) imports no
geopandas, pandas or pyarrow — they cost seconds on a loaded server (docs/startup.md)."""

from __future__ import annotations

import re
import subprocess
import sys

from sqlalchemy import Engine, text

HEAVY = {"geopandas", "pandas", "pyarrow", "fastapi", "folium", "numba"}

PROBE = """
import sys
sys.argv = ["gridgis", "grids", "draft", "--from", "active", "--name", "f10 copy probe",
            "--lang", "en"]
from api.cli import main
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print("MODULES", " ".join(sorted(sys.modules)))
"""


def test_copying_a_generation_imports_no_data_frame_library(
    engine: Engine, database_url: str, demo_generation: int
) -> None:
    run = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=False,
        env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )  # fmt: skip
    copied = re.search(r"draft (\d+) copied from generation (\d+)", run.stdout)
    try:
        assert run.returncode == 0 and copied, run.stdout + run.stderr
        assert int(copied[2]) == demo_generation
        modules = set(run.stdout.split("MODULES", 1)[1].split())
        assert not modules & HEAVY, sorted(modules & HEAVY)
    finally:
        if copied:
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM generation WHERE id = :g"), {"g": int(copied[1])})
