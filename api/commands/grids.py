"""``gridgis grids …``: import, validate and publish grid generations (planners' tools).

Like mapit's boundary imports, changes are dry runs unless ``--commit`` is given: an import
without it reads, checks and reports, then rolls back.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import DBAPIError

from api.commands import words
from api.commands.words import LangOpt, t
from api.database import open_sessions
from api.settings import Settings
from layers.db import transaction
from layers.errors import DomainError

if TYPE_CHECKING:  # the heavy modules (geopandas, fastapi) are imported by the commands
    from sqlalchemy.orm import Session

    from gis.gridfiles import GridFile
    from gis.hierarchy import HierarchyReport
    from layers.accounts import AppUser
    from layers.planning.copying import Actor

grids_app = typer.Typer(
    help="Grid generations: import, draft, validate, review, publish, export.",
    no_args_is_help=True,
)
console = Console()


def register(app: typer.Typer) -> None:
    app.add_typer(grids_app, name="grids")


def print_report(report: HierarchyReport) -> None:
    counts = ", ".join(f"L{level}: {n}" for level, n in sorted(report.counts.items()))
    if report.ok:
        console.print(t("valid", counts=counts))
        return
    table = Table(*words.columns("problem_table"))
    for p in report.problems[:200]:
        where = f"{p.location[0]:.6f}, {p.location[1]:.6f}" if p.location else ""
        table.add_row(
            p.kind.value, " ".join(p.codes), where,
            f"{p.area_m2:,.1f}" if p.area_m2 is not None else "",
            f"{p.width_m:.2f}" if p.width_m is not None else "", words.problem_detail(p),
        )  # fmt: skip
    console.print(table)
    console.print(t("problems", n=len(report.problems), counts=counts, kinds=report.by_kind()))


AsUser = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="act as this user (a planner or admin account; default: GRIDGIS_OPERATOR, else "
        "the OS user as cli:NAME, an admin)",
    ),
]


def cli_user(as_user: str | None = None, session: Session | None = None) -> AppUser | None:
    """The account the command line acts as: ``as_user``, else the configured operator
    (``GRIDGIS_OPERATOR``); None when neither is given (the OS user, an admin). A named account
    that does not exist, is disabled, or is neither planner nor admin prints the reason and
    exits 1."""
    import os

    name = as_user or os.environ.get("GRIDGIS_OPERATOR") or None
    if name is None or session is None:
        return None
    from sqlalchemy import select

    from layers.accounts import AppUser

    user = session.scalar(select(AppUser).where(AppUser.name == name))
    if user is None or user.disabled_at is not None:
        state = "is disabled" if user is not None else "does not exist"
        console.print(f"[red]user {name} {state}; list users with gridgis user list[/]")
        raise typer.Exit(1)
    if user.role.value not in ("planner", "admin"):
        console.print(f"[red]user {name} is a {user.role.value}; a planner or admin is needed[/]")
        raise typer.Exit(1)
    return user


def cli_actor(as_user: str | None = None, session: Session | None = None) -> Actor:
    """Who the command line acts as: the account of :func:`cli_user` with its role, else an
    admin named after the OS user (``cli:NAME``). The review rules (four eyes) apply to it like
    to anyone; its scope by :func:`require_draft_by_cli` / the edit check of ``drafts``."""
    from layers.planning.copying import Actor

    user = cli_user(as_user, session)
    if user is None:
        return Actor(name=f"cli:{getpass.getuser()}", role="admin")
    return Actor(name=user.name, role=user.role.value, user_id=user.id)


def require_draft_by_cli(
    session: Session, as_user: str | None, generation_id: int, step: str
) -> None:
    """The HTTP API's scope rule for importing, approving or publishing a draft
    (:func:`layers.planning.scope.require_draft_by`) for the command line's account (``--as``
    or ``GRIDGIS_OPERATOR``; the OS user is an admin, never bounded): DomainError (403's
    Forbidden) when the draft changes grids outside its scope."""
    from layers.planning.scope import require_draft_by

    user = cli_user(as_user, session)
    if user is not None:
        require_draft_by(
            session=session, identity=user.identity(), generation_id=generation_id, step=step
        )


def read_grid_file(
    path: Path,
    layer: str | None = None,
    crs: str | None = None,
    session: Session | None = None,
    encoding: str | None = None,
) -> GridFile:
    """A planner's file (GeoPackage, GeoJSON, zipped Shapefile) read by gis.gridfiles; a bad
    file prints the reason and the fix and exits 1."""
    from gis.gridfiles import GridFileError
    from gis.gridfiles import read_grid_file as read_gridfile
    from layers.planning.drafts import read_planner_file

    try:
        if session is not None:
            return read_planner_file(
                session=session, path=path, layer=layer, crs=crs, encoding=encoding
            )
        return read_gridfile(path, layer=layer, crs=crs, encoding=encoding)
    except (GridFileError, DomainError) as exc:
        console.print(f"[red]{path.name}: {words.detail(exc)}[/]", soft_wrap=True)
        layers = getattr(exc, "layers", None) or getattr(exc, "extra", {}).get("layers")
        if layers:
            console.print(t("choose_layer"))
            for x in layers:
                console.print(
                    t("layer_row", name=x["name"], features=x["features"],
                      geometry=x["geometry_type"] or t("no_geometry"))
                )  # fmt: skip
        elif exc.field == "crs":
            console.print(t("give_crs"))
        raise typer.Exit(1) from None


def print_file_notes(gridfile: GridFile) -> None:
    for note in gridfile.notes:
        console.print(t("note", note=note), soft_wrap=True)


def print_comparison(comparison: dict[str, Any]) -> None:
    if not comparison or comparison.get("outline") is None:
        console.print(t("no_active"))
        return
    counts, outline, codes = comparison["counts"], comparison["outline"], comparison["codes"]
    per_level = ", ".join(
        f"L{lvl}: {counts['draft'][lvl]} ({counts['difference'][lvl]:+d})"
        for lvl in ("1", "2", "3")
    )
    console.print(t("compared", levels=per_level), soft_wrap=True)
    console.print(
        t("outline", area=f"{outline['draft_area_m2'] / 1e6:,.3f}",
          active=f"{outline['active_area_m2'] / 1e6:,.3f}",
          dropped=f"{outline['dropped_m2']:,.0f}", share=f"{outline['dropped_share']:.2%}",
          added=f"{outline['added_m2']:,.0f}", hausdorff=outline["hausdorff_m"],
          add=codes["added_count"], removed=codes["removed_count"],
          changed=codes["changed_count"]),
        soft_wrap=True,
    )  # fmt: skip


@grids_app.command("validate")
def validate(
    path: Annotated[
        Path | None, typer.Argument(help="a grid file; default: a stored generation")
    ] = None,
    generation: Annotated[
        int | None, typer.Option(help="stored generation id (default active)")
    ] = None,
    layer: Annotated[str | None, typer.Option(help="layer inside the file, or 'all'")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS of a file that states none")] = None,
    lang: LangOpt = None,
) -> None:
    """Check a three-level grid: overlaps, gaps (with widths), nesting, codes, counts.

    A file is read exactly as ``grids import`` and the HTTP upload read it
    (``layers.planning.drafts.read_planner_file``: derived villages and towns keep their names
    from the active generation; only codes it lacks are named ``待命名 <code>``)."""
    from gis.hierarchy import validate_hierarchy
    from layers.grids import read_grid_frame, resolve_generation

    words.use(lang)
    settings = Settings()
    with transaction(open_sessions(settings)) as session:
        if path is not None:
            gridfile = read_grid_file(path, layer, crs, session=session)
            print_file_notes(gridfile)
            frame = gridfile.frame
        else:
            gen = resolve_generation(session=session, generation_id=generation)
            frame = read_grid_frame(session=session, generation_id=gen.id)
    from layers.planning.geometry_guard import geometry_errors

    try:
        with geometry_errors("file"):
            report = validate_hierarchy(frame, metric_srid=settings.geo.metric_srid)
    except DomainError as exc:
        console.print(f"[red]{words.detail(exc)}[/]", soft_wrap=True)
        raise typer.Exit(1) from None
    print_report(report)
    raise typer.Exit(0 if report.ok else 1)


@grids_app.command("import")
def import_file(
    path: Path,
    name: Annotated[str, typer.Option(help="name of the new generation")],
    layer: Annotated[str | None, typer.Option(help="layer inside the file, or 'all'")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS of a file that states none")] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            help="a Shapefile's attribute encoding (GBK, UTF-8); default: .cpg, LDID, "
            "else detected (said so)"
        ),
    ] = None,
    note: Annotated[str | None, typer.Option(help="what the draft is for")] = None,
    commit: Annotated[bool, typer.Option("--commit", help="store it (default: dry run)")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="store it even if it drops much of the city")
    ] = False,
    publish: Annotated[
        bool,
        typer.Option(
            "--publish",
            help="emergency only: also make it active unreviewed (needs --commit, --reason, "
            "an admin)",
        ),
    ] = False,
    reason: Annotated[
        str | None, typer.Option(help="why it is published unreviewed (with --publish)")
    ] = None,
    as_user: AsUser = None,
    lang: LangOpt = None,
) -> None:
    """Import a grid file as a draft generation (dry run unless --commit).

    The file is compared with the active generation first; a draft that drops more than
    GRIDGIS_PLANNING_MAX_DROP_SHARE of the city (default 1 %) or a whole level is refused
    unless --force. A draft with problems is stored but cannot be published. --publish is the
    emergency path: an admin publishes it at once, unreviewed (the review log says so).
    """
    from api.schemas.generations import PlanningSettings
    from layers.planning import review
    from layers.planning.drafts import import_draft
    from layers.planning.geometry_guard import geometry_errors

    words.use(lang)
    settings, planning = Settings(), PlanningSettings()
    if publish and not (reason or "").strip():
        console.print(t("publish_needs_reason"))
        raise typer.Exit(1)
    sessions = open_sessions(settings)
    with sessions() as session:
        gridfile = read_grid_file(path, layer, crs, session=session, encoding=encoding)
        print_file_notes(gridfile)
        try:
            with geometry_errors("file"):  # an outline GEOS cannot process: named, no traceback
                result = import_draft(
                    session=session, gridfile=gridfile, name=name,
                    note=note or f"imported from {path.name}", actor=cli_actor(as_user, session),
                    metric_srid=settings.geo.metric_srid,
                    max_drop_share=planning.max_drop_share, force=force,
                    tolerance=planning.tolerance,
                )  # fmt: skip
            print_report(result.validation)
            print_comparison(result.comparison)
            if result.generation is not None:  # the HTTP API's rule: 403 there, exit 1 here
                require_draft_by_cli(session, as_user, result.generation.id, "import")
            if publish:
                if not result.validation.ok:
                    console.print(t("not_publishing"))
                    raise typer.Exit(1)
                assert result.generation is not None
                review.publish(
                    session=session, generation_id=result.generation.id,
                    actor=cli_actor(as_user, session), reason=reason, commit=True,
                    metric_srid=settings.geo.metric_srid, emergency=True,
                )  # fmt: skip
            session.flush()
        except DomainError as exc:
            session.rollback()
            if exc.extra.get("comparison"):
                print_comparison(exc.extra["comparison"])
            console.print(f"[red]{words.detail(exc)}[/]", soft_wrap=True)
            if exc.extra.get("comparison") and not force:
                console.print(t("force_hint"))
            raise typer.Exit(1) from None
        if not commit:
            session.rollback()
            console.print(t("dry_run_import"))
            return
        session.commit()
        gen = result.generation
        assert gen is not None
    state = t(
        "state_active"
        if publish
        else ("state_draft" if result.validation.ok else "state_unpublishable")
    )
    console.print(t("stored", id=gen.id, state=state))


@grids_app.command("draft")
def draft(
    name: Annotated[str, typer.Option(help="name of the new draft")],
    source: Annotated[
        str, typer.Option("--from", help="'active' or the id of the generation to copy")
    ] = "active",
    note: Annotated[str | None, typer.Option(help="what the draft is for")] = None,
    as_user: AsUser = None,
    lang: LangOpt = None,
) -> None:
    """Make a draft: a full copy of the active generation (or of generation ID)."""
    from layers.planning.copying import copy_generation, generation_counts, resolve_source

    words.use(lang)
    settings = Settings()
    with transaction(open_sessions(settings)) as session:
        try:
            src = resolve_source(session=session, source=source)
            gen = copy_generation(
                session=session,
                source_id=src.id,
                name=name,
                note=note,
                actor=cli_actor(as_user, session),
            )
            require_draft_by_cli(session, as_user, gen.id, "copy")  # the maker's scope owns it
            counts = generation_counts(session=session, generation_id=gen.id)
        except DomainError as exc:
            console.print(f"[red]{words.detail(exc)}[/]", soft_wrap=True)
            raise typer.Exit(1) from None
        console.print(
            t("copied", id=gen.id, source=src.id, l1=counts["1"], l2=counts["2"], l3=counts["3"])
        )


def _review_step(
    step: str, generation: int, reason: str, as_user: str | None = None, lang: str | None = None
) -> None:
    from layers.planning import review

    words.use(lang)
    settings = Settings()
    try:
        with transaction(open_sessions(settings)) as session:
            actor = cli_actor(as_user, session)
            require_draft_by_cli(session, as_user, generation, step)  # as the HTTP API
            if step == "submit":
                gen = review.submit(
                    session=session, generation_id=generation, actor=actor, reason=reason,
                    version=None, metric_srid=settings.geo.metric_srid,
                )  # fmt: skip
            elif step == "approve":
                gen = review.approve(
                    session=session, generation_id=generation, actor=actor, reason=reason,
                    version=None,
                )  # fmt: skip
            else:
                gen = review.reject(
                    session=session, generation_id=generation, actor=actor, reason=reason,
                    version=None,
                )  # fmt: skip
            status = gen.status.value
    except DomainError as exc:
        console.print(f"[red]{words.detail(exc)}[/]", soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(t("status_is", id=generation, status=status))


@grids_app.command("submit")
def submit(
    generation: int,
    reason: Annotated[str, typer.Option(help="why")],
    as_user: AsUser = None,
    lang: LangOpt = None,
) -> None:
    """Submit a valid draft for review."""
    _review_step("submit", generation, reason, as_user, lang)


@grids_app.command("approve")
def approve(
    generation: int,
    reason: Annotated[str, typer.Option(help="why")],
    as_user: AsUser = None,
    lang: LangOpt = None,
) -> None:
    """Approve a submitted generation; the approver (--as) must not be its submitter."""
    _review_step("approve", generation, reason, as_user, lang)


@grids_app.command("reject")
def reject(
    generation: int,
    reason: Annotated[str, typer.Option(help="why")],
    as_user: AsUser = None,
    lang: LangOpt = None,
) -> None:
    """Send a submitted or approved generation back to draft."""
    _review_step("reject", generation, reason, as_user, lang)


@grids_app.command("publish")
def publish(
    generation: int,
    commit: Annotated[bool, typer.Option("--commit", help="publish (default: dry run)")] = False,
    reason: Annotated[str | None, typer.Option(help="why (needed with --commit)")] = None,
    at: Annotated[
        str | None, typer.Option(help="effective time (ISO 8601, default now; +08:00 if no zone)")
    ] = None,
    as_user: AsUser = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the full answer as JSON")] = False,
    emergency: Annotated[
        bool,
        typer.Option(
            "--emergency",
            help="admin only, now: publish a draft that was not approved (logged as unreviewed)",
        ),
    ] = False,
    revert_newer: Annotated[
        bool,
        typer.Option(
            "--revert-newer",
            help="publish although generations published since the draft was copied changed "
            "grids it would revert (the dry run lists them); logged with --reason",
        ),
    ] = False,
    lang: LangOpt = None,
) -> None:
    """Publish a generation (dry run unless --commit): an approved one becomes active now or at
    --at (four eyes: submitted by one planner, approved by another or an admin); a retired one
    is rolled back to (admin: copied and published). --emergency (admin, now, --reason) publishes
    a draft without review; the review log marks it unreviewed.

    The dry run prints the validation, the comparison with the active generation and the
    impact; --commit publishes and re-anchors the living data in one transaction.
    """
    from api.deps import parse_at
    from layers.planning import review

    words.use(lang)
    settings = Settings()
    try:
        when = parse_at(at, field="--at")
    except DomainError as exc:
        console.print(f"[red]{words.detail(exc)}[/]", soft_wrap=True)
        raise typer.Exit(1) from None
    if commit and not (reason or "").strip():
        console.print(t("publish_needs_why"))
        raise typer.Exit(1)
    try:
        with transaction(open_sessions(settings)) as session:
            if commit:  # a dry run shows what would happen; storing it needs the scope
                require_draft_by_cli(session, as_user, generation, "publish")
            answer = review.publish(
                session=session, generation_id=generation, actor=cli_actor(as_user, session),
                reason=reason or "dry run", at=when, commit=commit,
                metric_srid=settings.geo.metric_srid, emergency=emergency,
                revert_newer=revert_newer,
            )  # fmt: skip
    except DomainError as exc:
        if "newer_publications" in exc.extra:
            print_newer(exc.extra["newer_publications"])
        if "validation" in exc.extra:
            console.print(t("problems_by_kind", kinds=exc.extra["validation"]["by_kind"]))
        console.print(t("not_published", detail=words.detail(exc)), soft_wrap=True)
        raise typer.Exit(1) from None
    except DBAPIError as exc:  # never a traceback: the transaction rolled back, say so
        from sqlalchemy.exc import IntegrityError

        from layers.integrity import describe_integrity

        what = describe_integrity(exc).field if isinstance(exc, IntegrityError) else None
        console.print(t("publish_db_refused", what=what or type(exc.orig).__name__))
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode())
        return
    if answer.get("comparison"):
        print_comparison(answer["comparison"])
    if answer.get("newer_publications"):
        print_newer(answer["newer_publications"])
    print_publish_summary(answer)
    if answer["dry_run"]:
        console.print(t("dry_run_publish"))
    else:
        console.print(answer["message"], soft_wrap=True)


def print_newer(report: dict[str, Any]) -> None:
    """The generations published since the draft's base and what publishing it would undo
    (``layers.planning.newer_work``)."""
    since = ", ".join(f"{g['id']} {g['name']}" for g in report["published_since"]) or "-"
    console.print(t("newer_since", base=report["base"], since=since), soft_wrap=True)
    for kind in ("reverted", "overridden"):
        part = report[kind]
        if part["count"]:
            codes = " ".join(part["codes"][:20]) + (" …" if part["count"] > 20 else "")
            console.print(t(f"newer_{kind}", n=part["count"], codes=codes), soft_wrap=True)


def print_publish_summary(answer: dict[str, Any]) -> None:
    """A publish answer as a table (what moves, what is left to decide); --json for all of it."""
    impact = answer.get("impact")
    if isinstance(impact, str):
        console.print(impact)
        return
    totals = (impact or {}).get("totals", {})
    reanchor = answer.get("reanchor") if isinstance(answer.get("reanchor"), dict) else {}
    table = Table(*words.columns("summary_head"))
    rows = [
        (t("changed_grids"), totals.get("changed_grids")),
        (t("households"), totals.get("households")),
        (t("open_events"), totals.get("open_events")),
        (t("assignments"), totals.get("assignments")),
        (t("to_decide"), totals.get("to_decide", totals.get("assignments_to_decide"))),
        (t("zones"), totals.get("zones")),
        (t("devices"), totals.get("devices")),
        (t("households_moved"), reanchor.get("households_moved")),
        (t("assignments_moved"), reanchor.get("assignments_moved")),
        (t("zone_members"), reanchor.get("zone_members_replaced")),
    ]
    for label, value in rows:
        if value is not None:
            table.add_row(label, str(value))
    console.print(table)
    for key in ("supersedes", "superseded_by"):
        for g in answer.get(key, []):
            console.print(t(key, id=g["id"], name=g["name"], at=g["effective_at"]))
    pending = answer.get("assignments_to_decide") or (impact or {}).get("assignments_to_decide")
    if pending:
        print_to_decide(pending)


@grids_app.command("decide")
def decide_assignments(
    generation: int,
    assignment: Annotated[int | None, typer.Argument(help="the assignment id to decide")] = None,
    move: Annotated[
        str | None, typer.Option("--move", help="move it to this successor grid")
    ] = None,
    end: Annotated[bool, typer.Option("--end", help="end it")] = False,
    reason: Annotated[str | None, typer.Option(help="why (needed to decide)")] = None,
    as_user: AsUser = None,
    lang: LangOpt = None,
) -> None:
    """List everything a publication left to decide (assignments on retired grids, grid roles
    to staff, zone members; the list of ``gridgis to-decide``), or decide an assignment:
    --move CODE (one of its successor grids) or --end, with --reason."""
    from api.commands.decide_table import print_listing
    from layers.planning.decisions import decide
    from layers.planning.to_decide import to_decide

    words.use(lang)
    settings = Settings()
    try:
        with transaction(open_sessions(settings)) as session:
            if assignment is not None:
                if (move is None) == (not end):
                    console.print(t("decide_one"))
                    raise typer.Exit(2)
                answer = decide(
                    session=session, generation_id=generation, assignment_id=assignment,
                    decision="end" if end else "move", grid_code=move,
                    actor=cli_actor(as_user, session),
                    reason=reason,
                )  # fmt: skip
                done = "decided_move" if answer.get("decision") == "move" else "decided_end"
                console.print(t(done, id=assignment, code=move))
            listing = to_decide(session=session, generation_id=generation)
    except DomainError as exc:
        console.print(f"[red]{words.detail(exc)}[/]", soft_wrap=True)
        raise typer.Exit(1) from None
    print_listing(console, listing, generation)


def print_to_decide(items: list[dict[str, Any]]) -> None:
    """The assignments still to decide, as a table (nothing when none)."""
    if not items:
        console.print(t("none_to_decide"))
        return
    table = Table(*words.columns("decide_table"))
    for a in items:
        table.add_row(
            str(a["id"]), f"{a['name']} ({a['person_id']})", a["role"], a["grid_code"],
            " ".join(a["candidates"]) or t("decide_none"),
        )  # fmt: skip
    console.print(table)
    console.print(t("decide_hint", n=len(items)))


@grids_app.command("export")
def export(
    path: Path,
    generation: Annotated[
        int | None, typer.Option(help="stored generation id (default active)")
    ] = None,
) -> None:
    """Write a generation's grids to PATH: .zip (Shapefile, parent_code as parent_cod),
    .gpkg or .geojson."""
    from gis.gridfiles import to_shapefile
    from layers.grids import read_grid_frame, resolve_generation

    settings = Settings()
    with transaction(open_sessions(settings)) as session:
        gen = resolve_generation(session=session, generation_id=generation)
        frame = read_grid_frame(session=session, generation_id=gen.id)
    suffix = path.suffix.lower()
    if suffix == ".zip":
        to_shapefile(frame, path)
    elif suffix in (".gpkg", ".geojson", ".json"):
        frame.to_file(path, driver="GPKG" if suffix == ".gpkg" else "GeoJSON")
    else:
        console.print("[red]write a .zip (Shapefile), .gpkg or .geojson[/]")
        raise typer.Exit(1)
    console.print(f"generation {gen.id}: {len(frame)} grids written to {path}")
