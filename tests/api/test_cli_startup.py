"""The command line starts without the web app: ``gridgis --help`` and the commands that only
touch the database never import fastapi, geopandas, numba, folium or alembic at start (they
cost seconds; docs/startup.md has the measurements)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("fastapi", "geopandas", "numba", "folium", "alembic", "dask", "pandas")


def _imported_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    return set(out.split())


def test_the_command_line_imports_no_heavy_library_at_start() -> None:
    loaded = _imported_after("import api.cli")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_help_lists_every_command_group() -> None:
    out = subprocess.run([sys.executable, "-m", "api.cli", "--help"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    for group in ("db", "token", "grids", "serve", "demo"):
        assert group in out
