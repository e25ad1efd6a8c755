"""``gridgis db backup FILE`` / ``gridgis db restore FILE``: the whole database in one file.

A backup is ``pg_dump --format=custom`` of the configured database (``DATABASE_URL``) or of the
embedded cluster's (reached the way the app reaches it: as user ``gridgis`` on the cluster's
Unix socket, started first if it is not running). It is written next to FILE under a temporary
name and renamed when pg_dump has finished, so FILE is never a half backup.

A restore runs the archive (turned into SQL by pg_restore) through psql in ONE transaction:
an error anywhere leaves the database as it was. Owners and privileges are not restored (the
backup may come from another server with other roles). A database that already holds tables is
refused unless ``--force``: then, in the same transaction, everything in it except its
extensions (PostGIS stays) is dropped first, so the database ends up holding exactly the backup
(pg_restore's own ``--clean`` is not used: it fails on partitioned tables). Stop the server
before restoring; it brings the schema up to date when it starts (or ``gridgis db migrate``).

Both show a progress bar: tables done of the tables to dump (counted in the database) or to
restore (counted in the archive's table of contents), from pg_dump's/pg_restore's ``--verbose``
lines, with the bytes written so far.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer
from rich.console import Console

console = Console(soft_wrap=True)
ARCHIVE_MAGIC = b"PGDMP"  # the first bytes of every pg_dump custom-format archive
PG_ROOT = Path("/usr/lib/postgresql")

# Tables with rows in the user's schemas; an extension's own tables (PostGIS's spatial_ref_sys)
# do not count: a database with only PostGIS in it is empty.
USER_TABLES = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
"""


# ``--force``: empty the database of everything but its extensions (PostGIS stays, and with it
# its own tables), in one transaction. pg_restore's own --clean cannot do it: it fails on the
# indexes of partitioned tables ("cannot drop inherited constraint").
EMPTY_DATABASE = r"""
DO $$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT format('%I.%I', n.nspname, c.relname) AS name,
           CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND NOT c.relispartition
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_%'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND (d.deptype = 'e' OR (c.relkind = 'S'
                      AND d.deptype IN ('a', 'i'))))  -- a column's sequence goes with it
  LOOP
    EXECUTE format('DROP %s IF EXISTS %s CASCADE', r.kind, r.name);
  END LOOP;
  FOR r IN
    SELECT p.oid::regprocedure::text AS name,
           CASE p.prokind WHEN 'a' THEN 'AGGREGATE' ELSE 'ROUTINE' END AS kind FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                      AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('DROP %s IF EXISTS %s CASCADE', r.kind, r.name);
  END LOOP;
  FOR r IN
    SELECT format('%I.%I', n.nspname, t.typname) AS name FROM pg_type t
    JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.typtype IN ('e', 'd', 'r', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_%'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                      AND d.objid = t.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('DROP TYPE IF EXISTS %s CASCADE', r.name);
  END LOOP;
  FOR r IN
    SELECT n.nspname AS name FROM pg_namespace n
    WHERE n.nspname NOT IN ('public', 'pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_%'
      AND NOT EXISTS (SELECT 1 FROM pg_extension e WHERE e.extnamespace = n.oid)
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                      AND d.objid = n.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', r.name);
  END LOOP;
END $$
"""


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Target:
    """How libpq reaches the database: a conninfo string (no password), the environment for
    the tools (``PGPASSWORD``), and a name to show."""

    conninfo: str
    env: dict[str, str]
    label: str


def target_of(url: str) -> Target:
    """The libpq target of a SQLAlchemy URL (``postgresql+psycopg://user:pw@host:port/db?…``;
    a socket folder as ``?host=/path``). The password goes in ``PGPASSWORD``, never on the
    command line (which other users can read)."""
    from psycopg.conninfo import make_conninfo
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    params: dict[str, str] = {k: str(v) for k, v in parsed.query.items()}
    for key, value in (("host", parsed.host), ("port", parsed.port),
                       ("user", parsed.username), ("dbname", parsed.database)):  # fmt: skip
        if value is not None:
            params.setdefault(key, str(value))
    env = {**os.environ}
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    label = f"{params.get('dbname', '?')} on {params.get('host', 'localhost')}"
    return Target(make_conninfo(**params), env, label)


def pg_tool(name: str) -> Path:
    """``pg_dump`` / ``pg_restore``: from ``GRIDGIS_PG_BINDIR`` if set, else the newest
    PostgreSQL installed under /usr/lib/postgresql (able to read any older server), else PATH.
    """
    configured = os.environ.get("GRIDGIS_PG_BINDIR")
    if configured:
        candidates = [Path(configured) / name]
    else:
        versions = sorted(
            (p for p in PG_ROOT.glob("*/bin") if p.parent.name.isdigit()),
            key=lambda p: int(p.parent.name),
            reverse=True,
        )
        candidates = [p / name for p in versions]
        if found := shutil.which(name):
            candidates.append(Path(found))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    where = f"in GRIDGIS_PG_BINDIR={configured}" if configured else "on this machine"
    raise BackupError(
        f"{name} not found {where}; install the PostgreSQL client tools "
        "(`apt-get install postgresql-client-15`, or the server package ./run.sh installs)"
    )


def configured_target(*, start: bool = True) -> Target:
    """The database the app uses (``DATABASE_URL`` or the embedded cluster, started if
    ``start`` and not running)."""
    from api.database import database_url
    from api.settings import Settings

    url, cluster = database_url(Settings())
    if cluster is not None and start:
        cluster.start()
    return target_of(url)


def count_user_tables(target: Target) -> int:
    """Tables of the user's schemas in the target database (see :data:`USER_TABLES`)."""
    password = target.env.get("PGPASSWORD")
    with psycopg.connect(target.conninfo, password=password, connect_timeout=10) as conn:
        row = conn.execute(USER_TABLES).fetchone()
    return int(row[0]) if row else 0


def check_archive(path: Path) -> list[str]:
    """The table data entries of a pg_dump custom-format archive (``pg_restore --list``); raises
    :class:`BackupError` if the file is missing or is not such an archive."""
    if not path.is_file():
        raise BackupError(f"no file {path}; give the path of a backup made by `gridgis db backup`")
    with path.open("rb") as f:
        magic = f.read(len(ARCHIVE_MAGIC))
    if magic != ARCHIVE_MAGIC:
        hint = " (a plain SQL dump: load it with psql)" if magic[:2] == b"--" else ""
        raise BackupError(
            f"{path} is not a pg_dump archive{hint}; give a file made by `gridgis db backup` "
            "(pg_dump --format=custom)"
        )
    listed = subprocess.run(
        [str(pg_tool("pg_restore")), "--list", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if listed.returncode != 0:
        raise BackupError(
            f"{path} cannot be read as a pg_dump archive: {_last_error(listed.stderr)}"
        )
    return [line for line in listed.stdout.splitlines() if " TABLE DATA " in line]


def _last_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "error" in line.lower()]
    if lines:
        return lines[-1].strip()
    rest = stderr.strip().splitlines()
    return rest[-1] if rest else "(no message)"


class _Bar:
    """A rich progress bar of tables done (with the size of ``output`` as it grows)."""

    def __init__(self, progress: Any, what: str, total: int, output: Path | None) -> None:
        self.progress, self.what, self.total, self.output = progress, what, total, output
        self.done = 0
        self.task = progress.add_task(what, total=max(total, 1), size="")

    def advance(self, table: str) -> None:
        self.done += 1
        self.total = max(self.total, self.done)
        self.progress.update(self.task, completed=self.done, total=self.total,
                             description=f"{self.what} {table[:40]}",
                             size=_size(self.output))  # fmt: skip

    def finish(self) -> None:
        self.progress.update(self.task, completed=self.total, total=max(self.total, 1),
                             description=self.what, size=_size(self.output))  # fmt: skip


@contextlib.contextmanager
def _progress(what: str, total: int, output: Path | None = None) -> Iterator[_Bar]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[size]}"), TimeElapsedColumn(), console=console,
    ) as progress:  # fmt: skip
        yield _Bar(progress, what, total, output)


def _run_with_progress(args: list[str], *, env: dict[str, str], total: int, marker: str,
                       what: str, output: Path | None = None) -> None:  # fmt: skip
    """Run a pg tool with ``--verbose``, advancing a bar at each stderr line containing
    ``marker`` (one per table); raises :class:`BackupError` with the tool's error if it fails.
    """
    errors: list[str] = []
    with _progress(what, total, output) as bar:
        process = subprocess.Popen(
            args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        assert process.stderr is not None
        for line in process.stderr:
            if marker in line:
                bar.advance(line.rsplit(marker, 1)[1].strip().strip('"'))
            elif "error" in line.lower() or "fatal" in line.lower():
                errors.append(line.strip())
        code = process.wait()
        if code == 0:
            bar.finish()
    if code != 0:
        raise BackupError(
            f"{Path(args[0]).name} failed: " + (errors[-1] if errors else f"exit {code}")
        )


def _size(path: Path | None) -> str:
    if path is None or not path.exists():
        return ""
    n = float(path.stat().st_size)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def backup(file: Path, target: Target) -> int:
    """``pg_dump --format=custom`` of ``target`` into ``file``; its size in bytes."""
    pg_dump = pg_tool("pg_dump")
    file = file.resolve()
    if not file.parent.is_dir():
        raise BackupError(f"the folder {file.parent} does not exist; create it or choose another")
    try:
        total = count_user_tables(target)  # the bar's total (pg_dump also dumps rows of
    except psycopg.Error as exc:  # extension configuration tables: the bar then grows)
        raise BackupError(f"cannot connect to {target.label}: {exc}") from None
    partial = file.with_name(f".{file.name}.partial")
    try:
        _run_with_progress(
            [str(pg_dump), "--format=custom", "--verbose", f"--file={partial}",
             f"--dbname={target.conninfo}"],
            env=target.env, total=total, marker="dumping contents of table",
            what="backup", output=partial,
        )  # fmt: skip
        partial.replace(file)
    finally:
        partial.unlink(missing_ok=True)
    return file.stat().st_size


def restore(file: Path, target: Target, *, force: bool) -> int:
    """Restore ``file`` into ``target`` in ONE transaction; the tables restored.

    pg_restore turns the archive into its SQL script (data as COPY), which psql runs with
    ``--single-transaction``: an error anywhere leaves the database as it was. A target holding
    tables is refused unless ``force``; then the script starts by emptying it
    (:data:`EMPTY_DATABASE`), in the same transaction."""
    entries = check_archive(file)
    pg_restore, psql = pg_tool("pg_restore"), pg_tool("psql")
    try:
        existing = count_user_tables(target)
    except psycopg.Error as exc:  # no server, no such database, login refused
        raise BackupError(f"cannot connect to {target.label}: {exc}") from None
    if existing and not force:
        raise BackupError(
            f"the database {target.label} is not empty ({existing} tables); restore into an "
            "empty database, or add --force to replace everything in it (its extensions "
            "stay) with the backup"
        )
    with tempfile.TemporaryFile() as psql_errors, _progress("restore", len(entries)) as bar:
        producer = subprocess.Popen(
            [str(pg_restore), "--no-owner", "--no-privileges", "--file=-", str(file)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        consumer = subprocess.Popen(
            [str(psql), "--no-psqlrc", "--quiet", "--single-transaction",
             "--set=ON_ERROR_STOP=1", f"--dbname={target.conninfo}", "--file=-"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_errors,
            env=target.env,
        )  # fmt: skip
        assert producer.stdout is not None and consumer.stdin is not None
        try:
            if existing:
                consumer.stdin.write(EMPTY_DATABASE.encode() + b";\n")
            for line in producer.stdout:
                if line.startswith(b"COPY "):  # one per table with rows
                    bar.advance(line.split(b" ", 2)[1].decode(errors="replace"))
                consumer.stdin.write(line)
        except BrokenPipeError:
            producer.kill()  # psql stopped at an error (reported below): stop pg_restore too
        except BaseException:
            producer.kill()
            consumer.kill()
            raise
        finally:
            with contextlib.suppress(BrokenPipeError):
                consumer.stdin.close()
        consumer_code, producer_code = consumer.wait(), producer.wait()
        if consumer_code == 0 and producer_code == 0:
            bar.finish()
        psql_errors.seek(0)
        stderr = psql_errors.read().decode(errors="replace")
    if consumer_code != 0:
        raise BackupError(f"restore failed, nothing was changed: {_last_error(stderr)}")
    if producer_code != 0:
        raise BackupError(f"pg_restore could not read {file} (exit {producer_code})")
    return len(entries)


def register(app: typer.Typer) -> None:
    """Add ``backup`` and ``restore`` to the ``gridgis db`` group (api/cli.py)."""
    db = next(g.typer_instance for g in app.registered_groups if g.name == "db")
    assert db is not None

    @db.command("backup")
    def db_backup(
        file: Annotated[Path, typer.Argument(help="the archive to write (pg_dump custom format)")],
    ) -> None:
        """Back up the whole database into FILE (pg_dump --format=custom), with progress."""
        try:
            size = backup(file, configured_target())
        except BackupError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from None
        console.print(f"backup written: {file} ({_size(file)}, {size} bytes)")

    @db.command("restore")
    def db_restore(
        file: Annotated[Path, typer.Argument(help="an archive made by `gridgis db backup`")],
        force: Annotated[
            bool,
            typer.Option(
                help="restore into a database that holds tables: replace everything in it "
                "(but its extensions) by the backup, in the same one transaction"
            ),
        ] = False,
    ) -> None:
        """Restore FILE into the configured (empty) database in one transaction; stop the
        server first."""
        try:
            tables = restore(file, configured_target(), force=force)
        except BackupError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from None
        console.print(f"restored {file}: {tables} tables; `gridgis db migrate` brings the "
                      "schema up to date if the backup is older")  # fmt: skip
