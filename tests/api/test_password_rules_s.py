"""Weak passwords are refused (issue 11, task S part 4: ``password`` and ``12345678`` were
accepted): at least 10 characters, not one of the most used passwords, not the user name; the
refusal is problem+json with field ``password`` and the rule, on the API and the command line
alike (layers/password_rules.py)."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from layers.password_rules import password_problem
from tests.api.accounts_support import problem


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("password", "length"),
        ("12345678", "length"),
        ("short pw", "length"),
        ("x" * 1025, "length"),
        ("1234567890", "common"),
        ("0987654321", "common"),
        ("aaaaaaaaaa", "common"),
        ("abcdefghijk", "common"),
        ("Password123!", "common"),
        ("2024qwertyuiop", "common"),
        ("woaini1314", "common"),
        ("P@ssw0rd2026", "common"),
        ("zhangsan-2026", "user_name"),
        ("ZhangSan", "length"),
        ("my nasgnahz word", "user_name"),
    ],
)
def test_the_rules(password: str, rule: str) -> None:
    found = password_problem(password, "zhangsan")
    assert found is not None and found[0] == rule, found


@pytest.mark.parametrize(
    "password", ["correct horse battery", "网格通巡查员的口令很长", "n3w pass word"]
)
def test_good_passwords_pass(password: str) -> None:
    assert password_problem(password, "zhangsan") is None


@pytest.fixture
def admin(live_server: str, tokens: dict[str, str]) -> Any:
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['admin']}"}, timeout=60
    ) as client:
        yield client


@pytest.mark.parametrize(
    ("password", "rule"),
    [("12345678", None), ("password", None), ("1234567890", "common"),
     ("password1234", "common"), ("{name}2026!", "user_name")],
)  # fmt: skip
def test_the_api_refuses_weak_passwords_naming_the_rule(
    admin: httpx.Client, password: str, rule: str | None
) -> None:
    name = f"pw-{secrets.token_hex(4)}"
    body = {"name": name, "role": "viewer", "password": password.format(name=name)}
    refused = problem(admin.post("/api/v1/users", json=body), 422, "password")
    if rule is not None:  # too short: the schema's own length rule answers first
        assert refused["rule"] == rule, refused
    assert admin.get("/api/v1/users").json()["data"] is not None
    made = admin.post("/api/v1/users", json=body | {"password": "a phrase of my own"})
    assert made.status_code == 201, made.text
    user_id = made.json()["id"]
    r = admin.put(f"/api/v1/users/{user_id}/password", json={"password": "qwertyuiop"})
    assert problem(r, 422, "password")["rule"] == "common"
    r = admin.put(f"/api/v1/users/{user_id}/password", json={"password": f"{name}{name}"})
    assert problem(r, 422, "password")["rule"] == "user_name"


def test_the_command_line_refuses_weak_passwords(database_url: str, engine: Any) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    runner, env = CliRunner(), {"DATABASE_URL": database_url, "COLUMNS": "300"}
    name = f"pwcli-{secrets.token_hex(3)}"

    def run(*args: str, stdin: str, code: int) -> str:
        r = runner.invoke(app, list(args), input=stdin, env=env)
        assert r.exit_code == code, r.output
        return str(r.output)

    out = run("user", "create", name, "--role", "viewer", "--password-stdin",
              stdin="1234567890\n", code=1)  # fmt: skip
    assert "most used" in out, out
    run("user", "create", name, "--role", "viewer", "--password-stdin",
        stdin="a phrase of my own\n", code=0)  # fmt: skip
    out = run("user", "passwd", name, "--password-stdin", stdin=f"{name}!!\n", code=1)
    assert "user name" in out, out
