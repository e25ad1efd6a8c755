"""`gridgis grids publish` never prints a traceback when the database refuses a publication
(issue 10, second re-trial: a rollback after `add` decisions printed a 250-line IntegrityError):
a clear message naming the constraint, in the language asked, and exit code 1."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from api.cli import app
from layers.planning import review


class _Refused(Exception):
    diag = SimpleNamespace(constraint_name="assignment_unique")


def _refuse(**_: Any) -> Any:
    raise IntegrityError("INSERT INTO grid_assignment …", {}, _Refused("duplicate key"))


@pytest.mark.parametrize(
    ("lang", "words"), [("en", "the database refused"), ("zh", "数据库拒绝了这次发布")]
)
def test_a_database_refusal_is_a_message_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, database_url: str, demo_generation: int, lang: str, words: str
) -> None:
    monkeypatch.setattr(review, "publish", _refuse)
    out = CliRunner().invoke(
        app, ["grids", "publish", str(demo_generation), "--lang", lang],
        env={"DATABASE_URL": database_url, "COLUMNS": "200"},
    )  # fmt: skip
    assert out.exit_code == 1, out.output
    assert words in out.output and "grid_code" in out.output  # the field, not the constraint
    assert "assignment_unique" not in out.output
    assert "Traceback" not in out.output and "IntegrityError" not in out.output
    assert out.exception is None or isinstance(out.exception, SystemExit)
