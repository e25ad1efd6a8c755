"""The province path: a local Citus cluster and the distribution step of the schema.

:class:`CitusCluster` runs a coordinator and N workers on this machine, each a private
PostgreSQL + PostGIS cluster like the embedded default (:class:`layers.cluster.LocalCluster`) in
its own folder under the data dir (``citus/coordinator``, ``citus/worker-1``…), listening on a
Unix socket only, with ``shared_preload_libraries = 'citus'``. Citus passes a node's name to
libpq as its host, so a socket folder (an absolute path) works as a node name: the nodes reach
each other through their sockets, with no TCP port to choose or clash. For development and
tests; real servers install Citus from Citus's packages and set ``DATABASE_URL`` to the
coordinator, which the app uses as is.

:func:`distribute_schema` is the step :func:`layers.migrate.upgrade` runs after the alembic
migrations when the database has the ``citus`` extension (idempotent: tables already done are
left alone). The choices, and why (Citus 13 rules met on the way), are in docs/scale-out.md:

- ``position`` (partitioned by month) is distributed by ``device_id``: its primary key
  (device_id, fix_time) holds the distribution column, one device's fixes live on one shard,
  a device's track and a coverage chunk (``device_id = ANY(…)``) are pushed down to the
  workers; ``coverage_stale`` (day, device_id), ``device_day_change``, ``device_daily`` and
  ``device_latest`` are co-located with it, so the triggers on a position shard write to the
  co-located shards on the same worker.
- ``event`` (the cases) is distributed by ``filed_town_code`` (migration 0026: the town the
  case was filed in, never changed; Citus refuses to change a distribution column, and a
  dispatcher's reroute may change ``town_code``); ``event_log``, ``event_photo`` and
  ``open311_request`` carry the same value and are co-located with it: a case and all its
  rows live on one shard. :func:`_prepare_event_tables` first puts the distribution column in
  their unique keys (Citus enforces no other), drops the key ``event.generation_id →
  generation`` (a distributed table may not reference a coordinator table) and the cases'
  rows' keys to ``event (id)``, which :func:`_event_foreign_keys` puts back as
  ``(event_id, filed_town_code) → event (id, filed_town_code)`` (checked on each worker).
  The KPIs per town, village, grid, person and reporter group by the filed town first
  (``layers.events.kpis``): the whole aggregation, percentiles included, runs on the
  workers, a task per shard (a router/pushdown plan; EXPLAIN in tests/layers/test_citus.py).
  The log's append-only row triggers fire on the shards, where they only raise. Nothing on
  the cases needs NOTIFY: the live pages poll, and the calendar's NOTIFY (coordinator tables)
  recomputes deadlines through the app. A row lock (``FOR UPDATE``) must name the shard:
  ``layers.events.models.locked_event`` locks by id and filed town.
- tables with triggers of their own (grid content versions, NOTIFY), and every table
  referencing one of them, stay on the coordinator as Citus local tables
  (:func:`coordinator_tables`): generations, grids, coverage results, accounts, tokens and
  sessions. Citus runs triggers that touch other tables or send NOTIFY reliably only there
  (on reference tables they run once per node, and may not touch other tables; a NOTIFY sent
  in a worker's shard never reaches the coordinator's listeners), and a reference table may
  not reference a local table. Positions are never joined with grids in SQL (fixes carry
  their grid code from ingest), so the workers need no grid.
- every other table is a **reference table** (a copy on every node): ``device`` (its
  ``external_id`` is unique, which a table distributed by ``id`` could not enforce; the
  position → device foreign key needs it on every worker), people, teams, zones, the event
  dictionary, households (the calendar has NOTIFY triggers: local).
- Citus cannot plan a statement on a Citus table that reads a trigger's transition table: the
  two such trigger functions get equivalent bodies (:data:`CITUS_TRIGGER_FUNCTIONS`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from layers.cluster import DATABASE_NAME, ClusterError, LocalCluster

CITUS_LIBRARY = Path("/usr/lib/postgresql/15/lib/citus.so")
DISTRIBUTED = {"position": "device_id", "event": "filed_town_code", "event_town": "event_id"}
"""Tables distributed by a column (hash), each the co-location anchor of a group of its own
(``event_town``, case id → filed town, migration 0027: the lookup that routes a read of one
case by id to one shard, layers/events/event_town.py)."""
COLOCATED = {
    "coverage_stale": ("device_id", "position"),
    "device_day_change": ("device_id", "position"),
    "device_daily": ("device_id", "position"),
    "device_latest": ("device_id", "position"),
    "event_log": ("filed_town_code", "event"),
    "event_photo": ("filed_town_code", "event"),
    "open311_request": ("filed_town_code", "event"),
}
"""Tables distributed by a column, co-located with another distributed table."""
EVENT_UNIQUE_KEYS = {
    "event": {
        "event_pkey": "PRIMARY KEY (id, filed_town_code)",
        "event_external_ref_key": "UNIQUE (external_ref, filed_town_code)",
    },
    "event_log": {"event_log_pkey": "PRIMARY KEY (id, filed_town_code)"},
    "event_photo": {"event_photo_pkey": "PRIMARY KEY (id, filed_town_code)"},
    "open311_request": {"open311_request_pkey": "PRIMARY KEY (event_id, filed_town_code)"},
}
"""On Citus, the unique keys of the event tables with the distribution column added (Citus
enforces a unique key only when it holds the distribution column). ``id`` stays unique by its
sequence; ``external_ref`` (a 12345 ticket number) is unique per town on Citus, and the
hotline intake still looks it up before filing (layers/events/hotline.py)."""
EVENT_CHILDREN = {"event_log": "RESTRICT", "event_photo": "RESTRICT", "open311_request": "CASCADE"}
"""The tables of a case's rows, with the ON DELETE of their foreign key to ``event``; on Citus
the key is ``(event_id, filed_town_code) → event (id, filed_town_code)`` (co-located)."""
PLAIN_TABLES = {"household", "household_access", "market_entity"}
"""Left as plain PostgreSQL tables on the coordinator (no foreign keys to or from Citus
tables): geodata joined with grids by location (grids live on the coordinator), bulk-loaded
then ``ANALYZE``d in one transaction, which Citus refuses on any of its tables once the
transaction has used local execution (layers/people_demo.py)."""
NOT_CITUS = {"alembic_version", "spatial_ref_sys"}
"""Tables left as plain coordinator tables (bookkeeping, PostGIS's own, :data:`PLAIN_TABLES`)."""
NOT_CITUS |= PLAIN_TABLES
DATABASE_SETTINGS = {
    "citus.multi_shard_modify_mode": "sequential",
    "citus.enable_unsafe_triggers": "on",
}
"""Set for the database by :func:`distribute_schema` (why: there)."""
NODE_PORT = 5432  # every node listens on its own socket folder: the same port never clashes


def citus_available() -> bool:
    """True if the Citus extension is installed in this machine's PostgreSQL 15."""
    return CITUS_LIBRARY.exists()


@dataclass
class CitusNode(LocalCluster):
    """A private cluster that preloads Citus (settings appended once, when created)."""

    def init(self) -> bool:
        created = super().init()
        if created:
            settings = {
                "shared_preload_libraries": "'citus'",
                "shared_buffers": "'128MB'",  # three or more nodes share one machine
                "max_prepared_transactions": "100",  # 2PC for reference-table writes
            }
            with (self.pgdata / "postgresql.conf").open("a", encoding="utf-8") as conf:
                conf.write("\n# GridGIS Citus node\n")
                for key, value in settings.items():
                    conf.write(f"{key} = {value}\n")
        return created


@dataclass
class CitusCluster:
    """A coordinator and ``workers`` workers under ``data_dir`` (one folder each)."""

    data_dir: Path
    workers: int = 2
    nodes: list[CitusNode] = field(init=False)

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise ClusterError("--workers must be 0 or more")
        self.data_dir = Path(self.data_dir).resolve()
        names = ["coordinator"] + [f"worker-{i}" for i in range(1, self.workers + 1)]
        self.nodes = [CitusNode(self.data_dir / name) for name in names]

    @classmethod
    def found(cls, data_dir: Path) -> CitusCluster:
        """The cluster made earlier under ``data_dir``, with as many workers as were created."""
        count = 0
        while CitusNode(Path(data_dir).resolve() / f"worker-{count + 1}").initialised():
            count += 1
        return cls(data_dir, workers=count)

    @property
    def coordinator(self) -> CitusNode:
        return self.nodes[0]

    @property
    def worker_nodes(self) -> list[CitusNode]:
        return self.nodes[1:]

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the coordinator's database (what DATABASE_URL should be)."""
        return self.coordinator.url

    def url_for(self, database: str) -> str:
        return self.coordinator.url_for(database)

    def start(self) -> bool:
        """Start every node (creating them on first use) and register the workers.

        Returns True if any node was started now. Raises :class:`ClusterError` when Citus is not
        installed (the message says how to install it).
        """
        if not citus_available():
            raise ClusterError(
                f"Citus is not installed ({CITUS_LIBRARY} missing): install "
                "postgresql-15-citus-13.2 from Citus's repository, or build it from "
                "../shared/vendor/citus as its README says (./run.sh test does)"
            )
        started = [node.start() for node in self.nodes]
        self.prepare_database(DATABASE_NAME)
        return any(started)

    def prepare_database(self, database: str) -> None:
        """Create ``database`` on every node with Citus and PostGIS; register the workers."""
        for node in self.nodes:
            node.ensure_database(database)
            node.psql(
                "CREATE EXTENSION IF NOT EXISTS citus; CREATE EXTENSION IF NOT EXISTS postgis",
                database=database,
            )
        coordinator = self.coordinator
        coordinator.psql(
            f"SELECT citus_set_coordinator_host('{coordinator.socket_dir}', {NODE_PORT})",
            database=database,
        )
        known = set(
            coordinator.psql(
                "SELECT nodename FROM pg_dist_node WHERE noderole = 'primary'", database=database
            ).splitlines()
        )
        for worker in self.worker_nodes:
            if str(worker.socket_dir) not in known:
                coordinator.psql(
                    f"SELECT citus_add_node('{worker.socket_dir}', {NODE_PORT})",
                    database=database,
                )

    def drop_database(self, database: str) -> None:
        for node in reversed(self.nodes):
            if node.running():
                node.drop_database(database)

    def stop(self) -> bool:
        """Stop every node (workers first); True if any was running."""
        return any([node.stop() for node in reversed(self.nodes)])

    def running(self) -> bool:
        return all(node.running() for node in self.nodes)

    def status(self) -> dict[str, object]:
        return {
            "data_dir": str(self.data_dir),
            "url": self.url,
            "nodes": [node.status() for node in self.nodes],
        }


# -- the distribution step --------------------------------------------------------------------
def has_citus(conn: Connection) -> bool:
    """True if the database behind ``conn`` has the citus extension (a Citus coordinator)."""
    return bool(conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'")).scalar())


def citus_tables(conn: Connection) -> dict[str, str]:
    """Tables already known to Citus: name → kind ('distributed', 'reference', 'local')."""
    rows = conn.execute(
        text("SELECT logicalrelid::regclass::text, partmethod, repmodel FROM pg_dist_partition")
    ).all()

    def kind(method: str, model: str) -> str:
        if method == "h":
            return "distributed"
        return "reference" if model == "t" else "local"

    return {name.strip('"'): kind(method, model) for name, method, model in rows}


def _foreign_keys(conn: Connection) -> list[tuple[str, str]]:
    """(referencing table, referenced table) of every foreign key in the public schema."""
    return [
        (child.strip('"'), parent.strip('"'))
        for child, parent in conn.execute(
            text(
                "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
                "WHERE contype = 'f' AND connamespace = 'public'::regnamespace "
                "AND conparentid = 0"
            )
        )
    ]


def coordinator_tables(conn: Connection) -> set[str]:
    """The tables kept on the coordinator (Citus local tables): see the module docstring.

    Every table with a trigger of its own (cross-table updates, NOTIFY, append-only logs: Citus
    runs such triggers reliably only on Citus local tables), and every table that references
    one of them by a foreign key (a reference table may not reference a local table).
    """
    keep = (
        {
            row[0].strip('"')
            for row in conn.execute(
                text(
                    "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger t "
                    "JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace "
                    "AND NOT c.relispartition"
                )
            )
        }
        - set(DISTRIBUTED)
        - set(COLOCATED)
    )
    fks = _foreign_keys(conn)
    grown = True
    while grown:
        grown = False
        for child, parent in fks:
            if parent in keep and child not in keep:
                if child in DISTRIBUTED or child in COLOCATED:
                    raise ValueError(f"{child} is distributed but references {parent}")
                keep.add(child)
                grown = True
    return keep


def _tables_in_fk_order(conn: Connection) -> list[str]:
    """Public tables (not partitions) with every table after the tables it references."""
    tables = [
        row[0]
        for row in conn.execute(
            text(
                "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
                "AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname"
            )
        )
    ]
    edges: dict[str, set[str]] = {name: set() for name in tables}
    for child, parent in _foreign_keys(conn):
        if child in edges and parent != child:
            edges[child].add(parent)
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> Iterator[str]:
        if name in seen:
            return
        seen.add(name)
        for parent in sorted(edges.get(name, ())):
            yield from visit(parent)
        yield name

    for name in tables:
        ordered.extend(visit(name))
    return ordered


# Citus cannot plan a statement on a Citus table that reads a trigger's transition table
# ("unrecognized RTE kind: 7"). The two triggers that do (migrations 0012 and 0017) get, on
# Citus only, bodies that first copy the transition rows into arrays (a query on the transition
# table alone, which Citus leaves to PostgreSQL) and then touch the Citus table with the arrays
# as parameters. Same effect, same trigger definitions; re-applied by every upgrade (a later
# migration that redefines these functions must keep this form on Citus).
CITUS_TRIGGER_FUNCTIONS = (
    """
CREATE OR REPLACE FUNCTION grid_bump_content_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT generation_id) INTO ids FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT generation_id) INTO ids FROM old_rows;
    ELSE
        SELECT array_agg(g) INTO ids FROM (
            SELECT generation_id FROM new_rows UNION SELECT generation_id FROM old_rows) AS u(g);
    END IF;
    UPDATE generation SET content_version = content_version + 1 WHERE id = ANY(ids);
    RETURN NULL;
END
$$
""",
    """
CREATE OR REPLACE FUNCTION position_note_late() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE days date[]; devices integer[];
BEGIN
  SELECT array_agg(d), array_agg(v) INTO days, devices FROM (
    SELECT DISTINCT (fix_time AT TIME ZONE 'Asia/Shanghai')::date, device_id FROM new_rows
    WHERE fix_time < (date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai')
                      AT TIME ZONE 'Asia/Shanghai')) AS late(d, v);
  IF days IS NOT NULL THEN
    INSERT INTO coverage_stale (day, device_id)
    SELECT * FROM unnest(days, devices) ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$
""",
)


def distribute_schema(conn: Connection) -> dict[str, str]:
    """Turn the migrated schema into Citus tables (see the module docstring); idempotent.

    ``conn`` is a connection to the coordinator inside a transaction. Returns what each table
    became (name → 'distributed' | 'reference' | 'local'), including tables done earlier.
    """
    for function in CITUS_TRIGGER_FUNCTIONS:
        conn.execute(text(function))
    # Settings of the database (every later session) and of this session:
    # - multi_shard_modify_mode: creating a month's partition of ``position``
    #   (layers.positions.PARTITIONS, two months in one transaction at a month's turn) is DDL on
    #   a table that references the reference table ``device``; Citus then requires one
    #   connection per node for the whole transaction;
    # - enable_unsafe_triggers: the position trigger is copied to every new partition's shards.
    # A user who neither owns the database nor is superuser cannot; its DBA must (scale-out.md).
    database, may_alter = conn.execute(
        text(
            "SELECT datname, pg_has_role(datdba, 'USAGE') OR "
            "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) "
            "FROM pg_database WHERE datname = current_database()"
        )
    ).one()
    for name, value in DATABASE_SETTINGS.items():
        conn.execute(text(f"SET {name} = {value!r}"))
        if may_alter:
            conn.execute(text(f'ALTER DATABASE "{database}" SET {name} = {value!r}'))
    _prepare_event_tables(conn)
    local = coordinator_tables(conn)
    params: dict[str, Any]
    order = _tables_in_fk_order(conn)
    # reference tables first (a distributed or local table may reference them), then the
    # distributed ones (co-located after their anchor), then the coordinator's tables
    order = (
        [n for n in order if n not in COLOCATED and n not in local]
        + [n for n in order if n in COLOCATED]
        + [n for n in order if n in local]
    )
    fks = _foreign_keys(conn)
    for name in order:
        want = "local" if name in local else "reference"
        if name in DISTRIBUTED or name in COLOCATED:
            want = "distributed"
        # Citus turns a plain table that references a new reference table into a local table
        # of its metadata; such a table is then made distributed or reference like any other
        if name in NOT_CITUS or citus_tables(conn).get(name) in (want, "reference"):
            continue
        if name in local:
            sql = "SELECT citus_add_local_table_to_metadata(:t, cascade_via_foreign_keys => true)"
            params = {"t": name}
        elif name in DISTRIBUTED:
            sql = "SELECT create_distributed_table(:t, :c, colocate_with => 'none')"
            params = {"t": name, "c": DISTRIBUTED[name]}
        elif name in COLOCATED:
            column, anchor = COLOCATED[name]
            sql = "SELECT create_distributed_table(:t, :c, colocate_with => :a)"
            params = {"t": name, "c": column, "a": anchor}
        else:
            sql = "SELECT create_reference_table(:t)"
            params = {"t": name}
        before = citus_tables(conn).get(name)  # None: a plain table
        conn.execute(text(sql), params)
        if name not in local and not any(parent == name for _, parent in fks):
            _free_shell(conn, name, plain=before is None)
    _event_foreign_keys(conn)
    return citus_tables(conn)


def _free_shell(conn: Connection, table: str, *, plain: bool) -> None:
    """Empty the coordinator's copy of ``table``'s rows once Citus has put them in the shards.

    Distributing a table that holds rows (a plain table, e.g. the ``event_town`` lookup filled
    by migration 0027, or a Citus local table of a database made before 0026, e.g. the cases)
    copies them into the shards and leaves them in the coordinator's shell table, where nothing
    reads them. A table's own TRUNCATE trigger (the case log is append-only) is skipped for
    this by ``session_replication_role`` (a superuser only; otherwise the copy stays, unused).
    """
    if plain and not conn.execute(text(f'SELECT EXISTS (SELECT 1 FROM "{table}")')).scalar():
        return
    guarded = _has_own_triggers(conn, table)
    if guarded:
        if not conn.execute(
            text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        ).scalar():
            return
        conn.execute(text("SET LOCAL session_replication_role = replica"))
    conn.execute(text("SELECT truncate_local_data_after_distributing_table(:t)"), {"t": table})
    if guarded:
        conn.execute(text("SET LOCAL session_replication_role = origin"))


def _has_own_triggers(conn: Connection, table: str) -> bool:
    """True if ``table`` has a trigger of its own (not a foreign key's)."""
    return bool(
        conn.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass) "
                "AND NOT tgisinternal)"
            ),
            {"t": table},
        ).scalar()
    )


def _constraints(conn: Connection, table: str) -> dict[str, tuple[str, str]]:
    """Constraints of ``table`` (name → (kind p/u/f, referenced table or ''))."""
    rows = conn.execute(
        text(
            "SELECT conname, contype, coalesce(confrelid::regclass::text, '') "
            "FROM pg_constraint WHERE conrelid = CAST(:t AS regclass) AND conparentid = 0"
        ),
        {"t": table},
    ).all()
    return {name: (kind, ref.strip('"') if ref != "-" else "") for name, kind, ref in rows}


def _prepare_event_tables(conn: Connection) -> None:
    """Before the event tables are distributed by ``filed_town_code`` (migration 0026):

    - the foreign key ``event.generation_id → generation`` is dropped: a distributed table may
      not reference a coordinator table (``generation`` has a NOTIFY trigger and stays there);
      the app takes the generation from the grid lookup, generations are never deleted;
    - the cases' rows lose their foreign keys to ``event (id)`` (put back as composite keys
      with the distribution column by :func:`_event_foreign_keys` once all four are
      distributed);
    - every unique key gets the distribution column (:data:`EVENT_UNIQUE_KEYS`).

    Done once: nothing happens when ``event`` is already distributed.
    """
    if citus_tables(conn).get("event") == "distributed":
        return
    for table in ("event", *EVENT_CHILDREN):
        for name, (kind, ref) in _constraints(conn, table).items():
            if kind == "f" and ref in ("generation", "event"):
                conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for table, keys in EVENT_UNIQUE_KEYS.items():
        present = _constraints(conn, table)
        for name, definition in keys.items():
            if name in present:
                conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
            conn.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))


def _event_foreign_keys(conn: Connection) -> None:
    """A case's rows reference their case by ``(event_id, filed_town_code)`` (co-located
    shards: Citus checks the key on each worker); added when missing."""
    for table, on_delete in EVENT_CHILDREN.items():
        name = f"{table}_event_fkey"
        if name not in _constraints(conn, table):
            conn.execute(
                text(
                    f'ALTER TABLE {table} ADD CONSTRAINT "{name}" FOREIGN KEY '
                    "(event_id, filed_town_code) REFERENCES event (id, filed_town_code) "
                    f"ON DELETE {on_delete}"
                )
            )
