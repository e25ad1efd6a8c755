"""A server's timer work: idempotency keys older than 30 days are forgotten, new ones kept."""

from __future__ import annotations

import time

from sqlalchemy import Engine, text

from api.periodic import start_late_fix_recompute
from layers.db import make_sessionmaker


def test_old_idempotency_keys_are_purged(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO idempotency_key (owner, key, request, created_at) VALUES "
            "('user:0', 'old-key-periodic', 'POST /x', now() - interval '40 days'), "
            "('user:0', 'new-key-periodic', 'POST /x', now())"
        ))  # fmt: skip
    stop = start_late_fix_recompute(make_sessionmaker(engine), 0.2)
    try:
        deadline = time.monotonic() + 60
        while True:
            with engine.connect() as conn:
                keys = set(conn.execute(text(
                    "SELECT key FROM idempotency_key WHERE key LIKE '%-key-periodic'"
                )).scalars())  # fmt: skip
            if keys == {"new-key-periodic"}:
                break
            assert time.monotonic() < deadline, keys
            time.sleep(0.2)
    finally:
        stop()
    assert start_late_fix_recompute(make_sessionmaker(engine), 0)() is None  # 0: never
