"""Issue 11's leftovers, each kind checked on every route it concerns (the routes are read from
the app's own OpenAPI document, so a new route is checked too):

- every 4xx names the real field: a path or query integer past PostgreSQL's range names the
  parameter, a body field its JSON pointer (``fixes/0/time``), a NUL its field;
- every GET answers HEAD (same status and headers, no body);
- query booleans are true/false/1/0 only;
- unknown JSON body fields are refused, except in the client protocols we do not control;
- problem ``type`` URIs are stable per kind (the path is the ``instance``);
- failed sign-ins are throttled per (user name, address) pair, a valid token never refused
  (429, Retry-After, audited; more in test_login_throttle.py);
- uploaded tables are parsed in a child process (XLSX early refused past the row limit).
"""

from __future__ import annotations

import io
import os
import re
import secrets
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from api.errors import PROBLEM_KINDS
from api.settings import PROJECT_DIR
from layers import login_throttle, tables
from tests.api.accounts_support import PASSWORD, browser, login, make_user
from tests.tracks_support import CITY_LAT, CITY_LON, make_device

PROBLEM = "application/problem+json"
HUGE = "999999999999999999999"  # past bigint
OVER_INT = "99999999999"  # past PostgreSQL integer
# client protocols that must take fields we do not read (module docstring of bodies.py)
TOLERANT = re.compile(
    r"^/(open311/|api/v1/ingest/(osmand|owntracks)|collections/|ogc/|api/v1/generations/"
    r"\{generation_id\}/edits$)"
)


@pytest.fixture(scope="module")
def document(live_server: str) -> dict[str, Any]:
    return httpx.get(f"{live_server}/openapi.json", timeout=60).json()


@pytest.fixture
def admin(live_server: str, tokens: dict[str, str]) -> httpx.Client:
    return httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['admin']}"}, timeout=60
    )


def fields_of(r: httpx.Response) -> set[str]:
    """The problem's ``field`` and the fields of its ``errors`` list.

    Open311 answers its errors as GeoReport v2 says (``[{"code", "description"}]``): there the
    field is the description's first word, before its colon.
    """
    assert 400 <= r.status_code < 500, (r.request.method, r.request.url, r.status_code, r.text)
    if r.request.url.path.startswith("/open311/"):
        errors = r.json()
        assert isinstance(errors, list) and errors[0]["code"] == r.status_code, r.text[:300]
        return {e["description"].split(":", 1)[0] for e in errors}
    assert r.headers["content-type"].startswith(PROBLEM), r.text[:300]
    body = r.json()
    return {body.get("field"), *(e.get("field") for e in body.get("errors") or [])}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def params(op: dict[str, Any], where: str, kind: str) -> list[str]:
    return [
        p["name"]
        for p in op.get("parameters", [])
        if p["in"] == where and kind in _types(p.get("schema", {}))
    ]


def _types(schema: dict[str, Any]) -> set[str]:
    found = {schema.get("type")} if "type" in schema else set()
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        found |= _types(branch)
    return found


def filled(path: str, op: dict[str, Any], **values: str) -> str:
    """``path`` with its parameters: ``values`` by name, else the least valid integer (1),
    or ``x``."""
    for p in op.get("parameters", []):
        if p["in"] == "path":
            least = str(p["schema"].get("minimum", 1))
            value = values.get(p["name"], least if "integer" in _types(p["schema"]) else "x")
            path = path.replace("{" + p["name"] + "}", value)
    return path


# -- 2: every 4xx names its field ---------------------------------------------------------------
def test_every_integer_path_parameter_past_the_range_names_itself(admin, document) -> None:
    checked = 0
    for method, path, op in operations(document):
        for name in params(op, "path", "integer"):
            for value in (HUGE, OVER_INT):
                r = admin.request(method, filled(path, op, **{name: value}))
                assert name in fields_of(r), (method, path, r.text[:300])
                checked += 1
    assert checked > 40  # events, tokens, users, devices, generations, teams, draws, …


def test_every_integer_query_parameter_past_the_range_names_itself(admin, document) -> None:
    checked = 0
    for method, path, op in operations(document):
        capped = {  # a documented maximum the route serves instead (OGC API's limit)
            p["name"] for p in op.get("parameters", []) if "maximum" in p.get("schema", {})
        }
        for name in params(op, "query", "integer"):
            r = admin.request(method, filled(path, op), params={name: HUGE})
            if name in capped:  # refused naming itself, or served at the maximum
                assert r.status_code < 500, (method, path, r.text)
                assert r.status_code != 422 or name in fields_of(r), (method, path, r.text)
                continue
            assert name in fields_of(r), (method, path, r.text[:300])
            checked += 1
    assert checked > 10


def test_named_fields_of_the_trial(admin, live_server, tokens, engine, demo_generation) -> None:
    r = admin.get(f"/api/v1/events/{HUGE}")
    assert fields_of(r) >= {"event_id"} and r.status_code == 422
    assert admin.delete(f"/api/v1/tokens/{OVER_INT}").json()["field"] == "token_id"
    officer = {"Authorization": f"Bearer {tokens['officer']}"}
    report = {"lon": CITY_LON, "lat": CITY_LAT, "subclass": "01\x0001", "description": "x"}
    r = httpx.post(f"{live_server}/api/v1/events", json=report, headers=officer)
    assert r.status_code == 422 and r.json()["field"] == "subclass", r.text
    device = make_device(engine)
    fix = {"time": True, "lon": CITY_LON, "lat": CITY_LAT}
    r = httpx.post(
        f"{live_server}/api/v1/ingest/batch",
        json={"device": device.external_id, "fixes": [fix]},
        headers={"Authorization": f"Bearer {device.secret}"},
    )
    assert r.status_code == 422 and r.json()["field"] == "fixes/0/time", r.text
    assert r.json()["errors"][0] == {
        "index": 0, "field": "fixes/0/time", "detail": r.json()["errors"][0]["detail"]
    }  # fmt: skip
    # a model's body field is its JSON pointer
    r = admin.post("/api/v1/users", json={"name": "p", "role": "viewer", "person_id": "x"})
    assert r.json()["field"] == "person_id"


# -- 3: HEAD ------------------------------------------------------------------------------------
def test_every_get_answers_head_with_the_same_status_and_headers(admin, document) -> None:
    paths = [p for m, p, op in operations(document) if m == "GET" and "{" not in p]
    paths += ["/map", "/login", "/health", "/openapi.json", "/docs"]
    for path in paths:
        got, head = admin.get(path), admin.head(path)
        assert head.status_code == got.status_code, (path, head.status_code, got.status_code)
        assert head.content == b"", path
        assert head.headers.get("content-type") == got.headers.get("content-type"), path
        assert head.status_code != 405, path
    got, head = admin.get("/openapi.json"), admin.head("/openapi.json")
    assert head.headers["content-length"] == got.headers["content-length"]
    # a path whose routes have no GET: 405 and HEAD is not offered
    r = admin.head("/api/v1/ingest/batch")
    assert r.status_code == 405 and "HEAD" not in r.headers["allow"]
    assert "HEAD" in admin.put("/health").headers["allow"]


# -- 4: query booleans --------------------------------------------------------------------------
def test_every_boolean_query_parameter_takes_only_true_or_false(admin, document) -> None:
    checked = 0
    for method, path, op in operations(document):
        for name in params(op, "query", "boolean"):
            url = filled(path, op)
            for word in ("yes", "on", "t", "", "2"):
                r = admin.request(method, url, params={name: word})
                assert name in fields_of(r), (method, path, word, r.text[:300])
            for word in ("true", "false", "1", "0", "TRUE"):
                r = admin.request(method, url, params={name: word})
                if r.status_code == 422:
                    assert name not in fields_of(r), (method, path, word, r.text[:300])
            checked += 1
    assert checked >= 4


# -- 5: unknown JSON fields ---------------------------------------------------------------------
def _json_body(op: dict[str, Any]) -> bool:
    return "application/json" in op.get("requestBody", {}).get("content", {})


def test_every_json_body_refuses_an_unknown_field(admin, document) -> None:
    checked = 0
    for method, path, op in operations(document):
        if not _json_body(op) or TOLERANT.match(path):
            continue
        if path == "/api/v1/ingest/batch":  # a device's credential: test_unknown_fields_inside…
            continue
        r = admin.request(method, filled(path, op), json={"zz_unknown": 1})
        assert "zz_unknown" in fields_of(r), (method, path, r.text[:300])
        checked += 1
    assert checked >= 20


def test_unknown_fields_inside_bodies(admin, live_server, tokens, engine) -> None:
    officer = {"Authorization": f"Bearer {tokens['officer']}"}
    report = {"lon": CITY_LON, "lat": CITY_LAT, "subclass": "0101", "description": "x"}
    r = httpx.post(f"{live_server}/api/v1/events", json={**report, "descripton": "typo"},
                   headers=officer)  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "descripton"
    device = make_device(engine)
    now = datetime.now(UTC).isoformat()
    fixes = [
        {"time": now, "lon": CITY_LON, "lat": CITY_LAT},
        {"time": now, "lon": CITY_LON, "lat": CITY_LAT, "acuracy_m": 5, "seq": 2},
    ]
    r = httpx.post(
        f"{live_server}/api/v1/ingest/batch",
        json={"device": device.external_id, "fixes": fixes},
        headers={"Authorization": f"Bearer {device.secret}"},
    )
    assert r.status_code == 200 and r.json()["stored"] == 1, r.text
    assert r.json()["errors"][0]["field"] == "fixes/1/acuracy_m"
    r = admin.put(
        "/api/v1/calendar/2031",
        json={"days": [{"date": "2031-01-01", "kind": "holiday", "nmae": "元旦"}]},
    )
    assert r.status_code == 422 and r.json()["field"] == "days/0/nmae"


def test_client_protocols_stay_tolerant(anon, engine, demo_generation) -> None:
    device = make_device(engine)
    query = {"id": device.external_id, "lat": CITY_LAT, "lon": CITY_LON, "key": device.secret}
    r = anon.get("/api/v1/ingest/osmand", params={**query, "some_new_field": "1"})
    assert r.status_code == 200, r.text


# -- 6: logout ----------------------------------------------------------------------------------
def test_logout_from_another_site_is_refused_and_keeps_the_session(live_server, engine) -> None:
    user = make_user(engine, "viewer")
    with login(live_server, user["name"]) as page:
        r = page.post("/logout", data={"csrf_token": "x"}, headers={"Origin": "http://evil.test"})
        assert r.status_code == 403
        r = page.post("/logout", data={"lang": "zh"})  # no form token
        assert r.status_code == 403 and "未退出" in r.text
        assert page.get("/api/v1/generations").status_code == 200


# -- 7: problem types ---------------------------------------------------------------------------
def test_problem_types_are_stable_per_kind(admin) -> None:
    a, b = admin.get("/api/v1/nothing-a"), admin.get("/api/v1/nothing-b")
    assert a.json()["type"] == b.json()["type"] == "https://gridgis.local/problems/not-found"
    assert a.json()["instance"] == "/api/v1/nothing-a" and "nothing" not in a.json()["title"]
    r = admin.put("/health")
    assert r.json()["type"].endswith("/problems/method-not-allowed")
    assert "/health" not in r.json()["type"] + r.json()["title"]
    r = admin.get("/api/v1/events", params={"limit": "x"})
    assert r.json()["type"].endswith("/problems/validation")
    documented = (PROJECT_DIR / "docs" / "problems.md").read_text(encoding="utf-8")
    for kind in PROBLEM_KINDS.values():
        assert f"/problems/{kind}" in documented, kind


# -- 8: sign-in throttling ----------------------------------------------------------------------
def _address() -> str:
    return f"198.51.100.{secrets.randbelow(250) + 1}"  # TEST-NET-2, via X-Forwarded-For


def _sign_in(live_server: str, name: str, password: str, address: str) -> httpx.Response:
    with browser(live_server) as page:
        return page.post(
            "/login",
            data={"username": name, "password": password, "lang": "en"},
            headers={"X-Forwarded-For": address},
        )


def _forget(engine: Engine, *keys: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM login_attempt WHERE key = ANY(:k)"), {"k": list(keys)})


def test_failed_sign_ins_lock_the_user_name(live_server, engine) -> None:
    user = make_user(engine, "viewer")
    address = _address()
    try:
        for _ in range(4):
            assert _sign_in(live_server, user["name"], "wrong", address).status_code == 401
        assert _sign_in(live_server, user["name"], PASSWORD, address).status_code == 303
        for _ in range(4):  # the success reset the count: 4 more are still allowed
            assert _sign_in(live_server, user["name"], "wrong", address).status_code == 401
        assert _sign_in(live_server, user["name"], "wrong", address).status_code == 401  # 5th
        # locked for this (name, address) pair: even the right password waits there, the name
        # in any case
        pair = login_throttle.keys(user=user["name"], address=address)[0][1]
        for name in (user["name"], user["name"].upper()):
            r = _sign_in(live_server, name, PASSWORD, address)
            assert r.status_code == 429, r.text
            assert 1 <= int(r.headers["retry-after"]) <= 30
            assert "Too many failed sign-ins" in r.text
        with engine.connect() as conn:
            audit = conn.execute(
                text("SELECT failures, locked_until FROM auth_audit WHERE key = :k"), {"k": pair}
            ).one()
        assert audit.failures == 5 and audit.locked_until > datetime.now(UTC)
        # the lock ends: the right password signs in and forgets the failures
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE login_attempt SET locked_until = now() WHERE key = :k"), {"k": pair}
            )
        assert _sign_in(live_server, user["name"], PASSWORD, address).status_code == 303
        with engine.connect() as conn:
            left = conn.execute(
                text("SELECT count(*) FROM login_attempt WHERE key IN (:k, :p) AND failures > 0"),
                {"k": user["name"].lower(), "p": pair},
            ).scalar_one()
        assert left == 0
    finally:
        _forget(engine, user["name"].lower(), address, pair)


def test_an_address_is_slowed_only_for_guesses_never_for_valid_tokens(
    live_server, engine, tokens
) -> None:
    address = _address()
    try:
        for i in range(20):  # 20 different names from one address
            r = _sign_in(live_server, f"nobody-{i}-{secrets.token_hex(3)}", "x", address)
            assert r.status_code == 401
        # an office behind one address: 20 failures of others never lock a colleague out
        user = make_user(engine, "viewer")
        assert _sign_in(live_server, user["name"], PASSWORD, address).status_code == 303
    finally:
        _forget(engine, address)
    other = _address()
    try:
        for _ in range(20):  # Bearer guesses count against the address
            r = httpx.get(
                f"{live_server}/api/v1/generations",
                headers={"Authorization": f"Bearer guess-{secrets.token_hex(8)}",
                         "X-Forwarded-For": other},
            )  # fmt: skip
            assert r.status_code == 401
        r = httpx.get(
            f"{live_server}/api/v1/generations",
            headers={"Authorization": "Basic " + "dTpndWVzcw==", "X-Forwarded-For": other},
        )
        assert r.status_code == 429 and r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["field"] == "address" and int(r.headers["retry-after"]) >= 1
        # a valid token from the same address is never refused for the others' failures
        r = httpx.get(
            f"{live_server}/api/v1/generations",
            headers={"Authorization": f"Bearer {tokens['viewer']}", "X-Forwarded-For": other},
        )
        assert r.status_code == 200, r.text
    finally:
        _forget(engine, other)


# -- 1: uploads parsed in another process -------------------------------------------------------
def xlsx(rows: int) -> bytes:
    """A minimal workbook with ``rows`` rows of one inline-string cell (no openpyxl: fast)."""
    ns = (
        'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    )
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            f'<Types xmlns="{pkg}/content-types"><Default Extension="rels" ContentType='
            '"application/vnd.openxmlformats-package.relationships+xml"/><Default Extension='
            '"xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
            'main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application'
            '/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{pkg}/relationships"><Relationship Id="rId1" Type="{rel}/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<workbook {ns}><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{pkg}/relationships"><Relationship Id="rId1" Type="{rel}/'
            'worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        body = "".join(
            f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>v{i}</t></is></c></row>'
            for i in range(1, rows + 1)
        )
        z.writestr(
            "xl/worksheets/sheet1.xml", f"<worksheet {ns}><sheetData>{body}</sheetData></worksheet>"
        )
    return out.getvalue()


def test_tables_are_parsed_in_a_child_process(monkeypatch) -> None:
    assert tables.run_isolated(os.getpid) != os.getpid()
    calls: list[str] = []
    real = tables.run_isolated

    def spy(fn, *args):  # type: ignore[no-untyped-def]
        calls.append(args[1])
        return real(fn, *args)

    monkeypatch.setattr(tables, "run_isolated", spy)
    assert tables.read_table(xlsx(3), kind="xlsx") == [["v1"], ["v2"], ["v3"]]
    big_csv = b"a,b\n" + b"x,y\n" * 100_000  # 400 KB
    assert len(tables.read_table(big_csv, kind="csv", max_rows=200_000)) == 100_001
    assert tables.read_table(b"a,b\n1,2\n", kind="csv") == [["a", "b"], ["1", "2"]]
    assert calls == ["xlsx", "csv"]  # the small CSV was read here


def test_a_workbook_over_the_row_limit_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(tables.TooManyRows) as refused:
        tables.read_table(xlsx(60_000), kind="xlsx", field="file")
    assert refused.value.field == "file" and "50000" in refused.value.detail


def test_the_parse_pool_is_not_started_at_import() -> None:
    code = "import api.main, layers.tables as t; assert t._POOL is None; print('ok')"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(PROJECT_DIR), capture_output=True, text=True
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_staff_import_of_a_huge_workbook_is_413(live_server, tokens, demo_generation) -> None:
    r = httpx.post(
        f"{live_server}/api/v1/staff/import",
        content=xlsx(60_000),
        headers={
            "Authorization": f"Bearer {tokens['planner']}",
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        },
        timeout=120,
    )
    assert r.status_code == 413 and r.json()["field"] == "file", r.text
    assert httpx.get(f"{live_server}/health", timeout=10).status_code == 200
