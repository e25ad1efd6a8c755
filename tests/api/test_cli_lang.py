"""Issue 10: the planners' command line speaks Chinese by default and English with ``--lang en``
or ``GRIDGIS_LANG=en`` (api/commands/words.py); validation problems' ``detail`` follows the
caller's language over HTTP (``Accept-Language`` / ``lang=``), English when none is named."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from api.cli import app
from api.commands import words
from tests.planning_fixtures import draft, planner  # noqa: F401  (fixtures)

ENGLISH = re.compile(r"\b(the|of|and|is|in)\b")  # English sentences (names may be Chinese)


@pytest.fixture
def cli(database_url: str, engine: Engine) -> Iterator[tuple[CliRunner, dict[str, str | None]]]:
    """A runner with the test database and no GRIDGIS_LANG (the default); drafts it makes
    are deleted afterwards."""
    with engine.connect() as conn:
        last = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM generation")).scalar_one())
    yield CliRunner(), {"DATABASE_URL": database_url, "COLUMNS": "300", "GRIDGIS_LANG": None}
    with engine.begin() as conn:
        conn.execute(
            text(
                "DELETE FROM generation WHERE id > :l AND status = 'draft' AND name LIKE 'lang %'"
            ),
            {"l": last},
        )


def test_the_planners_commands_speak_chinese_by_default(
    cli: tuple[CliRunner, dict[str, str | None]], demo_generation: int
) -> None:
    runner, env = cli
    out = runner.invoke(app, ["grids", "draft", "--from", "active", "--name", "lang zh"], env=env)
    assert out.exit_code == 0, out.output
    assert "复制自版本" in out.output and "copied" not in out.output
    made = int(out.output.split()[1])
    out = runner.invoke(app, ["drafts", "log", str(made)], env=env)
    assert out.exit_code == 0 and f"草案 {made} 当前版本 1" in out.output, out.output
    # a refusal: its Chinese text (layers.errors.with_zh), with the field
    out = runner.invoke(app, ["drafts", "rebase", str(demo_generation)], env=env)
    assert out.exit_code == 1 and "只能对草案变基" in out.output, out.output
    assert "（字段：generation）" in out.output
    out = runner.invoke(
        app, ["drafts", "edit", str(made), "rename", "--params", "[1]", "--reason", "r"], env=env
    )
    assert out.exit_code == 2 and "必须是 JSON 对象" in out.output, out.output


def test_english_with_lang_en_or_the_environment(
    cli: tuple[CliRunner, dict[str, str | None]], demo_generation: int
) -> None:
    runner, env = cli
    args = ["grids", "draft", "--from", "active", "--name", "lang en"]
    out = runner.invoke(app, [*args, "--lang", "en"], env=env)
    assert out.exit_code == 0 and "copied from generation" in out.output, out.output
    out = runner.invoke(app, args, env={**env, "GRIDGIS_LANG": "en"})
    assert out.exit_code == 0 and "copied from generation" in out.output, out.output
    out = runner.invoke(app, ["drafts", "rebase", str(demo_generation), "--lang", "en"], env=env)
    assert out.exit_code == 1 and "only a draft is rebased" in out.output, out.output
    assert "(field: generation)" in out.output
    # --lang zh wins over the environment; a language that is not there is refused
    out = runner.invoke(app, [*args, "--lang", "zh"], env={**env, "GRIDGIS_LANG": "en"})
    assert out.exit_code == 0 and "复制自版本" in out.output, out.output
    out = runner.invoke(app, [*args, "--lang", "fr"], env=env)
    assert out.exit_code == 2 and "zh or en" in out.output, out.output


def test_every_message_is_in_both_languages() -> None:
    assert set(words.WORDS["zh"]) == set(words.WORDS["en"])
    for lang in ("zh", "en"):  # every column list has the same number of columns
        for key in ("problem_table", "log_table", "impact_table", "diff_table", "decide_table"):
            assert len(words.WORDS[lang][key].split("|")) == len(
                words.WORDS["en"][key].split("|")
            ), key


def test_validation_problems_in_the_callers_language(
    planner: httpx.Client,  # noqa: F811
    draft: int,  # noqa: F811
    engine: Engine,
) -> None:
    with engine.begin() as conn:  # one unit grid pushed 30 m east: an overlap and a gap
        conn.execute(
            text("UPDATE grid SET geom = ST_Translate(geom, 0.0003, 0) WHERE generation_id = :g "
                 "AND code = (SELECT min(code) FROM grid WHERE generation_id = :g AND level = 3)"),
            {"g": draft},
        )  # fmt: skip
    url = f"/api/v1/generations/{draft}/problems"
    english = planner.get(url).json()["problems"]
    assert english and not any("请" in p["detail"] for p in english), english[:2]
    assert all(ENGLISH.search(p["detail"]) for p in english), english[:2]  # gis.hierarchy's text
    for asked in ({"params": {"lang": "zh"}}, {"headers": {"Accept-Language": "zh-CN,zh;q=0.9"}}):
        zh = planner.get(url, **asked).json()["problems"]  # type: ignore[arg-type]
        assert [p["kind"] for p in zh] == [p["kind"] for p in english]
        assert all("请" in p["detail"] for p in zh), zh[:2]
        assert [p["detail_en"] for p in zh] == [p["detail"] for p in english]
    overlap = next(p for p in planner.get(url, params={"lang": "zh"}).json()["problems"]
                   if p["kind"] == "overlap")  # fmt: skip
    assert "重叠" in overlap["detail"] and overlap["codes"][0] in overlap["detail"]
    assert "面积" in overlap["detail"] and "m²" in overlap["detail"]
    en = planner.get(url, params={"lang": "en"}).json()["problems"]
    assert en == english
    # a refusal's problems too: submitting the broken draft, in Chinese and in English
    url = f"/api/v1/generations/{draft}/submit"
    zh_refusal = planner.post(url, json={"reason": "r"}, headers={"Accept-Language": "zh"})
    assert zh_refusal.status_code == 422, zh_refusal.text
    listed = zh_refusal.json()["validation"]["problems"]
    assert listed and all("请" in p["detail"] for p in listed), listed[:2]
    assert "请" in zh_refusal.json()["detail"] and "例如" in zh_refusal.json()["detail"]
    en_refusal = planner.post(url, json={"reason": "r"})
    assert en_refusal.status_code == 422
    assert not any("请" in p["detail"] for p in en_refusal.json()["validation"]["problems"])
