"""Sign-in and a database that takes no writes; old sign-in counts forgotten (issue 11).

The password is checked before anything of the sign-in is written: on a read-only database
(``default_transaction_read_only``, a standby) or a full disk a wrong password is a plain 401,
locks already armed still hold (429), and a right password is answered 503 naming the one
write that failed (the session), with nothing stored. The HTTP tests make the database itself
raise the real SQLSTATE 25006 (read_only_sql_transaction) for one test user's rows only
(triggers, as tests/e2e/test_database_faults.py does for a full disk), so other tests running
on the same database are untouched; the throttle's own functions are also run on connections
opened with ``default_transaction_read_only = on``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from layers import login_throttle
from tests.api.accounts_support import PASSWORD, browser, make_user

RAISE_READ_ONLY = (
    "CREATE OR REPLACE FUNCTION test_read_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'cannot execute % in a read-only transaction', TG_OP "
    "USING ERRCODE = 'read_only_sql_transaction'; END $$"
)


@contextmanager
def read_only_for(engine: Engine, user_id: int, keys: list[tuple[str, str]]) -> Iterator[None]:
    """The database refuses, as a read-only one does, every write of the sign-in of this user:
    its session, its last-login time, its attempt counts."""
    wanted = ", ".join(f"'{v}'" for _, v in keys)  # hex digests and a generated name
    with engine.begin() as conn:
        conn.execute(text(RAISE_READ_ONLY))
        conn.execute(text(
            "CREATE TRIGGER test_ro_session BEFORE INSERT OR UPDATE ON user_session FOR EACH ROW "
            f"WHEN (NEW.user_id = {int(user_id)}) EXECUTE FUNCTION test_read_only()"
        ))  # fmt: skip
        conn.execute(text(
            "CREATE TRIGGER test_ro_user BEFORE UPDATE ON app_user FOR EACH ROW "
            f"WHEN (NEW.id = {int(user_id)}) EXECUTE FUNCTION test_read_only()"
        ))  # fmt: skip
        conn.execute(text(
            "CREATE TRIGGER test_ro_attempt BEFORE INSERT OR UPDATE ON login_attempt "
            f"FOR EACH ROW WHEN (NEW.key IN ({wanted})) EXECUTE FUNCTION test_read_only()"
        ))  # fmt: skip
    try:
        yield
    finally:
        with engine.begin() as conn:
            for trigger, table in (("test_ro_session", "user_session"),
                                   ("test_ro_user", "app_user"),
                                   ("test_ro_attempt", "login_attempt")):  # fmt: skip
                conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger} ON {table}"))


def _rows(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def test_sign_in_on_a_read_only_database(live_server, engine) -> None:  # type: ignore[no-untyped-def]
    user = make_user(engine, "viewer", prefix="ro")
    keys = login_throttle.keys(user=user["name"], address="127.0.0.1")
    counted = "SELECT count(*) FROM login_attempt WHERE key = ANY(:k)"
    sessions = "SELECT count(*) FROM user_session WHERE user_id = :u"
    with read_only_for(engine, user["id"], keys), browser(live_server) as b:
        wrong = b.post("/login", data={"username": user["name"], "password": "not it at all",
                                       "lang": "en"})  # fmt: skip
        assert wrong.status_code == 401, wrong.text  # checked, not a 503
        assert "wrong password" in wrong.text
        right = b.post("/login", data={"username": user["name"], "password": PASSWORD,
                                       "lang": "en"})  # fmt: skip
        assert right.status_code == 503, right.text
        assert right.headers["Retry-After"] == "30"
        assert "sign-in is correct" in right.text and "session cannot be stored" in right.text
        assert "set-cookie" not in right.headers
        zh = b.post("/login", data={"username": user["name"], "password": PASSWORD})
        assert zh.status_code == 503 and "无法保存登录会话" in zh.text
    assert _rows(engine, counted, k=[v for _, v in keys]) == 0  # nothing written
    assert _rows(engine, sessions, u=user["id"]) == 0
    assert _rows(engine, "SELECT count(*) FROM app_user WHERE id = :u AND last_login_at IS NULL",
                 u=user["id"]) == 1  # fmt: skip
    with browser(live_server) as b:  # writes back: the same sign-in works
        ok = b.post("/login", data={"username": user["name"], "password": PASSWORD})
        assert ok.status_code == 303, ok.text
        assert b.get("/api/v1/me").status_code == 200
    assert _rows(engine, sessions, u=user["id"]) == 1


def test_a_lock_holds_while_the_database_is_read_only(live_server, engine) -> None:  # type: ignore[no-untyped-def]
    user = make_user(engine, "viewer", prefix="rolock")
    keys = login_throttle.keys(user=user["name"], address="127.0.0.1")
    pair = next(v for k, v in keys if k == login_throttle.PAIR)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO login_attempt (key_kind, key, failures, last_failed_at, "
                 "locked_until) VALUES ('pair', :k, 7, now(), now() + interval '10 minutes')"),
            {"k": pair},
        )  # fmt: skip
    with read_only_for(engine, user["id"], keys), browser(live_server) as b:
        r = b.post("/login", data={"username": user["name"], "password": PASSWORD})
        assert r.status_code == 429, r.text
        assert 500 <= int(r.headers["Retry-After"]) <= 600


@pytest.fixture
def read_only_engine(engine: Engine) -> Iterator[Engine]:
    """Connections to the test database opened with ``default_transaction_read_only = on``."""
    ro = create_engine(engine.url, connect_args={"options": "-c default_transaction_read_only=on"})
    yield ro
    ro.dispose()


def test_throttle_counts_nothing_on_a_read_only_connection(engine, read_only_engine) -> None:  # type: ignore[no-untyped-def]
    keys = login_throttle.keys(user=f"ro-{datetime.now(UTC).timestamp()}", address="10.9.8.7")
    assert login_throttle.admit(read_only_engine, keys) == []  # evaluated, not counted
    login_throttle.reset(read_only_engine, keys)  # a success: nothing to forget, no error
    assert _rows(engine, "SELECT count(*) FROM login_attempt WHERE key = ANY(:k)",
                 k=[v for _, v in keys]) == 0  # fmt: skip
    for _ in range(login_throttle.POLICY[login_throttle.PAIR].free):  # lock it (writable)
        login_throttle.admit(engine, keys)
    with pytest.raises(login_throttle.TooManyAttempts) as caught:
        login_throttle.admit(read_only_engine, keys)
    assert caught.value.field == "username" and caught.value.retry_after_s >= 1
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM login_attempt WHERE key = ANY(:k)"),
                     {"k": [v for _, v in keys]})  # fmt: skip


def test_old_sign_in_counts_are_purged(engine) -> None:  # type: ignore[no-untyped-def]
    longest = max(p.window_s for p in login_throttle.POLICY.values())
    now = datetime.now(UTC)
    rows = {  # key: (last failure, locked until)
        "purge-old": (now - timedelta(seconds=longest + 60), None),
        "purge-old-unlocked": (now - timedelta(seconds=longest + 60), now - timedelta(hours=1)),
        "purge-recent": (now - timedelta(seconds=longest - 600), None),
        "purge-locked": (now - timedelta(seconds=longest + 60), now + timedelta(minutes=5)),
    }
    tag = f"{now.timestamp()}"
    with engine.begin() as conn:
        for key, (last, until) in rows.items():
            conn.execute(
                text("INSERT INTO login_attempt (key_kind, key, failures, last_failed_at, "
                     "locked_until) VALUES ('user', :k, 3, :last, :until)"),
                {"k": f"{key}-{tag}", "last": last, "until": until},
            )  # fmt: skip
    assert login_throttle.purge(engine) >= 2
    with engine.connect() as conn:
        left = set(conn.execute(
            text("SELECT key FROM login_attempt WHERE key LIKE :p"), {"p": f"purge-%-{tag}"}
        ).scalars())  # fmt: skip
    assert left == {f"purge-recent-{tag}", f"purge-locked-{tag}"}
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM login_attempt WHERE key = ANY(:k)"), {"k": list(left)})


def test_the_periodic_work_purges_sign_in_counts(engine) -> None:  # type: ignore[no-untyped-def]
    """The server's timer (api/periodic.py) forgets old counts on its own."""
    import time

    from api.periodic import start_late_fix_recompute
    from layers.db import make_sessionmaker

    key = f"purge-timer-{datetime.now(UTC).timestamp()}"
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO login_attempt (key_kind, key, failures, last_failed_at) "
                 "VALUES ('user', :k, 2, now() - interval '2 days')"),
            {"k": key},
        )  # fmt: skip
    stop = start_late_fix_recompute(make_sessionmaker(engine), 0.2)
    try:
        deadline = time.monotonic() + 300  # a generous bound for a loaded machine
        while _rows(engine, "SELECT count(*) FROM login_attempt WHERE key = :k", k=key):
            assert time.monotonic() < deadline, "the periodic work never purged"
            time.sleep(0.2)
    finally:
        stop()
