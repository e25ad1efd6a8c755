"""Helpers for the accounts and sessions tests: users made in the database, browsers that log in
on /login like a person does (httpx with a cookie jar)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import Engine

from layers.db import make_sessionmaker, transaction

PASSWORD = "correct horse battery"
PROBLEM = "application/problem+json"


def make_user(
    engine: Engine,
    role: str,
    *,
    scope: str = "city",
    person_id: int | None = None,
    password: str | None = PASSWORD,
    prefix: str = "u",
) -> dict[str, Any]:
    """A fresh user (unique name) stored directly; returns its id and name."""
    from layers import accounts

    name = f"{prefix}-{role}-{secrets.token_hex(4)}"
    with transaction(make_sessionmaker(engine)) as session:
        user = accounts.create_user(
            session=session,
            name=name,
            role=role,
            scope=accounts.Scope.parse(scope),
            person_id=person_id,
            password=password,
        )
        return {"id": user.id, "name": name}


def make_token(engine: Engine, user_id: int) -> dict[str, Any]:
    from layers import accounts, auth

    with transaction(make_sessionmaker(engine)) as session:
        user = accounts.get_user(session=session, user_id=user_id)
        row, value = auth.create_token(session=session, name="test", user=user)
        return {"id": row.id, "token": value}


def browser(live_server: str) -> httpx.Client:
    """A client that keeps cookies like a browser and sends this site's Origin on writes."""
    return httpx.Client(base_url=live_server, timeout=60, headers={"Origin": live_server})


@contextmanager
def login(live_server: str, name: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    """A browser logged in with name and password on /login (asserts it worked)."""
    with browser(live_server) as client:
        r = client.post("/login", data={"username": name, "password": password, "next": "/map"})
        assert r.status_code == 303 and r.headers["location"] == "/map", r.text
        yield client


def problem(r: httpx.Response, status: int, field: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["field"] == field, body
    return body
