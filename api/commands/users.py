"""``gridgis user create|list|disable|enable|set-role|passwd``: accounts for pages and API."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.database import open_sessions
from api.settings import Settings

console = Console(soft_wrap=True)


def _password(from_stdin: bool) -> str:
    """The password from the first line of stdin (scripts), or asked twice (people)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("password 密码", hide_input=True, confirmation_prompt=True))


def register(app: typer.Typer) -> None:
    users = typer.Typer(help="User accounts (pages and tokens).", no_args_is_help=True)
    app.add_typer(users, name="user")

    @users.command("create")
    def create(
        name: str,
        role: Annotated[str, typer.Option(help="viewer|dispatcher|officer|planner|admin")],
        person: Annotated[int | None, typer.Option(help="staff member id (person)")] = None,
        scope: Annotated[str, typer.Option(help="city|grids|town:CODE|village:CODE")] = "city",
        display_name: Annotated[str | None, typer.Option()] = None,
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help="read the password from stdin")
        ] = False,
        no_password: Annotated[
            bool, typer.Option("--no-password", help="API tokens only, no page log-in")
        ] = False,
    ) -> None:
        """Create a user NAME with a role, an optional staff member and scope, and a password."""
        from layers import accounts
        from layers.db import transaction
        from layers.errors import DomainError
        from layers.models import Role

        if role not in {r.value for r in Role}:
            console.print(f"[red]role {role!r} does not exist; use one of "
                          f"{', '.join(r.value for r in Role)}[/]")  # fmt: skip
            raise typer.Exit(2)
        password = None if no_password else _password(password_stdin)
        try:
            with transaction(open_sessions(Settings())) as session:
                user = accounts.create_user(
                    session=session, name=name, role=role, display_name=display_name,
                    scope=accounts.Scope.parse(scope), person_id=person, password=password,
                )  # fmt: skip
                console.print(f"user {user.id} {user.name} ({role}, {user.scope}) created")
        except DomainError as exc:
            console.print(f"[red]{exc.detail}[/]")
            raise typer.Exit(1) from None

    @users.command("list")
    def list_() -> None:
        """List users (never their passwords)."""
        from layers import accounts
        from layers.db import transaction

        with transaction(open_sessions(Settings())) as session:
            table = Table("id", "name", "role", "scope", "person", "last login", "disabled")
            for u in accounts.list_users(session=session):
                table.add_row(
                    str(u.id), u.name, u.role.value, str(u.scope), str(u.person_id or ""),
                    str(u.last_login_at or ""), str(u.disabled_at or ""),
                )  # fmt: skip
            console.print(table)

    @users.command("disable")
    def disable(name: str) -> None:
        """Disable user NAME: their sessions end now, their tokens are refused."""
        from layers import accounts
        from layers.db import transaction
        from layers.errors import DomainError

        try:
            with transaction(open_sessions(Settings())) as session:
                user = accounts.get_user(session=session, name=name)
                accounts.disable_user(session=session, user=user)
        except DomainError as exc:
            console.print(f"[red]{exc.detail}[/]")
            raise typer.Exit(1) from None
        console.print(f"user {name} disabled; every session of theirs has ended")

    @users.command("set-role")
    def set_role(
        name: str,
        role: Annotated[str, typer.Argument(help="viewer|dispatcher|officer|planner|admin")],
        scope: Annotated[
            str | None,
            typer.Option(help="also change the scope: city|grids|town:CODE|village:CODE"),
        ] = None,
    ) -> None:
        """Give user NAME the role ROLE (and a scope); their sessions end. The last enabled
        admin cannot lose the role: make another admin first."""
        from layers import accounts
        from layers.db import transaction
        from layers.errors import DomainError
        from layers.models import Role

        if role not in {r.value for r in Role}:
            console.print(f"[red]role {role!r} does not exist; use one of "
                          f"{', '.join(r.value for r in Role)}[/]")  # fmt: skip
            raise typer.Exit(2)
        try:
            with transaction(open_sessions(Settings())) as session:
                user = accounts.get_user(session=session, name=name)
                parsed = None if scope is None else accounts.Scope.parse(scope)
                accounts.update_user(session=session, user=user, role=role, scope=parsed)
                console.print(f"user {name} is now {role} ({user.scope})")
        except DomainError as exc:
            console.print(f"[red]{exc.detail}[/]")
            raise typer.Exit(1) from None

    @users.command("enable")
    def enable(name: str) -> None:
        """Enable user NAME again (after ``disable``)."""
        from layers import accounts
        from layers.db import transaction
        from layers.errors import DomainError

        try:
            with transaction(open_sessions(Settings())) as session:
                user = accounts.get_user(session=session, name=name)
                accounts.update_user(session=session, user=user, disabled=False)
        except DomainError as exc:
            console.print(f"[red]{exc.detail}[/]")
            raise typer.Exit(1) from None
        console.print(f"user {name} enabled")

    @users.command("passwd")
    def passwd(
        name: str,
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help="read the password from stdin")
        ] = False,
    ) -> None:
        """Set user NAME's password (their sessions end)."""
        from layers import accounts
        from layers.db import transaction
        from layers.errors import DomainError

        password = _password(password_stdin)
        try:
            with transaction(open_sessions(Settings())) as session:
                user = accounts.get_user(session=session, name=name)
                accounts.set_password(session=session, user=user, password=password)
        except DomainError as exc:
            console.print(f"[red]{exc.detail}[/]")
            raise typer.Exit(1) from None
        console.print(f"password of {name} set")
