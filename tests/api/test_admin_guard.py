"""Who counts as an admin who can still get in (issue 11): the last-admin guard counts only
enabled admins with a password or an unrevoked token; the demo's events loader leaves no live
ownerless admin token; ``gridgis token create --user U --role R`` refuses a role not U's."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text, update

from layers.db import make_sessionmaker
from layers.models import Role


def _admin(session: Any, *, password: bool, token: str | None) -> Any:
    """A fresh admin; ``token`` None (none), "live" or "revoked"."""
    from layers import accounts, auth

    user = accounts.create_user(
        session=session,
        name=f"guard-{secrets.token_hex(4)}",
        role="admin",
        password="a long password" if password else None,
        system=not password,
    )
    if token is not None:
        row, _ = auth.create_token(session=session, name="guard", user=user)
        if token == "revoked":
            auth.revoke_token(session=session, token_id=row.id)
    return user


def test_only_admins_who_can_get_in_count(engine: Engine) -> None:
    from layers import accounts

    session = make_sessionmaker(engine)()
    try:  # everything here is rolled back
        real = _admin(session, password=True, token=None)
        dead = _admin(session, password=False, token="revoked")
        bare = _admin(session, password=False, token=None)
        service = _admin(session, password=False, token="live")
        off = _admin(session, password=True, token="live")
        accounts.update_user(session=session, user=off, disabled=True)
        usable = set(session.scalars(accounts.usable_admins(session=session)))
        assert {real.id, service.id} <= usable
        assert not {dead.id, bare.id, off.id} & usable
        # leave only `real` and the dead system user: the real admin may not demote itself
        others = accounts.AppUser.id.notin_([real.id, dead.id, bare.id])
        session.execute(
            update(accounts.AppUser)
            .where(accounts.AppUser.role == Role.ADMIN, others)
            .values(disabled_at=text("now()"))
        )
        with pytest.raises(accounts.LastAdmin) as caught:
            accounts.update_user(session=session, user=real, role="viewer")
        assert caught.value.field == "role" and "password" in caught.value.detail
        with pytest.raises(accounts.LastAdmin):
            accounts.update_user(session=session, user=real, disabled=True)
        accounts.update_user(session=session, user=service, disabled=False)  # a live token
        accounts.update_user(session=session, user=real, role="viewer")  # now allowed
    finally:
        session.rollback()
        session.close()


def test_token_create_refuses_a_role_other_than_the_users(
    database_url: str, engine: Engine
) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    runner, env = CliRunner(), {"DATABASE_URL": database_url, "COLUMNS": "300"}
    name = f"off-{secrets.token_hex(3)}"
    made = runner.invoke(app, ["user", "create", name, "--role", "officer", "--no-password"],
                         env=env)  # fmt: skip
    assert made.exit_code == 0, made.output
    refused = runner.invoke(app, ["token", "create", "esc", "--user", name, "--role", "admin"],
                            env=env)  # fmt: skip
    assert refused.exit_code == 2, refused.output
    assert "--role" in refused.output and "officer" in refused.output
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM api_token t JOIN app_user u ON u.id = t.user_id "
                 "WHERE u.name = :n"), {"n": name},
        ).scalar_one()  # fmt: skip
    assert n == 0  # nothing made
    same = runner.invoke(app, ["token", "create", "esc", "--user", name, "--role", "officer"],
                         env=env)  # fmt: skip
    assert same.exit_code == 0 and "(officer)" in same.output, same.output
    plain = runner.invoke(app, ["token", "create", "esc2", "--user", name], env=env)
    assert plain.exit_code == 0 and re.search(r"ggt_[\w-]{40,}", plain.output), plain.output


def test_the_demo_events_loader_leaves_no_live_admin_token(
    engine: Engine, demo_generation: int, database_url: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from layers.models import ApiToken

    with engine.connect() as conn:
        if conn.execute(
            text("SELECT count(*) FROM event WHERE external_ref LIKE 'demo:%'")
        ).scalar():
            pytest.skip("the demo's events are already in this database")
    # in a process of its own: the loader builds an app in-process, whose start and stop would
    # touch this process's caches that the live server shares (and asyncio.run needs no loop)
    code = (
        "from rich.console import Console; from api.commands.events import load_demo; "
        "from api.settings import Settings; load_demo(Settings(), Console(), 3)"
    )
    env = {**os.environ, "DATABASE_URL": database_url, "GRIDGIS_DATA_DIR": str(tmp_path / "d")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with make_sessionmaker(engine)() as session:
        loaders = session.scalars(
            select(ApiToken).where(ApiToken.name == "demo events loader")
        ).all()
    assert loaders and all(t.revoked_at is not None for t in loaders)
