"""``gridgis``: the command line (set-up, demo data, tokens, server)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from types import ModuleType
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.database import database_url, open_engine
from api.routes import modules_with
from api.settings import Settings
from layers.cluster import ClusterError, LocalCluster
from layers.db import make_engine, make_sessionmaker, transaction

app = typer.Typer(help="GridGIS 网格通 command line.", no_args_is_help=True)
db_app = typer.Typer(help="The database: embedded cluster and migrations.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
console = Console(soft_wrap=True)  # URLs and tokens stay on one line, copy-pastable


def _cluster(settings: Settings) -> LocalCluster:
    if settings.database.url:
        console.print("[yellow]DATABASE_URL is set: the embedded cluster is not used.[/]")
        raise typer.Exit(1)
    return LocalCluster(settings.database.data_dir)


@db_app.command("up")
def db_up(
    citus: Annotated[bool, typer.Option(help="a local Citus cluster (layers/citus.py)")] = False,
    workers: Annotated[int, typer.Option(min=0, help="Citus workers (with --citus)")] = 2,
) -> None:
    """Start the embedded PostgreSQL + PostGIS cluster (created on first use)."""
    if citus:
        from api.commands.citus import citus_up

        return citus_up(console, workers)
    cluster = _cluster(Settings())
    try:
        started = cluster.start()
    except ClusterError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print("started" if started else "already running", cluster.url)


@db_app.command("down")
def db_down(
    citus: Annotated[bool, typer.Option(help="the local Citus cluster")] = False,
) -> None:
    """Stop the embedded cluster (fast shutdown; data kept)."""
    if citus:
        from api.commands.citus import citus_down

        return citus_down(console)
    cluster = _cluster(Settings())
    console.print("stopped" if cluster.stop() else "not running")


@db_app.command("status")
def db_status() -> None:
    """Show the database engine (embedded PostGIS, external PostgreSQL or a Citus coordinator
    with its workers' ports and state and its distributed tables) and its state, as JSON.
    Exits 1 (after printing) when the database does not answer."""
    from api.commands.db_status import status_report

    report = status_report(Settings())
    console.print_json(json.dumps(report))
    if not report["database"].get("reachable"):
        raise typer.Exit(1)


@db_app.command("url")
def db_url() -> None:
    """Print the database URL the app uses."""
    url, _ = database_url(Settings())
    print(url)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply the alembic migrations (starting the embedded cluster if needed)."""
    open_engine(Settings()).dispose()
    console.print("schema is up to date")


def _load_demo(settings: Settings) -> int:
    from layers.demo import load_demo_city

    engine = open_engine(settings)
    steps = ["generate", "validate", "load", "publish"]
    labels = {
        "generate": "生成演示城市 generating the demo city",
        "validate": "校验网格 validating the hierarchy",
        "load": "写入 PostGIS loading into PostGIS",
        "publish": "发布 publishing",
    }
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    ) as progress:  # fmt: skip
        task = progress.add_task("demo city", total=len(steps))

        def step(name: str) -> None:
            progress.update(task, description=labels[name], completed=steps.index(name))

        with transaction(make_sessionmaker(engine)) as session:
            generation, loaded = load_demo_city(
                session=session,
                seed=settings.geo.demo_seed,
                metric_srid=settings.geo.metric_srid,
                cache_dir=settings.database.data_dir / "cache",
                progress=step,
            )
        progress.update(task, completed=len(steps), description="demo city ready 演示城市就绪")
    console.print(
        f"generation {generation.id} {'loaded' if loaded else 'already loaded'}: {generation.name}"
    )
    engine.dispose()
    return generation.id


def _demo_steps() -> list[ModuleType]:
    steps = modules_with("api.commands", "load_demo")
    return sorted(steps, key=lambda m: getattr(m, "DEMO_ORDER", 100))


def _load_demo_all(settings: Settings, city_only: bool = False) -> None:
    """The demo city, then every other demo layer (staff, households, events …), in order."""
    _load_demo(settings)
    if city_only:
        return
    for module in _demo_steps():
        module.load_demo(settings, console)


@app.command("load-demo")
def load_demo() -> None:
    """Load the demo city (17 / 271 / 1,558 grids on Jiangyin's real outline) and demo data."""
    _load_demo_all(Settings())


def _secret_file(settings: Settings, name: str, make: Callable[[], str]) -> str:
    """A secret kept (mode 0600) in the data folder, made once."""
    path = settings.database.data_dir / name
    if path.exists():
        return path.read_text().strip()
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value)
    path.chmod(0o600)
    return value


DEMO_ADMIN = "admin"


def _admin_login(settings: Settings) -> tuple[str, str]:
    """The demo's administrator: user ``admin`` with a password, and an API token of that user
    (GRIDGIS_ADMIN_TOKEN if set), both generated once and kept in the data folder."""
    import secrets

    from layers.accounts import UserNotFound, create_user, get_user
    from layers.auth import ensure_token, new_token_value

    token = settings.auth.admin_token or _secret_file(settings, "admin-token", new_token_value)
    password = _secret_file(settings, "admin-password", lambda: secrets.token_urlsafe(12))
    url, _ = database_url(settings)
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as session:
        try:
            user = get_user(session=session, name=DEMO_ADMIN)
        except UserNotFound:
            user = create_user(
                session=session, name=DEMO_ADMIN, role="admin", display_name="演示管理员",
                password=password,
            )  # fmt: skip
        row = ensure_token(session=session, name="demo admin", role="admin", value=token)
        row.user_id = user.id
    engine.dispose()
    return token, password


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="listen address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="server processes (default: GRIDGIS_WORKERS, else the number of cores)"),
    ] = None,
    access_log: Annotated[
        bool | None,
        typer.Option(
            "--access-log/--no-access-log",
            help="one log line per request (default: GRIDGIS_ACCESS_LOG, else on)",
        ),
    ] = None,
) -> None:
    """Run the server on the configured database (embedded cluster if none).

    With several workers (uvicorn's process supervisor) the embedded cluster, the migrations and
    the session secret are prepared once here, before any worker starts; ``kill -HUP`` on the
    supervisor restarts the workers one by one (graceful restart), ``Ctrl-C`` stops them all.
    """
    import uvicorn

    settings = Settings()
    count = workers if workers is not None else settings.server.workers or os.cpu_count() or 1
    if count < 1:
        console.print("[red]--workers must be at least 1[/]")
        raise typer.Exit(2)
    host = host or settings.server.host
    port = port or settings.server.port
    log_each = settings.server.access_log if access_log is None else access_log
    if count == 1:
        from api.main import create_app

        uvicorn.run(
            create_app(settings), host=host, port=port, log_level="info", access_log=log_each,
            **settings.server.proxy_options(),
        )  # fmt: skip
        return
    _, cluster = database_url(settings)
    started = cluster.start() if cluster is not None else False
    try:
        open_engine(settings).dispose()  # migrations once, not raced by the workers
        settings.auth.secret(settings.database.data_dir)  # made once, read by every worker
        console.print(f"{count} workers")
        uvicorn.run(
            "api.main:create_app", factory=True, workers=count, host=host, port=port,
            log_level="info", access_log=log_each, **settings.server.proxy_options(),
            timeout_worker_healthcheck=settings.server.worker_healthcheck_s,
        )  # fmt: skip
    finally:
        if started and cluster is not None:
            cluster.stop()


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="listen address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="load only, do not serve")] = False,
    city_only: Annotated[
        bool, typer.Option("--city-only", help="only the grids, no demo staff/households/events")
    ] = False,
) -> None:
    """Start the embedded database, load the demo city, print an admin token and serve."""
    settings = Settings()
    _, cluster = database_url(settings)
    started = cluster.start() if cluster is not None else False
    try:
        _load_demo_all(settings, city_only)
        token, password = _admin_login(settings)
        base = f"http://{host or settings.server.host}:{port or settings.server.port}"
        console.rule("GridGIS 网格通")
        console.print(f"指挥中心 centre: {base}/   (English: {base}/?lang=en)")
        console.print(f"地图 map:        {base}/map   规划 planning: {base}/plan   "
                      f"网格员 officers' phones: {base}/m/")  # fmt: skip
        console.print(f"API docs:        {base}/docs")
        console.print(f"OGC API:         {base}/ogc")
        console.print(
            f"管理员 admin:    用户名 user [bold]{DEMO_ADMIN}[/]  密码 password [bold]{password}[/]"
        )
        console.print(f"管理员令牌 admin token: [bold]{token}[/]")
        example = f"{base}/api/v1/locate?lon=120.285&lat=31.92"
        console.print(f"  curl -H 'Authorization: Bearer {token}' '{example}'")
        if not no_serve:
            if not city_only:  # background demo activity (e.g. patrols) once the server is up
                local = base.replace("://0.0.0.0:", "://127.0.0.1:")
                for module in modules_with("api.commands", "on_serve"):
                    module.on_serve(settings, local, console)
            serve(host=host, port=port)
    finally:
        if started and cluster is not None:
            cluster.stop()
            console.print("embedded database stopped")


@token_app.command("create")
def token_create(
    name: str,
    role: Annotated[
        str | None,
        typer.Option(help="viewer|dispatcher|officer|planner|admin (default viewer)"),
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="the user it belongs to (default: system user NAME)")
    ] = None,
) -> None:
    """Create a token for user --user, or for the system user NAME with --role (made if
    missing); its value is shown only now. A token has its user's role: --role with --user must
    be that role (exit 2 otherwise; change the user's with ``gridgis user set-role``)."""
    from layers.accounts import ensure_system_user, get_user
    from layers.auth import create_token
    from layers.errors import DomainError
    from layers.models import Role

    if role is not None and role not in {r.value for r in Role}:
        console.print(f"[red]role {role!r} does not exist; use one of {[r.value for r in Role]}[/]")
        raise typer.Exit(2)
    try:
        with transaction(make_sessionmaker(open_engine(Settings()))) as session:
            owner = (
                get_user(session=session, name=user)
                if user
                else ensure_system_user(session=session, name=name, role=role or "viewer")
            )
            if role is not None and Role(role) is not owner.role:
                console.print(
                    f"[red]--role {role}: user {owner.name} is {owner.role.value} and a token has "
                    f"its user's role; leave --role out, or change the user's role first "
                    f"(gridgis user set-role {owner.name} {role})[/]"
                )
                raise typer.Exit(2)
            row, value = create_token(session=session, name=name, user=owner)
            console.print(
                f"token {row.id} ({owner.role.value}) for user {owner.name}: [bold]{value}[/]"
            )
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/]")
        raise typer.Exit(1) from None


@token_app.command("list")
def token_list() -> None:
    """List tokens (never their values) with their user and last use."""
    from layers.accounts import list_users
    from layers.auth import list_tokens

    with transaction(make_sessionmaker(open_engine(Settings()))) as session:
        users = {u.id: u for u in list_users(session=session)}
        table = Table("id", "name", "user", "role", "created", "last used", "revoked")
        for t in list_tokens(session=session):
            owner = users.get(t.user_id) if t.user_id else None
            table.add_row(
                str(t.id), t.name, owner.name if owner else "", (owner.role if owner else t.role),
                str(t.created_at), str(t.last_used_at or ""), str(t.revoked_at or ""),
            )  # fmt: skip
        console.print(table)


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke a token by id; its page sessions and its user's end now."""
    from layers.auth import revoke_token

    with transaction(make_sessionmaker(open_engine(Settings()))) as session:
        found = revoke_token(session=session, token_id=token_id)
    if found is None:
        console.print(f"[red]no token {token_id}; see `gridgis token list`[/]")
        raise typer.Exit(1)
    console.print(f"token {token_id} revoked; its sessions have ended")


for _module in modules_with("api.commands", "register"):
    _module.register(app)


def main() -> None:  # pragma: no cover - console entry point
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
