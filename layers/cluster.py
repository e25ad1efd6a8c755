"""The embedded default: a private PostgreSQL + PostGIS cluster in the project's data folder.

With no ``DATABASE_URL`` the app runs its own cluster: ``initdb`` into ``<data>/pg``, the
server listening only on a Unix socket in ``<data>/run`` (no TCP port, so nothing clashes with
another PostgreSQL on the machine), trust authentication on that socket (the folder is private
to the server's user). PostgreSQL refuses to run as root, so when invoked as root the cluster is
owned and run by the unprivileged system user ``gridgis``, created on first use.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "gridgis"
RELOCATED_ROOT = Path("/var/lib/gridgis/clusters")
DATABASE_NAME = "gridgis"
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; leave room for "/.s.PGSQL.5432"


class ClusterError(RuntimeError):
    """The local cluster could not be set up, started or stopped; the message says why and how."""


def find_bindir(preferred: str | None = None) -> Path:
    """The PostgreSQL server binaries (initdb, pg_ctl), newest installed major version first."""
    candidates = [Path(preferred)] if preferred else []
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    raise ClusterError(
        "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; install them with "
        "`apt-get install postgresql-15-postgis-3` (./run.sh does this) or set DATABASE_URL"
    )


def _enterable_by_others(path: Path) -> bool:
    """True if every existing ancestor of ``path`` can be entered by an unrelated user."""
    for folder in [path, *path.parents]:
        if folder.exists():
            mode = folder.stat()
            try:
                owner = pwd.getpwuid(mode.st_uid).pw_name
            except KeyError:
                owner = ""
            if owner != SERVER_USER and not mode.st_mode & stat.S_IXOTH:
                return False
    return True


def _ensure_server_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        pass
    subprocess.run(
        [
            "useradd", "--system", "--user-group", "--no-create-home",
            "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", SERVER_USER,
        ],
        check=True,
    )  # fmt: skip
    return pwd.getpwnam(SERVER_USER)


@dataclass
class LocalCluster:
    """A PostgreSQL cluster living in ``data_dir`` (``pg/`` data, ``run/`` socket, ``pg.log``)."""

    data_dir: Path
    bindir: Path | None = None
    relocate: bool = True
    """When root and ``data_dir`` lies under a folder the server user cannot enter (a checkout
    in /root, say), keep the cluster in /var/lib/gridgis/clusters/<hash> instead."""

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        if self.relocate and os.geteuid() == 0:
            too_long = len(str(self.data_dir / "run")) > _SOCKET_PATH_MAX
            if too_long or not _enterable_by_others(self.data_dir):
                digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
                self.data_dir = RELOCATED_ROOT / digest

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pg"

    @property
    def socket_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def logfile(self) -> Path:
        return self.data_dir / "pg.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the cluster's database (psycopg 3, Unix socket)."""
        return f"postgresql+psycopg://{SERVER_USER}@/{DATABASE_NAME}?host={self.socket_dir}"

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://{SERVER_USER}@/{database}?host={self.socket_dir}"

    # -- running commands as the server's user ------------------------------------------------
    def _run_as(self) -> tuple[int | None, int | None, list[int] | None]:
        """(uid, gid, extra groups) to drop to when root; PostgreSQL refuses to run as root."""
        if os.geteuid() != 0:
            return None, None, None
        user = _ensure_server_user()
        return user.pw_uid, user.pw_gid, []

    def _pg(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        bindir = self.bindir or find_bindir()
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "TZ": "UTC"}
        uid, gid, groups = self._run_as()
        return subprocess.run(
            [str(bindir / tool), *args],
            cwd=self.data_dir,
            env=env,
            capture_output=True,
            text=True,
            check=check,
            user=uid,
            group=gid,
            extra_groups=groups,
        )

    def _prepare_dirs(self) -> None:
        if len(str(self.socket_dir)) > _SOCKET_PATH_MAX:
            raise ClusterError(
                f"the socket folder {self.socket_dir} is too long for a Unix socket; "
                "set GRIDGIS_DATA_DIR to a shorter path, e.g. /var/lib/gridgis"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.data_dir.is_relative_to(RELOCATED_ROOT):
            for folder in (RELOCATED_ROOT.parent, RELOCATED_ROOT):
                folder.chmod(0o755)
        self.socket_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            user = _ensure_server_user()
            for path in (self.data_dir, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
            if self.pgdata.exists() and self.pgdata.stat().st_uid != user.pw_uid:
                # a cluster made by another user (e.g. copied in): hand it over once
                for root, dirs, files in os.walk(self.pgdata):
                    for name in dirs + files:
                        with contextlib.suppress(FileNotFoundError):
                            os.lchown(os.path.join(root, name), user.pw_uid, user.pw_gid)
                os.chown(self.pgdata, user.pw_uid, user.pw_gid)
            probe = subprocess.run(
                ["test", "-w", str(self.data_dir)],
                check=False,
                user=user.pw_uid,
                group=user.pw_gid,
                extra_groups=[],
            )
            if probe.returncode != 0:
                raise ClusterError(
                    f"user {SERVER_USER} cannot reach {self.data_dir} (a parent folder is "
                    "private); set GRIDGIS_DATA_DIR to a folder it can reach, e.g. "
                    "/var/lib/gridgis"
                )
        os.chmod(self.socket_dir, 0o700)

    # -- lifecycle ----------------------------------------------------------------------------
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def init(self) -> bool:
        """Create the cluster if absent; True if it was created now."""
        self._prepare_dirs()
        if self.initialised():
            return False
        self._pg(
            "initdb", "-D", str(self.pgdata), "-U", SERVER_USER, "--auth=trust",
            "--encoding=UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        settings = {
            "listen_addresses": "''",  # Unix socket only: no port to clash with
            "unix_socket_directories": f"'{self.socket_dir}'",
            "timezone": "'UTC'",
            "log_timezone": "'UTC'",
            "max_connections": "200",
            "shared_buffers": "'256MB'",
            "work_mem": "'32MB'",
            "maintenance_work_mem": "'256MB'",
            "max_wal_size": "'2GB'",
        }
        with (self.pgdata / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# GridGIS embedded cluster\n")
            for key, value in settings.items():
                conf.write(f"{key} = {value}\n")
        return True

    def running(self) -> bool:
        if not self.initialised():
            return False
        return self._pg("pg_ctl", "status", "-D", str(self.pgdata), check=False).returncode == 0

    def start(self) -> bool:
        """Initialise if needed and start; True if this call started the server."""
        self.init()
        if self.running():
            return False
        self._prepare_dirs()
        result = self._pg(
            "pg_ctl", "start", "-D", str(self.pgdata), "-l", str(self.logfile), "-w", "-t", "60",
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            tail = self.logfile.read_text(errors="replace")[-2000:] if self.logfile.exists() else ""
            raise ClusterError(f"PostgreSQL did not start: {result.stderr.strip()}\n{tail}")
        self.ensure_database(DATABASE_NAME)
        return True

    def stop(self) -> bool:
        """Stop the server (fast shutdown: clients disconnected, data flushed)."""
        if not self.running():
            return False
        self._pg("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60")
        return True

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL through psql on the socket (for set-up statements only)."""
        psql = shutil.which("psql") or str((self.bindir or find_bindir()) / "psql")
        result = subprocess.run(
            [psql, "-h", str(self.socket_dir), "-U", SERVER_USER, "-d", database,
             "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise ClusterError(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def ensure_database(self, name: str) -> None:
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if not exists:
            self.psql(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def status(self) -> dict[str, object]:
        return {
            "data_dir": str(self.data_dir),
            "initialised": self.initialised(),
            "running": self.running(),
            "socket_dir": str(self.socket_dir),
            "url": self.url,
        }
