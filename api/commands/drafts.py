"""``gridgis drafts …``: edit a draft generation (the same edits as the HTTP API), undo/redo,
the edit log, the diff and the impact report. Edits are dry runs unless ``--commit``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from api.commands import words
from api.commands.grids import AsUser, cli_actor, cli_user, require_draft_by_cli
from api.commands.words import LangOpt, t
from api.database import open_sessions
from api.settings import Settings
from layers.db import transaction
from layers.errors import DomainError

drafts = typer.Typer(help="Edit draft generations; diff, lineage, impact.", no_args_is_help=True)
console = Console()

ParamsOpt = Annotated[
    str,
    typer.Option(
        "--params",
        help='the op\'s parameters as JSON, e.g. \'{"codes": ["…", "…"], "offset_m": [50, 0]}\'',
    ),
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="why (recorded with the edit)")]
CommitOpt = Annotated[bool, typer.Option("--commit", help="store it (default: dry run)")]
VersionOpt = Annotated[
    int | None, typer.Option("--version", help="fail if the draft is no longer at this version")
]
AgainstOpt = Annotated[
    int | None, typer.Option("--against", help="generation to compare with (default: active)")
]


def register(app: typer.Typer) -> None:
    app.add_typer(drafts, name="drafts")


def _fail(exc: DomainError) -> None:
    console.print(f"[red]{words.detail(exc)}[/]", soft_wrap=True)
    raise typer.Exit(1)


def _print_answer(answer: dict[str, Any], commit: bool, step: str = "edit") -> None:
    """What an edit, undo or redo did: ``step`` names it ("undone: edit 12 (rename by …)")."""
    edit = answer["edit"]
    what = t("by", op=edit["op"], actor=edit["actor"])
    if step != "edit":
        why = f": {edit['reason']}" if edit.get("reason") else ""
        what = t("edit_step", step=t(step), id=edit["id"], what=what, why=why)
    console.print(
        t("edit_done", what=what, n=len(answer["changed"]["features"]),
          removed=", ".join(answer["removed"]) or t("none"), version=answer["version"]),
        soft_wrap=True,
    )  # fmt: skip
    validation = answer["validation"]
    if validation["ok"]:
        console.print(t("towns_valid", towns=", ".join(validation["towns_checked"])))
    else:
        for p in validation["problems"][:20]:
            console.print(
                f"[yellow]{p['kind']}[/] {' '.join(p['codes'])}: {words.problem_detail(p)}",
                soft_wrap=True,
            )
    if not commit:
        console.print(t("dry_run"))


def _run(
    commit: bool, fn: Any, step: str = "edit", as_user: str | None = None, **kwargs: Any
) -> None:
    """``fn`` (an edit, undo or redo) run by the command line's operator (``--as``, else
    ``GRIDGIS_OPERATOR``, else ``cli:NAME``: ``grids.cli_actor``, as submit/approve/publish),
    committed only with ``commit``. An account's edit that changes grids outside its scope is
    refused by the HTTP API's rule (layers.planning.scope.require_edit_by): the reason printed,
    nothing stored, exit 1."""
    from layers.planning.scope import require_edit_by

    settings = Settings()
    sessions = open_sessions(settings)
    kwargs["metric_srid"] = settings.geo.metric_srid
    session = sessions()
    try:
        kwargs["actor"] = cli_actor(as_user, session).label
        answer = fn(session=session, **kwargs)
        if (user := cli_user(as_user, session)) is not None:  # the OS user is an admin
            require_edit_by(
                session=session, identity=user.identity(), answer=answer,
                generation_id=kwargs["draft_id"],
            )  # fmt: skip
        _print_answer(answer, commit, step)
        if commit:
            session.commit()
        else:
            session.rollback()
    except DomainError as exc:
        session.rollback()
        _fail(exc)
    finally:
        session.close()


@drafts.command("edit")
def edit(
    draft_id: int,
    op: Annotated[
        str, typer.Argument(help="move_vertex|move_edge|split|merge|reparent|rename|recode")
    ],
    params: ParamsOpt = "{}",
    reason: ReasonOpt = "",
    version: VersionOpt = None,
    commit: CommitOpt = False,
    as_user: AsUser = None,
    lang: LangOpt = None,
) -> None:
    """One edit of a draft, e.g. ``gridgis drafts edit 7 move_edge --params '{"codes":
    ["320281001001001", "320281001001002"], "offset_m": [50, 0]}' --reason "new road"``."""
    from layers.planning.edits import apply_edit

    words.use(lang)
    try:
        parsed = json.loads(params)
    except ValueError as exc:
        console.print(t("params_not_json", error=exc))
        raise typer.Exit(2) from None
    if not isinstance(parsed, dict):
        console.print(t("params_not_object"))
        raise typer.Exit(2)
    from api.schemas.bodies import check_edit

    try:  # the same schema as POST /drafts/{id}/edits: unknown or invalid parameters named
        check_edit({"op": op, **parsed})
    except DomainError as exc:
        _fail(exc)
    _run(commit, apply_edit, as_user=as_user, draft_id=draft_id, op=op, params=parsed,
         reason=reason, expected_version=version)  # fmt: skip


@drafts.command("undo")
def undo(
    draft_id: int,
    version: VersionOpt = None,
    commit: CommitOpt = False,
    as_user: AsUser = None,
    lang: LangOpt = None,
) -> None:
    """Undo the draft's last edit."""
    from layers.planning.edits import undo_edit

    words.use(lang)
    _run(commit, undo_edit, "undone", as_user, draft_id=draft_id,
         expected_version=version)  # fmt: skip


@drafts.command("redo")
def redo(
    draft_id: int,
    version: VersionOpt = None,
    commit: CommitOpt = False,
    as_user: AsUser = None,
    lang: LangOpt = None,
) -> None:
    """Redo the edit undone last."""
    from layers.planning.edits import redo_edit

    words.use(lang)
    _run(commit, redo_edit, "redone", as_user, draft_id=draft_id,
         expected_version=version)  # fmt: skip


PreferOpt = Annotated[
    str | None,
    typer.Option(
        "--prefer", help="imported drafts: keep 'draft' or 'active' for every conflicting grid"
    ),
]
ChooseOpt = Annotated[
    list[str] | None,
    typer.Option("--choose", help="imported drafts: CODE=draft or CODE=active (repeatable)"),
]


def _choices(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        code, _, side = pair.partition("=")
        if not side:
            console.print(t("choose_bad", pair=pair))
            raise typer.Exit(2)
        out[code.strip()] = side.strip()
    return out


@drafts.command("rebase")
def rebase(
    draft_id: int,
    commit: CommitOpt = False,
    as_user: AsUser = None,
    prefer: PreferOpt = None,
    choose: ChooseOpt = None,
    lang: LangOpt = None,
) -> None:
    """Carry the draft's edits onto the generation in force, as a new draft (refused, naming
    the edit, when the newer publications changed the grids one of them edits). An imported
    draft is compared three ways (its base, itself, the generation in force): conflicts are
    listed unless --prefer or --choose settles them."""
    from layers.planning.rebase import rebase_draft

    words.use(lang)
    settings = Settings()
    session = open_sessions(settings)()
    try:
        require_draft_by_cli(session, as_user, draft_id, "rebase")  # as the HTTP API
        answer = rebase_draft(session=session, draft_id=draft_id,
                              actor=cli_actor(as_user, session),
                              metric_srid=settings.geo.metric_srid,
                              choices=_choices(choose), prefer=prefer)  # fmt: skip
        if (user := cli_user(as_user, session)) is not None:
            from layers.planning.scope import pass_on

            pass_on(session=session, source_id=draft_id, generation_id=answer["generation"],
                    identity=user.identity())  # fmt: skip
        if answer.get("mode") == "three-way":
            console.print(
                t("rebased_import", id=answer["generation"], draft=draft_id, base=answer["base"],
                  taken=len(answer["from_active"]), kept=len(answer["kept_draft"]),
                  conflicts=len(answer["conflicts"])),
                soft_wrap=True,
            )  # fmt: skip
            for c in answer["conflicts"]:
                console.print(t("conflict_chosen", code=c["code"], side=c["chosen"]))
        else:
            console.print(
                t("rebased", id=answer["generation"], base=answer["base"],
                  edits=answer["edits"], draft=draft_id)
            )  # fmt: skip
        if commit:
            session.commit()
        else:
            session.rollback()
            console.print(t("dry_run"))
    except DomainError as exc:
        session.rollback()
        for c in (exc.extra or {}).get("conflicts") or []:
            console.print(
                t("conflict_row", code=c["code"], draft=t(f"did_{c.get('draft', '?')}"),
                  active=t(f"did_{c.get('active', '?')}"))
            )  # fmt: skip
        _fail(exc)
    finally:
        session.close()


@drafts.command("log")
def log(draft_id: int, lang: LangOpt = None) -> None:
    """The draft's edit log: who, when, what and why."""
    from layers.planning.edits import list_edits

    words.use(lang)
    with transaction(open_sessions(Settings())) as session:
        try:
            data = list_edits(session=session, draft_id=draft_id)
        except DomainError as exc:
            _fail(exc)
            return
    table = Table(*words.columns("log_table"))
    for e in data["edits"]:
        grids = " ".join(sorted(set(e["grids_before"]) | set(e["grids_after"])))
        table.add_row(str(e["id"]), str(e["version"]), e["at"] or "", e["actor"], e["op"],
                      grids[:60], e["reason"], e["state"])  # fmt: skip
    console.print(table)
    console.print(t("log_version", id=draft_id, version=data["version"]))


@drafts.command("impact")
def impact(
    draft_id: int,
    against: AgainstOpt = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="also write the table")] = None,
    lang: LangOpt = None,
) -> None:
    """What publishing the draft changes: households, open events, assignments, zones."""
    from api.schemas.generations import PlanningSettings
    from layers.planning.impact import impact_report

    words.use(lang)
    settings = Settings()
    with transaction(open_sessions(settings)) as session:
        try:
            report = impact_report(
                session=session, draft_id=draft_id, against_id=against,
                metric_srid=settings.geo.metric_srid, tolerance=PlanningSettings().tolerance,
            )  # fmt: skip
        except DomainError as exc:
            _fail(exc)
            return
    table = Table(*words.columns("impact_table"))
    for g in report["changed_grids"]:
        cells = ("area_before_m2", "area_after_m2", "households_out", "households_in",
                 "open_events", "assignments")  # fmt: skip
        table.add_row(
            g["code"], g["change"], *(str(g[c] if g[c] is not None else "") for c in cells)
        )
    console.print(table)
    console.print(report["totals"])
    if xlsx is not None:
        from api.routes.drafts import impact_table

        answer = impact_table(report, name="impact", fmt="xlsx", lang=words.current())
        xlsx.write_bytes(bytes(answer.body))
        console.print(t("written", path=xlsx))


@drafts.command("diff")
def diff(draft_id: int, against: AgainstOpt = None, lang: LangOpt = None) -> None:
    """Grids added, removed, reshaped or renamed, with the area change."""
    words.use(lang)
    from api.schemas.generations import PlanningSettings
    from layers.grids import active_generation
    from layers.planning.lineage import diff_features

    settings = Settings()
    with transaction(open_sessions(settings)) as session:
        old = against or active_generation(session=session).id
        data = diff_features(
            session=session, old_generation_id=old, new_generation_id=draft_id,
            metric_srid=settings.geo.metric_srid, tolerance=PlanningSettings().tolerance,
        )  # fmt: skip
    table = Table(*words.columns("diff_table"))
    for f in data["features"]:
        p = f["properties"]
        table.add_row(str(p["level"]), p["code"], p["change"], f"{p['area_change_m2']:,.1f}")
    console.print(table)
    console.print(data["counts"])
